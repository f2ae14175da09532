#!/usr/bin/env python3
"""Peer loaders for bench/bench.py: what a planner would do in Python with the same files.

  peer_load.py areas FILE.geojson           geopandas: read, reproject to WGS84, area in m²
  peer_load.py csv FILE.csv                 pandas: read long CSV (keys as text)
  peer_load.py csv-sqlite FILE.csv DB       pandas: read, write to SQLite with a primary key
  peer_load.py genesis FILE.csv             pandas: a GENESIS table export (title block, three
                                            header rows, footer, symbols) to long rows
  peer_load.py ffcsv FILE.csv               pandas: a GENESIS flat file (ffcsv, decimal comma)
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
    elif kind == "genesis":
        # What a pandas user writes for a GENESIS export: find the footer line, skip the
        # title block, read the three header rows as a MultiIndex, official symbols as
        # missing, keys as text, then long rows.
        import pandas as pd
        path = sys.argv[2]
        with open(path, encoding="latin-1") as f:
            lines = f.read().split("\n")
        footer = next(i for i, l in enumerate(lines) if l.startswith("___"))
        title = next(i for i, l in enumerate(lines) if l.startswith(";;"))
        df = pd.read_csv(path, sep=";", encoding="latin-1", skiprows=title, header=[0, 1, 2], nrows=footer - title - 3,
                         index_col=[0, 1], dtype=str, na_values=[".", "-", "x", "...", "/", "…"], keep_default_na=False)
        df.index.names = ["key", "name"]
        long = df.stack(level=[0, 1, 2], future_stack=True).rename("value").reset_index()
        long["value"] = pd.to_numeric(long["value"].str.replace(",", ".", regex=False))
        print(len(long))
    elif kind == "ffcsv":
        import pandas as pd
        df = pd.read_csv(sys.argv[2], sep=";", decimal=",", dtype={"1_variable_attribute_code": str, "2_variable_attribute_code": str},
                         na_values=["-", "x", ".", "/"], parse_dates=["time"])
        print(len(df))
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
