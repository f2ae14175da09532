#!/usr/bin/env python3
"""Peer for the indicator benchmark: pandas computes the same 30 rate indicators (counts summed
to districts and the whole city before dividing, minimum denominator 30) for every area and year,
and mapclassify 2.10 classifies each indicator-year on the area level with Fisher-Jenks k=5.

  peer_indicators.py COUNTS.csv N_INDICATORS SAMPLE
mapclassify's exact Fisher-Jenks is O(k n^2); SAMPLE classifications are timed and the time for
all of them is extrapolated (reported as such). Prints one JSON line."""
import json
import sys
import time
import warnings

warnings.simplefilter("ignore")


def main():
    path, n_ind, sample = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import numpy as np
    import pandas as pd
    import mapclassify as mc

    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype={"area_id": str, "district": str, "variable": str})
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    wide = df.pivot_table(index=["area_id", "district", "year"], columns="variable", values="value", aggfunc="first").reset_index()
    variables = [c for c in wide.columns if c.startswith("v")]
    district = wide.groupby(["district", "year"])[variables].sum()
    city = wide.groupby("year")[variables].sum()
    area = wide.set_index(["area_id", "year"])[variables]
    results = {}
    for i in range(n_ind):
        num, den = f"v{i % 15:02d}", f"v{15 + i % 5:02d}"
        for name, t in (("area", area), ("district", district), ("city", city)):
            value = 100 * t[num] / t[den]
            value = value.where(t[den] != 0)
            unreliable = t[den] < 30
            results[(i, name)] = (value, unreliable)
    t_compute = time.perf_counter() - t0

    groups = []
    for i in range(n_ind):
        v = results[(i, "area")][0]
        for year, s in v.groupby(level="year"):
            groups.append(s.to_numpy())
    # Warm up numba's compilation outside the timing.
    mc.FisherJenks(np.arange(20, dtype=float), k=5)
    t0 = time.perf_counter()
    for g in groups[:sample]:
        mc.FisherJenks(g, k=5)
    t_sample = time.perf_counter() - t0
    t_classify = t_sample / sample * len(groups)
    print(json.dumps({"read_s": t_read, "compute_s": t_compute, "classify_sample": sample, "classify_sample_s": t_sample,
                      "classifications": len(groups), "classify_s_extrapolated": t_classify,
                      "total_s": t_compute + t_classify}))


if __name__ == "__main__":
    main()
