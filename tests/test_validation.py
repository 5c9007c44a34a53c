"""Bad input gets a clear error naming the problem; the caller's data are untouched."""
import warnings

import numpy as np
import pandas as pd
import pytest

import emkit
from emkit.mixture import DegenerateComponentWarning
from conftest import blobs


def fit(X, sample_weight=None, **kw):
    gm = emkit.GaussianMixture(**{"n_components": 2, "random_state": 0, **kw})
    return gm.fit(X, sample_weight=sample_weight)


@pytest.mark.parametrize("X, error, match", [
    (np.array([[1.0, np.nan], [2, 3], [4, 5]]), ValueError, r"NaN or infinite.*column 1 \(1"),
    (np.array([[1.0, 2], [np.inf, 3], [4, 5]]), ValueError, r"NaN or infinite.*column 0"),
    (np.arange(10.0), ValueError, r"must be 2-D.*reshape\(-1, 1\)"),
    (np.ones((2, 2, 2)), ValueError, "must be 2-D"),
    (np.empty((0, 3)), ValueError, "0 row"),
    (np.empty((5, 0)), ValueError, "no columns"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "must be numeric"),
    (np.array([[1 + 1j, 2], [3, 4]]), TypeError, "must be numeric"),
])
def test_bad_arrays(X, error, match):
    with pytest.raises(error, match=match):
        fit(X)


def test_dataframe_errors_name_the_column():
    df = pd.DataFrame({"height": [1.0, 2, 3, 4], "colour": list("abcd"), "w": [1.0, 2, 3, 5]})
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) \['colour'\]"):
        fit(df)
    df = pd.DataFrame({"height": [1.0, 2, None, 4], "w": [1.0, 2, 3, 5]})
    with pytest.raises(ValueError, match=r"height \(1 value"):
        fit(df)
    with pytest.raises(ValueError, match="Series"):
        fit(df["w"])


def test_too_few_rows_for_components():
    with pytest.raises(ValueError, match=r"3 rows of positive weight but n_components=5"):
        emkit.GaussianMixture(5).fit(np.random.default_rng(0).normal(size=(3, 2)))


@pytest.mark.parametrize("kw, error, match", [
    (dict(n_components=0), ValueError, "n_components must be >= 1"),
    (dict(n_components=2.5), TypeError, "n_components must be an integer"),
    (dict(covariance_type="VVV"), ValueError, "covariance_type must be one of"),
    (dict(init_params="hc"), ValueError, "init_params must be one of"),
    (dict(tol=-1.0), ValueError, "tol must be >= 0"),
    (dict(reg_covar=-1e-3), ValueError, "reg_covar must be >= 0"),
    (dict(max_iter=0), ValueError, "max_iter must be >= 1"),
    (dict(n_init=0), ValueError, "n_init must be >= 1"),
    (dict(weights_init=[0.5, 0.3]), ValueError, "weights_init must sum to 1"),
    (dict(weights_init=[0.5, 0.25, 0.25]), ValueError, r"weights_init must have shape \(2,\)"),
    (dict(means_init=np.zeros((2, 3))), ValueError, r"means_init must have shape \(2, 2\)"),
    (dict(precisions_init=np.ones((2, 2))), ValueError, r"precisions_init must have shape \(2, 2, 2\)"),
    (dict(precisions_init=np.array([np.eye(2), -np.eye(2)])), ValueError,
     r"precisions_init\[1\] is not symmetric positive definite"),
    (dict(covariance_type="diag", precisions_init=np.ones(2)), ValueError,
     r"must have shape \(2, 2\) for covariance_type='diag'"),
    (dict(means_init=[["a", "b"], ["c", "d"]]), TypeError, "means_init must be numeric"),
])
def test_bad_settings(kw, error, match):
    X = blobs(n=50, d=2, K=2)
    with pytest.raises(error, match=match):
        fit(X, **kw)


@pytest.mark.parametrize("w, match", [
    (np.ones(10), r"shape \(50,\)"),
    (-np.ones(50), "non-negative"),
    (np.zeros(50), "sums to zero"),
    (np.full(50, np.nan), "finite"),
])
def test_bad_weights(w, match):
    with pytest.raises(ValueError, match=match):
        fit(blobs(n=50, d=2, K=2), sample_weight=w)


def test_constant_column():
    X = blobs(n=60, d=2, K=2)
    X[:, 1] = 7.0
    with pytest.raises(ValueError, match=r"constant column\(s\) \['column 1'\].*reg_covar > 0"):
        fit(X, reg_covar=0.0)
    df = pd.DataFrame(X, columns=["a", "flat"])
    with pytest.warns(UserWarning, match=r"constant column\(s\) \['flat'\]"):
        fit(df)


def test_caller_data_never_modified():
    X = blobs(n=80, d=2, K=2)
    df = pd.DataFrame(X, columns=["x", "y"])
    X_copy, df_copy = X.copy(), df.copy()
    w = np.ones(80)
    g = fit(X, sample_weight=w)
    g.predict(X), g.score_samples(X), g.predict_proba(df.to_numpy())
    fit(df)
    np.testing.assert_array_equal(X, X_copy)
    pd.testing.assert_frame_equal(df, df_copy)
    np.testing.assert_array_equal(w, np.ones(80))


def test_prediction_input_checked():
    g = fit(pd.DataFrame(blobs(n=80, d=2, K=2), columns=["x", "y"]))
    with pytest.raises(ValueError, match="3 features, but this GaussianMixture was fitted with 2"):
        g.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"columns \['y', 'x'\] differ"):
        g.predict(pd.DataFrame(np.zeros((4, 2)), columns=["y", "x"]))
    with pytest.raises(AttributeError, match="not fitted"):
        emkit.GaussianMixture(2).predict(np.zeros((4, 2)))


def test_collapsed_component_is_an_error_without_regularisation():
    # three distinct points and three components: each collapses onto a point
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]), 4, axis=0)
    X[:, 0] += np.tile([0.0, 1e-3, 2e-3, 3e-3], 3)
    with pytest.raises(emkit.DegenerateFitError, match="singular covariance"):
        emkit.GaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)


def test_collapsed_component_warns_with_regularisation():
    X = np.vstack([np.random.default_rng(0).normal(size=(60, 2)), np.full((5, 2), 8.0)])
    with pytest.warns(DegenerateComponentWarning, match="component 1 has a singular"):
        g = emkit.GaussianMixture(2, means_init=[[0, 0], [8, 8]], random_state=0).fit(X)
    assert list(g.degenerate_components_) == [1]
    assert np.all(np.isfinite(g.covariances_))
