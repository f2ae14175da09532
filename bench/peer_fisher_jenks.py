#!/usr/bin/env python3
"""Peer: mapclassify 2.10 FisherJenks (numba) for n values, k=5. It is O(k n^2) in time and
O(k n) in memory; for n = 1,000,000 it is timed at smaller n and extrapolated quadratically.

  peer_fisher_jenks.py N"""
import json
import sys
import time
import warnings

warnings.simplefilter("ignore")


def main():
    import numpy as np
    import mapclassify as mc
    target = int(sys.argv[1])
    rng = np.random.default_rng(7)
    mc.FisherJenks(np.arange(20, dtype=float), k=5)
    n = min(target, 20_000)
    y = 5 + 40 * rng.random(n) ** 2 + 10 * rng.random(n)
    t0 = time.perf_counter()
    mc.FisherJenks(y, k=5)
    s = time.perf_counter() - t0
    print(json.dumps({"measured_n": n, "measured_s": s, "n": target, "extrapolated_s": s * (target / n) ** 2}))


if __name__ == "__main__":
    main()
