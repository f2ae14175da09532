#!/usr/bin/env bash
# Import benchmark: Quartier against the peer loaders (geopandas, pandas) in the same run.
#   bash bench/run.sh [--runs N]
# Needs python3 with venv and network access to PyPI the first time (peer packages, pinned as
# in ../shared/peers/requirements.txt). Data comes from ../shared/peers/gen_city.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${QUARTIER_PEERS:-../shared/peers}"
WORK=bench/work
mkdir -p "$WORK"
if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  pins=$(grep -E '^(numpy|pandas|shapely|pyproj|pyogrio|geopandas)==' "$PEERS/requirements.txt")
  "$WORK/venv/bin/pip" install -q $pins
fi
cargo build --release -q
exec "$WORK/venv/bin/python" bench/bench.py --peers "$PEERS" --work "$WORK" --quartier target/release/quartier "$@"
