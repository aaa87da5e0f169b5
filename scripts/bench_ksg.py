"""Benchmark: infoplane's ksg against a scipy cKDTree implementation of the same estimators
(KSG algorithm 1 with max-norm for I(X;Z), Ross for I(Y;Z), k = 3), N = 4096, Z of width 10,
X of width 12, measured in the same run; prints both values and the time ratio (goal: faster
than scipy).

usage: bench_ksg.py INFOPLANE_BINARY WORKDIR
"""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma


def ksg1(x, z, k=3):
    n = len(x)
    xz = np.hstack([x, z])
    eps = cKDTree(xz).query(xz, k + 1, p=np.inf)[0][:, -1]
    tx, tz = cKDTree(x), cKDTree(z)
    # Strictly within eps: the radius just below it; counts include the point itself.
    r = np.nextafter(eps, 0)
    nx = tx.query_ball_point(x, r, p=np.inf, return_length=True) - 1
    nz = tz.query_ball_point(z, r, p=np.inf, return_length=True) - 1
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(nz + 1))


def ross(z, y, k=3):
    n = len(z)
    radius = np.empty(n)
    counts = np.empty(n)
    kk = np.empty(n)
    for c in np.unique(y):
        m = y == c
        cnt = m.sum()
        ki = min(k, cnt - 1)
        d = cKDTree(z[m]).query(z[m], ki + 1, p=np.inf)[0][:, -1]
        radius[m] = np.nextafter(d, 0)
        counts[m] = cnt
        kk[m] = ki
    m_all = cKDTree(z).query_ball_point(z, radius, p=np.inf, return_length=True)
    return digamma(n) + np.mean(digamma(kk)) - np.mean(digamma(counts)) - np.mean(digamma(m_all))


def imported(binary, work, x, z, y):
    """The archive WORK/run holding one epoch of Z with labels y and inputs X (`infoplane import`)."""
    np.savez(work / "acts.npz", z=z[None])
    np.save(work / "y.npy", y)
    np.save(work / "x.npy", x)
    subprocess.run([binary, "import", "--activations", str(work / "acts.npz"), "--labels", str(work / "y.npy"),
                    "--inputs", str(work / "x.npy"), "--out", str(work / "run"), "--force"], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = 4096
    x = rng.standard_normal((n, 12)).astype(np.float32)
    w = rng.standard_normal((12, 10)).astype(np.float32) / 3
    z = np.tanh(x @ w + 0.3 * rng.standard_normal((n, 10))).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    imported(binary, work, x, z, y)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([binary, "estimate", str(work / "run"), "--estimator", "ksg", "--unit", "nats",
                        "--out", str(work / "ksg.csv")], check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t)
    ours = min(runs)
    import csv
    row = next(csv.DictReader(open(work / "ksg.csv")))
    x64, z64 = x.astype(np.float64), z.astype(np.float64)
    jit = np.random.default_rng(1)
    x64 += 1e-10 * jit.random(x64.shape)
    z64 += 1e-10 * jit.random(z64.shape)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        ref_x, ref_y = ksg1(x64, z64), ross(z64, y)
        runs.append(time.perf_counter() - t)
    theirs = min(runs)
    print(f"N = {n}, X width 12, Z width 10, k = 3")
    print(f"infoplane estimate --estimator ksg: {ours:.2f} s (whole command)  I(X;Z) {float(row['i_xz']):.4f}  I(Y;Z) {float(row['i_yz']):.4f} nats")
    print(f"scipy cKDTree (KSG 1 + Ross):       {theirs:.2f} s                  I(X;Z) {ref_x:.4f}  I(Y;Z) {ref_y:.4f} nats")
    print(f"ratio infoplane / scipy: {ours / theirs:.2f}x (goal < 1)")


if __name__ == "__main__":
    main()
