#!/usr/bin/env bash
# Import benchmark: Quartier against the peer loaders (geopandas, pandas) in the same run.
#   bash bench/run.sh [--runs N] [--only import|indicators|index]
# Needs python3 with venv and network access to PyPI the first time (peer packages, pinned as
# in ../shared/peers/requirements.txt). Data comes from ../shared/peers/gen_city.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${QUARTIER_PEERS:-../shared/peers}"
WORK=bench/work
mkdir -p "$WORK"
[ -x "$WORK/venv/bin/python" ] || python3 -m venv "$WORK/venv"
pins=$(grep -E '^(numpy|pandas|scipy|shapely|pyproj|pyogrio|geopandas|mapclassify|scikit-learn|numba)==' "$PEERS/requirements.txt")
"$WORK/venv/bin/pip" install -q $pins
cargo build --release -q -p quartier -p quartier-bench
exec "$WORK/venv/bin/python" bench/bench.py --peers "$PEERS" --work "$WORK" --quartier target/release/quartier --bench target/release/quartier-bench "$@"
