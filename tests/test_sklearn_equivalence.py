"""emkit.GaussianMixture against scikit-learn from identical starting values.

Acceptance: after the same number of iterations (tol=0), parameters agree to
1e-8 relative for every covariance type.
"""
import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emkit
from emkit import ConvergenceWarning
from conftest import as_full, blobs, reference_em

RTOL = 1e-8
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def start_from(X, K, ct, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = SkGaussianMixture(K, covariance_type=ct, max_iter=1, tol=0, random_state=seed,
                              init_params="random_from_data").fit(X)
    return dict(weights_init=s.weights_, means_init=s.means_, precisions_init=s.precisions_)


def assert_rel(a, b, what):
    """Entry by entry to RTOL; entries ~1e-12 of the largest (zeros that are
    round-off either way) to that absolute level."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(b, a, rtol=RTOL, atol=1e-12 * np.max(np.abs(a)), err_msg=what)


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


# not "tied": one covariance pooled over clusters 2 x separation apart with
# sd 0.01 has condition number >= 1e8, and no two methods agree beyond cond * eps
@pytest.mark.parametrize("ct", ["full", "diag", "spherical"])
@pytest.mark.parametrize("separation", [1e2, 1e4])
def test_tight_clusters_far_apart(ct, separation):
    """Moments are taken about each component's mean, so a tight component far
    from the data's centre loses nothing to cancellation.  The reference is a
    plain two-pass EM (scikit-learn's one-pass diag estimates lose digits here
    themselves)."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-separation, 0.01, size=(300, 2)),
                   rng.normal(separation, 0.01, size=(300, 2))])
    inits = start_from(X, 2, ct)
    em = emkit.GaussianMixture(2, covariance_type=ct, max_iter=5, tol=0, reg_covar=1e-12,
                               **inits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(X)
    w0, m0 = inits["weights_init"], inits["means_init"]
    c0 = np.linalg.inv(as_full(inits["precisions_init"], ct, 2, 2))
    w, m, c = reference_em(X, w0, m0, c0, ct, 5, 1e-12)
    assert_rel(m, em.means_, "means_")
    assert_rel(c, as_full(em.covariances_, ct, 2, 2), "covariances_")
    assert_rel(w, em.weights_, "weights_")


def test_wildly_different_scales_stay_monotone():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1e-3, 500), rng.normal(2e5, 1e4, 500)])[:, None]
    w0, m0, c0 = np.array([0.5, 0.5]), np.array([[0.0], [2e5]]), np.array([[[1e-6]], [[1e8]]])
    # reg_covar=0: adding 1e-6 to a variance of 1e-6 would itself lower the likelihood
    em = emkit.GaussianMixture(2, weights_init=w0, means_init=m0, reg_covar=0.0,
                               precisions_init=np.linalg.inv(c0), max_iter=20, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(X)
    assert np.all(np.diff(em.loglik_trace_) >= -1e-10 * np.abs(em.loglik_trace_[1:]))
    w, m, c = reference_em(X, w0, m0, c0, "full", 20, 0.0)
    assert_rel(c, em.covariances_, "covariances_")
    assert_rel(m, em.means_, "means_")


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_max_iter_boundary_as_sklearn(max_iter):
    """A tolerance met on the last allowed iteration: no extra step, not converged."""
    X = blobs(n=200, d=2, K=2, seed=5)
    inits = start_from(X, 2, "full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkGaussianMixture(2, max_iter=max_iter, tol=1e3, **inits).fit(X)
        em = emkit.GaussianMixture(2, max_iter=max_iter, tol=1e3, **inits).fit(X)
    assert (em.n_iter_, em.converged_) == (sk.n_iter_, sk.converged_)
    assert_rel(sk.means_, em.means_, "means_")


def test_empty_component_keeps_sklearn_mean():
    rng = np.random.default_rng(2)
    X = rng.normal(100.0, 1.0, size=(200, 2))
    kw = dict(means_init=[[100.0, 100.0], [1e4, 1e4]], weights_init=[0.5, 0.5],
              precisions_init=np.array([np.eye(2), np.eye(2)]), max_iter=3, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkGaussianMixture(2, **kw).fit(X)
        em = emkit.GaussianMixture(2, **kw).fit(X)
    np.testing.assert_allclose(em.means_, sk.means_, rtol=1e-8, atol=1e-10)
