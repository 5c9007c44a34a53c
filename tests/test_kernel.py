"""The fused E-step kernel against a direct numpy/scipy computation."""
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emkit import _gaussian, gaussian

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def random_params(K, d, ct, rng):
    A = rng.normal(size=(K, d, d))
    full = A @ A.transpose(0, 2, 1) + d * np.eye(d)
    cov = {"full": full, "tied": full[0], "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
           "spherical": full[:, 0, 0].copy()}[ct]
    w = rng.dirichlet(np.ones(K))
    return gaussian.make_params(w, rng.normal(scale=3, size=(K, d)) + 50.0, cov, ct)


def dense_covariances(p, K, d):
    c = p.covariances
    return {"full": lambda: c, "tied": lambda: np.repeat(c[None], K, 0),
            "diag": lambda: np.array([np.diag(v) for v in c]),
            "spherical": lambda: c[:, None, None] * np.eye(d)}[p.covariance_type]()


# n chosen to straddle the block (256 rows) and chunk boundaries
@pytest.mark.parametrize("n", [1, 7, 255, 256, 257, 3001, 20_000])
@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_estep_matches_direct_computation(n, ct):
    rng = np.random.default_rng(n)
    K, d = 3, 4
    X = rng.normal(scale=4, size=(n, d)) + 50.0
    w = rng.uniform(0.2, 2.0, size=n)
    p = random_params(K, d, ct, rng)
    covs = dense_covariances(p, K, d)
    logdens = np.column_stack([np.log(p.weights[k]) +
                               multivariate_normal(p.means[k], covs[k]).logpdf(X).reshape(n)
                               for k in range(K)])
    lse = logsumexp(logdens, axis=1)
    r = np.exp(logdens - lse[:, None])
    rw = r * w[:, None]

    model = gaussian.GaussianMixtureModel(K, ct)
    data = gaussian.prepare(X, w)
    resp, logprob = np.empty((n, K)), np.empty(n)
    stats, ll = model.estep(data, p, resp=resp, logprob=logprob)

    assert ll == pytest.approx(np.sum(w * lse), rel=1e-12)
    np.testing.assert_allclose(logprob, lse, rtol=1e-12)
    np.testing.assert_allclose(resp, r, rtol=1e-11, atol=1e-300)
    # moments of every component about its own mean (the centre the E-step used)
    Xk = X[None] - p.means[:, None]  # (K, n, d)
    np.testing.assert_allclose(stats.N, rw.sum(0), rtol=1e-12)
    np.testing.assert_allclose(stats.S1, np.einsum("nk,kni->ki", rw, Xk), rtol=1e-10,
                               atol=1e-9 * n)
    if ct in ("full", "tied"):
        expect = np.einsum("nk,kni,knj->kij", rw, Xk, Xk)
    else:
        expect = np.einsum("nk,kni->ki", rw, Xk**2)
    np.testing.assert_allclose(stats.S2, expect, rtol=1e-10)
    np.testing.assert_array_equal(stats.centres, p.means)


def test_far_tail_rows_do_not_underflow():
    """A row far from every component still gets finite responsibilities."""
    p = gaussian.make_params([0.5, 0.5], [[0.0], [1.0]], [[1e-4], [1e-4]], "diag")
    model = gaussian.GaussianMixtureModel(2, "diag")
    X = np.array([[0.2], [1e4], [-1e4]])
    resp, logprob = np.empty((3, 2)), np.empty(3)
    model.estep(gaussian.prepare(X), p, resp=resp, logprob=logprob)
    assert np.all(np.isfinite(resp)) and np.allclose(resp.sum(1), 1.0)
    assert resp[1, 1] == 1.0 and resp[2, 0] == 1.0
    # log-density of 1e4 under N(1, 1e-4): computed in log space, not as log(0)
    expect = np.log(0.5) - 0.5 * np.log(2 * np.pi * 1e-4) - 0.5 * (1e4 - 1) ** 2 / 1e-4
    assert logprob[1] == pytest.approx(expect, rel=1e-12)


def test_vectorised_exp_is_accurate():
    """The kernel's exp against libm over the whole range it is used on."""
    x = np.concatenate([-np.geomspace(1e-12, 700, 20_000), [0.0]])
    p = gaussian.make_params([0.5, 0.5], [[0.0], [0.0]], [[1.0], [1.0]], "diag")
    # two equal components: r = exp(0)/2 exactly; a shifted weight tests exp itself
    for delta in x[::997]:
        weights = np.array([1.0, np.exp(delta)])
        p.weights = weights / weights.sum()
        resp = np.empty((1, 2))
        gaussian.GaussianMixtureModel(2, "diag").estep(
            gaussian.prepare(np.zeros((1, 1))), p, stats=False, resp=resp)
        assert resp[0, 1] == pytest.approx(p.weights[1], rel=4e-15, abs=1e-300)


def test_kernel_rejects_wrong_shapes():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"P must be \(2, 4\)"):
        _gaussian.estep(X, np.ones(5), np.zeros(2), "full", np.zeros((2, 2)), np.zeros((2, 2)),
                        np.zeros(2), "none")
    with pytest.raises(ValueError, match=r"S must be \(2, 6\)"):
        _gaussian.estep(X, np.ones(5), np.zeros(2), "full", np.zeros((2, 4)), np.zeros((2, 2)),
                        np.zeros(2), "full", np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"C must be \(2, 2\)"):
        _gaussian.estep(X, np.ones(5), np.zeros(2), "full", np.zeros((2, 4)), np.zeros((2, 2)),
                        np.zeros(2), "full", np.zeros((2, 6)), np.zeros((1, 2)))
