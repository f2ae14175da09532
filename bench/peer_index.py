#!/usr/bin/env python3
"""Peer for the index benchmark, the same computations in pandas/numpy (vectorised):

  peer_index.py mss INDEX.csv RUNS    MSS status+dynamics index and robustness (weights
                                      Monte-Carlo, leave-one-out, population variants)
  peer_index.py imd IMD.csv           IMD-style ranks, exponential transform, weights, deciles
Prints one JSON line with the compute time (reading excluded)."""
import json
import sys
import time


def status_class(idx, np):
    return np.select([idx < -1, idx <= 1, idx <= 1.5], [1, 2, 3], 4)


def zs(a, np, axis=0):
    return (a - a.mean(axis=axis, keepdims=True)) / a.std(axis=axis, keepdims=True)


def median_runs(f, runs=15):
    """Median of 15 in-process runs of f() -> dict with timings (Quartier does the same)."""
    results = [f() for _ in range(runs)]
    out = dict(results[-1])
    for key in [k for k, v in out.items() if k.endswith("_s") or k == "seconds"]:
        out[key] = sorted(r[key] for r in results)[runs // 2]
    return out


def mss(path, runs):
    import numpy as np
    import pandas as pd
    df = pd.read_csv(path, dtype={"area_id": str})
    return median_runs(lambda: mss_once(df, runs, np, pd))


def mss_once(df, runs, np, pd):
    t0 = time.perf_counter()
    s_cols = [c for c in df.columns if c.startswith("s")]
    d_cols = [c for c in df.columns if c.startswith("d")]

    def index(frame, min_pop):
        r = frame[frame["population"] >= min_pop]
        zs_ = zs(r[s_cols].to_numpy(), np)
        zd = zs(r[d_cols].to_numpy(), np)
        si = zs(zs_.sum(axis=1), np)
        di = zs(zd.sum(axis=1), np)
        return r.index.to_numpy(), zs_, status_class(si, np), np.select([di < -1, di <= 1], ["+", "+/-"], "-")

    ids, z, base, _ = index(df, 300)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 1.5, size=(runs, z.shape[1]))
    sums = w @ z.T
    same = (status_class(zs(sums, np, axis=1), np) == base).mean(axis=0)
    loo = np.zeros(len(ids), dtype=int)
    for j in range(z.shape[1]):
        s = np.delete(z, j, axis=1).sum(axis=1)
        loo += status_class(zs(s, np), np) != base
    pop_changes = np.zeros(len(ids), dtype=int)
    for m in (150, 600):
        ids2, _, cl2, _ = index(df, m)
        mapping = pd.Series(cl2, index=ids2).reindex(ids)
        pop_changes += (mapping.to_numpy() != base)
    fragile = int(((loo > 0) | (pop_changes > 0)).sum())
    t_rob = time.perf_counter() - t0
    return {"index_s": t_index, "robustness_s": t_rob, "total_s": t_index + t_rob, "rated": len(ids), "fragile": fragile, "same_mean": float(same.mean())}


def imd(path):
    import numpy as np
    import pandas as pd
    df = pd.read_csv(path)
    return median_runs(lambda: imd_once(df, np, pd))


def imd_once(df, np, pd):
    t0 = time.perf_counter()
    n = len(df)
    weights = np.array([22.5, 22.5, 13.5, 13.5, 9.3, 9.3, 9.3])[: df.shape[1]]
    ranks = df.rank(ascending=False, method="min")
    r = (n - ranks + 1) / n
    x = -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))
    score = (x * (weights / weights.sum())).sum(axis=1)
    rank = score.rank(ascending=False, method="min")
    decile = np.ceil(rank / n * 10)
    t = time.perf_counter() - t0
    return {"seconds": t, "decile1": int((decile == 1).sum())}


if __name__ == "__main__":
    if sys.argv[1] == "mss":
        print(json.dumps(mss(sys.argv[2], int(sys.argv[3]))))
    else:
        print(json.dumps(imd(sys.argv[2])))
