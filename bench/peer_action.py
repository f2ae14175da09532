#!/usr/bin/env python3
"""Peer for the from-data-to-action benchmark (bench.py --only action): the same supply and
allocation figures with geopandas/shapely and numpy, timed in process.

  peer_action.py reach AREAS.geojson OFFERS.csv POINTS.csv OUT.csv 500,1000
  peer_action.py allocate DATA.csv YEAR BUDGET MIN MAX THRESHOLD OUT.csv

reach: each point (x, y, weight in EPSG:25832) joined to the area it lies in (sjoin, within),
then per radius the points with an offer within that straight-line distance in EPSG:3035
(STRtree dwithin query); per area the reached share of the weight in %.
allocate: child poverty = children_u15_sgb2 / children_u15 (0 where no children), weight =
need x children_u15 for areas at or above THRESHOLD, shares clamp(lambda*w, MIN, MAX) with
lambda by bisection, whole euros by largest remainder (ties: larger weight, then order)."""
import json
import sys
import time

import numpy as np
import pandas as pd


def reach(areas_path, offers_path, points_path, out, distances):
    import geopandas as gpd
    import shapely
    t0 = time.perf_counter()
    areas = gpd.read_file(areas_path)
    if areas.crs is None or areas.crs.to_epsg() != 25832:
        areas = areas.to_crs(25832)
    offers = pd.read_csv(offers_path)
    points = pd.read_csv(points_path)
    t_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    pts = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(points.x, points.y), crs=25832)
    joined = gpd.sjoin(pts, areas[["area_id", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated(keep="first")]
    # Distances in EPSG:3035 (ETRS89-LAEA), as Quartier measures them.
    joined = joined.to_crs(3035)
    offer_pts = gpd.GeoSeries(gpd.points_from_xy(offers.x, offers.y), crs=25832).to_crs(3035)
    tree = shapely.STRtree(offer_pts.values)
    result = pd.DataFrame({"total": joined.groupby("area_id")["weight"].sum()})
    for d in distances:
        idx = tree.query(joined.geometry.values, predicate="dwithin", distance=d)
        hit = np.zeros(len(joined), dtype=bool)
        hit[np.unique(idx[0])] = True
        reached = joined.weight.where(hit, 0.0)
        result[f"reach_{d:g}m_pct"] = 100.0 * reached.groupby(joined.area_id).sum() / result.total
    t_compute = time.perf_counter() - t1
    result.drop(columns="total").to_csv(out)
    print(json.dumps({"read_s": t_read, "compute_s": t_compute, "points": int(len(joined))}))


def allocate(data_path, year, budget, lo_bound, hi_bound, threshold, out):
    t0 = time.perf_counter()
    df = pd.read_csv(data_path)
    t_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    df = df[(df.year == year) & df.indicator.isin(["children_u15", "children_u15_sgb2"])]
    wide = df.pivot(index="area_id", columns="indicator", values="value").sort_index()
    kids, poor = wide.children_u15.values.astype(float), wide.children_u15_sgb2.values.astype(float)
    need = np.where(kids > 0, poor / np.where(kids > 0, kids, 1), 0.0)
    w = np.where(need >= threshold, need * kids, 0.0)
    elig = w > 0
    def total(lam):
        return np.clip(lam * w[elig], lo_bound, hi_bound).sum()
    lo, hi = 0.0, 1.0
    while total(hi) < budget:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if total(mid) < budget:
            lo = mid
        else:
            hi = mid
    exact = np.zeros(len(w))
    exact[elig] = np.clip(hi * w[elig], lo_bound, hi_bound)
    free = elig & (exact > lo_bound) & (exact < hi_bound)
    gap = budget - exact.sum()
    if free.any():
        exact[free] = np.clip(exact[free] + gap * w[free] / w[free].sum(), lo_bound, hi_bound)
    alloc = np.floor(exact).astype(np.int64)
    left = int(budget - alloc.sum())
    order = sorted(np.flatnonzero(elig), key=lambda i: (-(exact[i] - np.floor(exact[i])), -w[i], i))
    while left > 0:
        before = left
        for i in order:
            if left == 0:
                break
            if alloc[i] < hi_bound:
                alloc[i] += 1
                left -= 1
        if left == before:
            break
    t_compute = time.perf_counter() - t1
    pd.DataFrame({"area_id": wide.index, "allocation_eur": alloc}).to_csv(out, index=False)
    print(json.dumps({"read_s": t_read, "compute_s": t_compute, "sum": int(alloc.sum())}))


if __name__ == "__main__":
    if sys.argv[1] == "reach":
        reach(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], [float(d) for d in sys.argv[6].split(",")])
    else:
        a = sys.argv[2:]
        allocate(a[0], int(a[1]), int(a[2]), float(a[3]), float(a[4]), float(a[5]), a[6])
