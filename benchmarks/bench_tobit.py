"""emkit.tobit against R's AER::tobit on the same rows, side by side.

Simulates n rows (default 1,000,000) of y* = 0.3 + X b + 2 e with 20 standard
normal covariates x1..x20 and fixed-seed b, left-censored at 0 (about 46%
censored), and times emkit.tobit("y ~ x1 + ... + x20", df, left=0) from
formula to results, best of --repeat runs.  R runs through
benchmarks/tobit_r_timing.R when Rscript and AER are installed; its time is
tobit() alone, not reading the CSV.  Prints both times and iteration counts,
the ratio, the largest relative coefficient difference, the log-likelihood
difference, and emkit's peak memory increase during one fit (in a fresh child
process) against the size of the n x 21 design matrix.

    python benchmarks/bench_tobit.py [--n 1000000] [--repeat 3] [--threads 2] [--no-r]
"""
from __future__ import annotations

import argparse
import gc
import multiprocessing
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

import emkit
from rscript import run_rscript

P = 20
FORMULA = "y ~ " + " + ".join(f"x{j + 1}" for j in range(P))


def make_data(n=1_000_000, seed=0):
    """n rows of y (left-censored at 0) and x1..x20.

    sd(y*) = sqrt(|b|^2 + 4) is about 3, so P(y* <= 0) = Phi(-0.3 / 3) ~ 0.46.
    """
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 0.5, P)
    X = rng.standard_normal((n, P))
    y = np.maximum(0.3 + X @ b + 2.0 * rng.standard_normal(n), 0.0)
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(P)])
    df.insert(0, "y", y)
    return df


def _status_kb(field):
    """A field of /proc/self/status (VmRSS, VmHWM) in kB."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def fit_memory(n, threads):
    """Peak resident memory added by one emkit.tobit fit, in bytes, and how
    it was measured.  Runs in a freshly spawned process so no earlier fit's
    freed-but-cached heap hides the fit's allocations.

    ru_maxrss is not used as the primary measure: on Linux a fork+exec'ed
    child inherits its parent's peak RSS as its own starting ru_maxrss, so the
    child's "before" value is the parent's peak, not its own.  Instead the
    per-process high-water mark VmHWM is reset to the current RSS by writing 5
    to /proc/self/clear_refs, which sees C/OpenMP allocations too.
    """
    df = make_data(n)
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
        emkit.tobit(FORMULA, df, left=0, n_threads=threads)
        return (_status_kb("VmHWM") - before) * 1024, "VmHWM reset via /proc/self/clear_refs"
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        emkit.tobit(FORMULA, df, left=0, n_threads=threads)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return (after - before) * 1024, "ru_maxrss before/after, a lower bound"


def run_r(df: pd.DataFrame, repeat: int):
    """AER::tobit on df via a temporary CSV: (seconds, iterations, loglik, params)."""
    out = run_rscript("tobit_r_timing.R", df, repeat)
    fields = dict(re.findall(r"^(time|iter|loglik) (\S+)$", out, re.M))
    coefs = {name.replace("(Intercept)", "Intercept"): float(value)
             for name, value in re.findall(r"^coef (\S+) (\S+)$", out, re.M)}
    return float(fields["time"]), int(fields["iter"]), float(fields["loglik"]), pd.Series(coefs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    df = make_data(args.n)
    print(f"data: n = {len(df)}, p = {P} (+ intercept), censored {np.mean(df.y <= 0):.1%}, "
          f"threads: {args.threads or emkit.max_threads()}")

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        res = emkit.tobit(FORMULA, df, left=0, n_threads=args.threads)
        times.append(time.perf_counter() - start)
    ours = min(times)
    print(f"emkit : {ours:.3f} s (best of {args.repeat}; {res.n_iter} EM steps, "
          f"{res.n_newton} Newton steps, converged {res.converged})  llf {res.llf:.10f}")

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        peak, how = pool.apply(fit_memory, (args.n, args.threads))
    design = len(df) * (P + 1) * 8
    print(f"memory: peak increase during one fit {peak / 2**20:.0f} MiB = {peak / design:.2f} x "
          f"the n x {P + 1} design matrix ({design / 2**20:.0f} MiB); {how}")

    if args.no_r or shutil.which("Rscript") is None:
        print("R     : not run (Rscript not found or --no-r)")
        return
    try:
        theirs, iters, llf_r, coef_r = run_r(df, args.repeat)
    except (subprocess.CalledProcessError, KeyError) as err:
        print(f"R     : failed ({err}); is r-cran-aer installed?")
        return
    print(f"R     : {theirs:.3f} s (best of {args.repeat}; {iters} Newton-Raphson iterations)"
          f"  llf {llf_r:.10f}")
    rel = ((res.params - coef_r[res.params.index]).abs() / coef_r[res.params.index].abs())
    print(f"speed-up R/emkit: {theirs / ours:.1f}x; largest relative coefficient difference "
          f"{rel.max():.2e} ({rel.idxmax()}); llf emkit - R {res.llf - llf_r:.3e}")


if __name__ == "__main__":
    main()
