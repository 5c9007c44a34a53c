import numpy as np
import pytest

import emkit


@pytest.fixture(scope="session")
def faithful():
    return emkit.datasets.load_faithful()


def blobs(n=600, d=3, K=3, seed=0, spread=4.0):
    """Well-separated Gaussian clusters with unequal, correlated covariances."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(K, d))
    labels = rng.integers(K, size=n)
    mix = rng.normal(size=(K, d, d)) * 0.5 + np.eye(d)
    return centers[labels] + np.einsum("nij,nj->ni", mix[labels], rng.normal(size=(n, d)))


def reference_em(X, weights, means, covariances, covariance_type, n_iter, reg_covar):
    """Plain two-pass EM in numpy/scipy, written for clarity, not speed: an
    independent reference where scikit-learn's one-pass diagonal and tied
    estimates lose digits to cancellation.  ``covariances`` are (K, d, d)."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    K, d = means.shape
    for _ in range(n_iter):
        logp = np.column_stack([np.log(weights[k]) + multivariate_normal(
            means[k], covariances[k]).logpdf(X).reshape(len(X)) for k in range(K)])
        r = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        nk = r.sum(0) + 10 * np.finfo(float).eps
        weights = nk / nk.sum()
        means = (r.T @ X) / nk[:, None]
        scatter = np.array([((X - means[k]).T * r[:, k]) @ (X - means[k]) for k in range(K)])
        if covariance_type == "full":
            cov = scatter / nk[:, None, None]
        elif covariance_type == "tied":
            cov = np.repeat((scatter.sum(0) / nk.sum())[None], K, axis=0)
        elif covariance_type == "diag":
            cov = np.array([np.diag(np.diag(s)) for s in scatter]) / nk[:, None, None]
        else:
            cov = np.array([np.trace(s) / d * np.eye(d) for s in scatter]) / nk[:, None, None]
        covariances = cov + reg_covar * np.eye(d)
    return weights, means, covariances


def as_full(covariances, covariance_type, K, d):
    c = np.asarray(covariances)
    return {"full": lambda: c, "tied": lambda: np.repeat(c[None], K, 0),
            "diag": lambda: np.array([np.diag(v) for v in c]),
            "spherical": lambda: c[:, None, None] * np.eye(d)}[covariance_type]()
