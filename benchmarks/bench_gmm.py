"""emkit.GaussianMixture against sklearn.mixture.GaussianMixture, side by side.

n = 200,000 rows, d = 10, K = 8, full and diagonal covariance, both fitted
from the same starting parameters.  The per-iteration time is
(time of 1 + ITERS iterations - time of 1 iteration) / ITERS, so set-up,
validation and the final E-step cancel out; each timing is the best of
REPEATS.  Also prints the achieved GFLOP/s against the ~2 n K d^2 flop
count of a full-covariance iteration, and emkit's peak memory during a fit
with the default k-means start (numpy allocations, via tracemalloc) as a
multiple of X's size and beside n K doubles.

    python benchmarks/bench_gmm.py [--n 200000] [--threads 2]
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emkit


def best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_iteration(cls, X, inits, ct, iters, repeats, **extra):
    def fit(n_iter):
        return lambda: cls(len(inits["weights_init"]), covariance_type=ct, max_iter=n_iter,
                           tol=0, init_params="random_from_data", **inits, **extra).fit(X)
    return (best_time(fit(iters + 1), repeats) - best_time(fit(1), repeats)) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="emkit threads (default: all)")
    args = ap.parse_args()
    n, d, K = args.n, args.d, args.k
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3.0, size=(K, d))
    X = centers[rng.integers(K, size=n)] + rng.normal(size=(n, d))
    warnings.simplefilter("ignore")
    threads = args.threads or emkit.max_threads()
    print(f"n={n} d={d} K={K}, {args.iters} iterations, best of {args.repeats}; "
          f"emkit threads={threads}")
    print(f"{'covariance':<10} {'sklearn ms/it':>14} {'emkit ms/it':>12} {'ratio':>7} "
          f"{'emkit GFLOP/s':>14} {'max rel diff':>13}")
    for ct in ("full", "diag"):
        start = SkGaussianMixture(K, covariance_type=ct, max_iter=1, tol=0, random_state=0,
                                  init_params="random_from_data").fit(X)
        inits = dict(weights_init=start.weights_, means_init=start.means_,
                     precisions_init=start.precisions_)
        t_sk = per_iteration(SkGaussianMixture, X, inits, ct, args.iters, args.repeats)
        t_em = per_iteration(emkit.GaussianMixture, X, inits, ct, args.iters, args.repeats,
                             n_threads=threads)
        a = SkGaussianMixture(K, covariance_type=ct, max_iter=args.iters, tol=0, **inits).fit(X)
        b = emkit.GaussianMixture(K, covariance_type=ct, max_iter=args.iters, tol=0,
                                  **inits).fit(X)
        diff = np.max(np.abs(a.covariances_ - b.covariances_) / np.abs(a.covariances_).max())
        gflops = 2 * n * K * d * d / t_em / 1e9 if ct == "full" else float("nan")
        print(f"{ct:<10} {1e3 * t_sk:>14.2f} {1e3 * t_em:>12.2f} {t_sk / t_em:>6.1f}x "
              f"{gflops:>14.1f} {diff:>13.1e}")
    tracemalloc.start()
    emkit.GaussianMixture(K, max_iter=args.iters, random_state=0).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"emkit peak memory in a full fit: {peak / 2**20:.1f} MiB = "
          f"{peak / X.nbytes:.2f} x X ({X.nbytes / 2**20:.1f} MiB); n K doubles = "
          f"{n * K * 8 / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
