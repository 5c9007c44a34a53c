"""GaussianMixture as a scikit-learn estimator."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import emkit
from conftest import blobs


@pytest.fixture
def X():
    return blobs(n=500, d=3, K=3, seed=4)


def test_params_protocol_and_clone(X):
    g = emkit.GaussianMixture(3, covariance_type="diag", random_state=1, n_threads=1)
    assert g.get_params()["covariance_type"] == "diag"
    c = clone(g)
    assert c.get_params() == g.get_params() and c is not g
    g.set_params(n_init=2)
    assert g.n_init == 2
    with pytest.raises(ValueError, match="invalid parameter 'colour'"):
        g.set_params(colour="red")
    assert repr(g) == ("GaussianMixture(n_components=3, covariance_type='diag', n_init=2, "
                       "random_state=1, n_threads=1)")


def test_in_a_pipeline(X):
    pipe = make_pipeline(StandardScaler(), emkit.GaussianMixture(3, random_state=0))
    labels = pipe.fit(X).predict(X)
    assert labels.shape == (500,) and set(labels) == {0, 1, 2}
    assert np.isfinite(pipe.score(X))


def test_fitted_attributes_and_methods(X):
    g = emkit.GaussianMixture(3, random_state=0).fit(X)
    assert g.converged_ and g.n_iter_ >= 2 and g.stop_reason_ == "atol"
    assert g.weights_.shape == (3,) and g.weights_.sum() == pytest.approx(1)
    assert g.means_.shape == (3, 3) and g.covariances_.shape == (3, 3, 3)
    np.testing.assert_allclose(np.einsum("kij,kjl->kil", g.covariances_, g.precisions_),
                               np.repeat(np.eye(3)[None], 3, 0), atol=1e-10)
    proba = g.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(g.predict(X), proba.argmax(1))
    np.testing.assert_array_equal(g.fit_predict(X), g.predict(X))
    assert g.score(X) == pytest.approx(g.score_samples(X).mean())
    assert g.lower_bound_ == pytest.approx(g.loglik_trace_[-2] / len(X))
    n_par = 3 * 6 + 3 * 3 + 2
    assert g.bic(X) == pytest.approx(-2 * g.loglik_ + n_par * np.log(500))
    assert g.aic(X) == pytest.approx(-2 * g.loglik_ + 2 * n_par)


def test_sample_is_reproducible(X):
    g = emkit.GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    a, la = g.sample(1000)
    b, lb = g.sample(1000)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1000, 3) and np.bincount(la, minlength=3).sum() == 1000
    np.testing.assert_allclose(a[la == 0].mean(0), g.means_[0], atol=0.5)


def test_warm_start_continues(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = emkit.GaussianMixture(3, max_iter=2, tol=0, warm_start=True, random_state=0,
                                  init_params="random")
        g.fit(X)
        first = g.loglik_
        g.fit(X)
    assert g.loglik_trace_[0] == pytest.approx(first, rel=1e-12)
    assert g.loglik_ >= first - 1e-12 * abs(first)


def test_more_starts_never_worse(X):
    one = emkit.GaussianMixture(6, random_state=0, init_params="random").fit(X)
    many = emkit.GaussianMixture(6, random_state=0, init_params="random", n_init=6).fit(X)
    assert many.loglik_ >= one.loglik_ - 1e-8 * abs(one.loglik_)


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_init_finds_the_clusters(X, init):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    g = emkit.GaussianMixture(3, init_params=init, n_init=3, random_state=0, tol=1e-6).fit(X)
    # the independent reference: scikit-learn's own best of five k-means starts
    truth = SkGaussianMixture(3, n_init=5, random_state=1, tol=1e-6).fit(X)
    assert g.loglik_ == pytest.approx(truth.score(X) * len(X), rel=1e-6)


def test_pandas_feature_names(faithful):
    g = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    assert list(g.feature_names_in_) == ["eruptions", "waiting"]
    assert g.n_features_in_ == 2
    np.testing.assert_array_equal(g.predict(faithful), g.predict(faithful.to_numpy()))
    # faithful's two clusters: short and long eruptions
    order = np.argsort(g.means_[:, 0])
    assert g.means_[order, 0] == pytest.approx([2.04, 4.29], abs=0.02)


def test_warm_start_with_changed_settings_is_an_error(X):
    g = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    g.set_params(n_components=3)
    with pytest.raises(ValueError, match="previous fit has 2 components"):
        g.fit(X)
    g = emkit.GaussianMixture(2, random_state=0).fit(X)
    g.set_params(covariance_type="diag")
    with pytest.raises(ValueError, match="covariance_type was changed"):
        g.predict(X)


def test_kmeans_start_far_from_the_origin(X):
    """k-means distances are measured from the data's centre, not from 0."""
    near = emkit.GaussianMixture(3, random_state=0).fit(X)
    far = emkit.GaussianMixture(3, random_state=0).fit(X + 1e9)
    np.testing.assert_allclose(np.sort(far.weights_), np.sort(near.weights_), atol=1e-6)


def test_n_threads_validated(X):
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        emkit.GaussianMixture(2, n_threads=0).fit(X)
    with pytest.raises(TypeError, match="n_threads must be an integer"):
        emkit.GaussianMixture(2, n_threads=1.5).fit(X)
