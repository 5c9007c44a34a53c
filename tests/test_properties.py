"""EM's guarantees, as properties over generated data sets (hypothesis)."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emkit
from emkit import gaussian
from emkit.engine import StoppingRules, run_em

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@st.composite
def mixtures(draw):
    """A data set drawn from a random mixture, plus a random starting point."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    K = draw(st.integers(1, 4))
    d = draw(st.integers(1, 4))
    n = draw(st.integers(K * (d + 2) + 5, 300))
    scale = 10.0 ** draw(st.integers(-3, 3))
    offset = 10.0 ** draw(st.integers(-2, 4))
    centers = rng.normal(scale=3.0, size=(K, d))
    X = offset + scale * (centers[rng.integers(K, size=n)] + rng.normal(size=(n, d)))
    ct = draw(st.sampled_from(COVARIANCE_TYPES))
    return X, K, ct, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixtures())
def test_loglik_never_decreases(case):
    X, K, ct, seed = case
    model = gaussian.GaussianMixtureModel(K, ct, reg_covar=0.0)
    data = gaussian.prepare(X)
    resp = np.random.default_rng(seed).dirichlet(np.ones(K), size=len(X))
    start = model.mstep(gaussian.stats_from_resp(data, resp, ct))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = run_em(model, data, start, StoppingRules(rtol=0, max_iter=40))
        except emkit.DegenerateFitError:
            return  # a component collapsed: reported, never a silent NaN
    trace = res.loglik_trace
    assert np.all(np.isfinite(trace))
    steps = np.diff(trace)
    assert np.all(steps >= -1e-9 * (1 + np.abs(trace[1:]))), steps.min()
    assert res.decreases == []


@settings(max_examples=25, deadline=None)
@given(mixtures())
def test_same_random_state_same_result(case):
    X, K, ct, seed = case
    fits = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(emkit.GaussianMixture(K, covariance_type=ct, n_init=2, max_iter=30,
                                              random_state=seed).fit(X))
    a, b = fits
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    np.testing.assert_array_equal(a.loglik_trace_, b.loglik_trace_)


def _fit_summary(X, ct, n_threads):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = emkit.GaussianMixture(5, covariance_type=ct, max_iter=15, tol=0, random_state=3,
                                  n_threads=n_threads).fit(X)
    return g.means_, g.covariances_, g.loglik_trace_, g.predict_proba(X)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 40_000), ct=st.sampled_from(COVARIANCE_TYPES))
def test_identical_for_any_thread_count(n, ct):
    n = max(n, 10)
    X = np.random.default_rng(n).normal(size=(n, 3)) * [1, 10, 100]
    one = _fit_summary(X, ct, 1)
    two = _fit_summary(X, ct, 2)
    three = _fit_summary(X, ct, 3)
    for a, b, c in zip(one, two, three):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("d", [4, 60])
def test_identical_under_omp_num_threads(d):
    """The environment variable, not just the argument, changes nothing; with
    d = 60 the kernel's BLAS calls are large enough that a threaded BLAS
    (which reads OMP_NUM_THREADS too) would split them."""
    code = ("import hashlib, numpy as np, emkit, warnings; warnings.simplefilter('ignore');"
            f"X = np.random.default_rng(0).normal(size=(20000, {d})); X[:10000] += 1;"
            "g = emkit.GaussianMixture(4, max_iter=5, tol=0, random_state=1).fit(X);"
            "print(emkit.max_threads(), repr(g.loglik_),"
            " hashlib.md5(g.covariances_.tobytes() + g.predict_proba(X).tobytes()).hexdigest())")
    outputs = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert out[0] == threads
        outputs.append(out[1:])
    assert outputs[0] == outputs[1]
