"""emkit.GaussianMixture against scikit-learn from identical starting values.

Acceptance: after the same number of iterations (tol=0), parameters agree to
1e-8 relative for every covariance type.
"""
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emkit
from conftest import blobs

RTOL = 1e-8
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def start_from(X, K, ct, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = SkGaussianMixture(K, covariance_type=ct, max_iter=1, tol=0, random_state=seed,
                              init_params="random_from_data").fit(X)
    return dict(weights_init=s.weights_, means_init=s.means_, precisions_init=s.precisions_)


def assert_rel(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    err = np.max(np.abs(a - b)) / np.max(np.abs(a))
    assert err <= RTOL, f"{what}: max relative difference {err:.2e} > {RTOL}"


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", ["blobs", "faithful"])
def test_same_parameters_after_same_iterations(ct, dataset, faithful):
    X = blobs(n=700, d=4, K=3, seed=3) if dataset == "blobs" else faithful.to_numpy()
    K = 3 if dataset == "blobs" else 2
    inits = start_from(X, K, ct)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkGaussianMixture(K, covariance_type=ct, max_iter=30, tol=0, **inits).fit(X)
        em = emkit.GaussianMixture(K, covariance_type=ct, max_iter=30, tol=0, **inits).fit(X)
    assert em.n_iter_ == sk.n_iter_ == 30
    for att in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        assert_rel(getattr(sk, att), getattr(em, att), att)
    assert em.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(em.score_samples(X), sk.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(em.predict_proba(X), sk.predict_proba(X), rtol=1e-8, atol=1e-12)
    assert em.bic(X) == pytest.approx(sk.bic(X), rel=1e-10)
    assert em.aic(X) == pytest.approx(sk.aic(X), rel=1e-10)


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_same_convergence_with_tolerance(ct):
    X = blobs(n=500, d=3, K=4, seed=7)
    inits = start_from(X, 4, ct, seed=1)
    sk = SkGaussianMixture(4, covariance_type=ct, tol=1e-4, max_iter=500, **inits).fit(X)
    em = emkit.GaussianMixture(4, covariance_type=ct, tol=1e-4, max_iter=500, **inits).fit(X)
    assert em.converged_ and sk.converged_
    assert em.n_iter_ == sk.n_iter_
    assert_rel(sk.means_, em.means_, "means_")
    assert em.stop_reason_ == "atol"


def test_lower_bounds_trace_matches_sklearn():
    X = blobs(n=300, d=2, K=2, seed=11)
    inits = start_from(X, 2, "full")
    sk = SkGaussianMixture(2, max_iter=15, tol=0, **inits).fit(X)
    em = emkit.GaussianMixture(2, max_iter=15, tol=0, **inits).fit(X)
    if hasattr(sk, "lower_bounds_"):
        np.testing.assert_allclose(em.lower_bounds_, sk.lower_bounds_, rtol=1e-12)
    assert em.loglik_trace_.shape == (16,)
    assert em.loglik_ == pytest.approx(em.score(X) * len(X), rel=1e-12)
