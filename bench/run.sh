#!/usr/bin/env bash
# Benchmarks: Quartier against the peer tools (pandas, geopandas, esda, DuckDB, PostGIS, …) in the same run.
#   bash bench/run.sh [--runs N] [--only import|indicators|index|spatial|web|map|api|crosswalk|report|action]
# Needs python3 with venv and network access to PyPI the first time (peer packages, pinned as
# in ../shared/peers/requirements.txt). Data comes from ../shared/peers/gen_city.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${QUARTIER_PEERS:-../shared/peers}"
WORK=bench/work
mkdir -p "$WORK"
[ -x "$WORK/venv/bin/python" ] || python3 -m venv "$WORK/venv"
pins=$(grep -E '^(numpy|pandas|scipy|shapely|pyproj|pyogrio|geopandas|mapclassify|scikit-learn|numba|libpysal|esda|pyarrow|duckdb|duckdb-extension-spatial|psycopg\[binary\])==' "$PEERS/requirements.txt")
"$WORK/venv/bin/pip" install -q $pins
# PostGIS for the aggregation peer (as ../shared/peers/run_all.sh does) and PostgreSQL for the
# load scenario, unless present.
if [[ " $* " != *" --only "* || " $* " == *" spatial"* || " $* " == *" web"* || " $* " == *" map"* || " $* " == *" api"* ]]; then
  if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis >/dev/null || echo "PostGIS not installable: skipped"
  fi
fi
cargo build --release -q -p quartier -p quartier-bench
exec "$WORK/venv/bin/python" bench/bench.py --peers "$PEERS" --work "$WORK" --quartier target/release/quartier --bench target/release/quartier-bench "$@"
