"""The peer of `quartier-bench crosswalk`: geopandas building the same crosswalks between two
tilings — `overlay(how="intersection")` with areas for the area shares, two `sjoin`s
(points in old areas, points in new areas) and a groupby for the population shares.

    python peer_crosswalk.py OLD.geojson NEW.geojson POINTS.csv

Prints one JSON line with timings (reading excluded), as the Quartier side does."""
import json
import sys
import time

import geopandas as gpd
import pandas as pd


def main():
    old = gpd.read_file(sys.argv[1])[["area_id", "geometry"]].rename(columns={"area_id": "old"})
    new = gpd.read_file(sys.argv[2])[["area_id", "geometry"]].rename(columns={"area_id": "new"})
    t = time.perf_counter()
    pieces = gpd.overlay(old, new, how="intersection", keep_geom_type=True)
    pieces["a"] = pieces.geometry.area
    pieces = pieces[pieces["a"] > 0]
    pieces["w"] = pieces["a"] / pieces.groupby("old")["a"].transform("sum")
    overlay_s = time.perf_counter() - t
    t = time.perf_counter()
    pts = pd.read_csv(sys.argv[3], usecols=["x", "y"])
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts.x, pts.y), crs=old.crs)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    a = gpd.sjoin(points, old, how="inner", predicate="within").drop(columns="index_right")
    b = gpd.sjoin(a, new, how="inner", predicate="within")
    pairs = b.groupby(["old", "new"]).size().rename("n").reset_index()
    pairs["w"] = pairs["n"] / pairs.groupby("old")["n"].transform("sum")
    points_s = time.perf_counter() - t
    print(json.dumps({"overlay_s": overlay_s, "overlay_pairs": int(len(pieces)), "points_read_s": read_s, "points_s": points_s,
                      "point_pairs": int(len(pairs)), "points": int(len(points))}))


main()
