"""Benchmark: infoplane's sliced mutual information (`--estimator smi --slices 128`) against a
numpy/scipy implementation of the same estimator in the same run: random unit directions,
projections by one matrix product, then per slice KSG algorithm 1 (max-norm, k = 3) on the two
projections and Ross's estimator on the projected Z, with scipy cKDTree (bench_ksg.py's
functions). N = 10000, Z of width 1024, X of width 12. The directions differ (each draws its
own), so the values agree within the spread over slices, not to the digit.

usage: bench_smi.py INFOPLANE_BINARY WORKDIR [SLICES]
"""
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ksg import imported, ksg1, ross  # noqa: E402


def directions(rng, count, dim):
    d = rng.standard_normal((count, dim))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def numpy_smi(x, z, y, slices, k=3):
    rng = np.random.default_rng(3)
    theta, phi = directions(rng, slices, x.shape[1]), directions(rng, slices, z.shape[1])
    u, v = x @ theta.T, z @ phi.T                      # N x slices each
    u += 1e-10 * rng.random(u.shape)
    v += 1e-10 * rng.random(v.shape)
    xz = [ksg1(u[:, [s]], v[:, [s]], k) for s in range(slices)]
    yz = [ross(v[:, [s]], y, k) for s in range(slices)]
    return np.mean(xz), np.mean(yz)


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    slices = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n, h, d = 10000, 1024, 12
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, h)).astype(np.float32) / 3
    z = np.tanh(x @ w + 0.3 * rng.standard_normal((n, h))).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    imported(binary, work, x, z, y)
    t = time.perf_counter()
    subprocess.run([binary, "estimate", str(work / "run"), "--estimator", "smi", "--slices", str(slices),
                    "--unit", "nats", "--out", str(work / "smi.csv")], check=True, stdout=subprocess.DEVNULL)
    ours = time.perf_counter() - t
    row = next(csv.DictReader(open(work / "smi.csv")))
    t = time.perf_counter()
    ref_x, ref_y = numpy_smi(x.astype(np.float64), z.astype(np.float64), y, slices)
    theirs = time.perf_counter() - t
    print(f"N = {n}, Z width {h}, X width {d}, {slices} slices, k = 3")
    print(f"infoplane estimate --estimator smi: {ours:.2f} s (whole command)  SI(X;Z) {float(row['i_xz']):.4f} ± {float(row['i_xz_se']):.4f}  SI(Y;Z) {float(row['i_yz']):.4f} ± {float(row['i_yz_se']):.4f} nats")
    print(f"numpy + scipy cKDTree:              {theirs:.2f} s                  SI(X;Z) {ref_x:.4f}           SI(Y;Z) {ref_y:.4f} nats")
    print(f"ratio infoplane / numpy: {ours / theirs:.3f}x (infoplane is {theirs / ours:.1f}x faster)")


if __name__ == "__main__":
    main()
