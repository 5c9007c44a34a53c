"""emkit.mclust against R's Mclust on the same rows, side by side.

The default sweep (G = 1..9, all 14 covariance models, hierarchical start on
a 2000-row subset) on a 20,000 x 5 sample of a 4-component mixture with
different covariance shapes.  R runs through benchmarks/mclust_r_timing.R
when Rscript and mclust are installed; both timings cover the sweep and the
final fit, not reading the data.  Prints each side's chosen model and BIC,
the time ratio, and where emkit's time goes (tree, EM cells, iterations).

    python benchmarks/bench_mclust.py [--n 20000] [--threads 2] [--no-r]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import emkit
from emkit import hierarchical


def make_data(n=20_000, seed=0):
    """n x 5 rows from a 4-component mixture: spherical, diagonal, correlated
    and elongated-rotated components."""
    rng = np.random.default_rng(seed)
    d = 5
    weights = np.array([0.35, 0.25, 0.25, 0.15])
    means = np.array([[0.0, 0.0, 0.0, 0.0, 0.0],
                      [6.0, 0.0, 3.0, 0.0, -3.0],
                      [0.0, 6.0, -3.0, 3.0, 0.0],
                      [6.0, 6.0, 3.0, -3.0, 3.0]])
    A = rng.standard_normal((d, d))
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    covs = np.stack([
        np.eye(d),
        np.diag([0.3, 2.0, 0.5, 1.5, 0.8]),
        A @ A.T / d + 0.2 * np.eye(d),
        Q @ np.diag([4.0, 1.0, 0.5, 0.25, 0.1]) @ Q.T,
    ])
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, d))
    for k in range(len(weights)):
        idx = np.flatnonzero(labels == k)
        X[idx] = rng.multivariate_normal(means[k], covs[k], size=idx.size)
    return pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(d)])


def run_r(X: pd.DataFrame):
    script = Path(__file__).with_name("mclust_r_timing.R")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        X.to_csv(path, index=False, float_format="%.17g")
        out = subprocess.run(["Rscript", str(script), str(path)], capture_output=True,
                             text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.split("R_MCLUST", 1)[1]))
    return fields["model"], int(fields["G"]), float(fields["bic"]), float(fields["seconds"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    X = make_data(args.n)
    print(f"data: {X.shape[0]} x {X.shape[1]}, threads: {args.threads or emkit.max_threads()}")

    start = time.perf_counter()
    res = emkit.mclust(X, random_state=0, verbose=False, n_threads=args.threads)
    ours = time.perf_counter() - start
    iterations = res.BIC.iterations.to_numpy().sum()
    rows = np.sort(np.random.default_rng(0).choice(len(X), 2000, replace=False))
    start = time.perf_counter()
    hierarchical.hc(X.to_numpy()[rows])
    tree = time.perf_counter() - start
    print(f"emkit : {res.model_name},{res.G}  BIC {res.bic:.6f}  {ours:.2f} s "
          f"(tree on 2000 rows {tree:.2f} s; {iterations} EM iterations in "
          f"{res.bic_table.size} cells, {(ours - tree) / iterations * 1e3:.2f} ms each)")
    if args.no_r or shutil.which("Rscript") is None:
        print("R     : not run (Rscript not found or --no-r)")
        return
    try:
        model, G, bic, theirs = run_r(X)
    except (subprocess.CalledProcessError, KeyError, IndexError) as err:
        print(f"R     : failed ({err}); is r-cran-mclust installed?")
        return
    print(f"R     : {model},{G}  BIC {bic:.6f}  {theirs:.2f} s")
    print(f"speed-up: {theirs / ours:.1f}x; same model: {(model, G) == (res.model_name, res.G)}"
          " (the random 2000-row subsets differ, so BIC may differ slightly)")


if __name__ == "__main__":
    main()
