#!/usr/bin/env python3
"""Peer loaders for bench/bench.py: what a planner would do in Python with the same files.

  peer_load.py areas FILE.geojson           geopandas: read, reproject to WGS84, area in m²
  peer_load.py csv FILE.csv                 pandas: read long CSV (keys as text)
  peer_load.py csv-sqlite FILE.csv DB       pandas: read, write to SQLite with a primary key
"""
import os
import sqlite3
import sys


def main():
    kind = sys.argv[1]
    if kind == "areas":
        import geopandas as gpd
        g = gpd.read_file(sys.argv[2])
        area = g.geometry.area  # metric source CRS (EPSG:25832)
        w = g.to_crs(4326)
        assert len(w) == len(area)
        print(len(w), float(area.sum()))
    elif kind in ("csv", "csv-sqlite"):
        import pandas as pd
        df = pd.read_csv(sys.argv[2], dtype={"area_id": str, "indicator": str})
        if kind == "csv-sqlite":
            db = sys.argv[3]
            if os.path.exists(db):
                os.remove(db)
            con = sqlite3.connect(db)
            con.execute("CREATE TABLE value (area_id TEXT, year INTEGER, indicator TEXT, value REAL, PRIMARY KEY (indicator, year, area_id)) WITHOUT ROWID")
            df.to_sql("value", con, if_exists="append", index=False, chunksize=100_000)
            con.commit()
            con.close()
        print(len(df))
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
