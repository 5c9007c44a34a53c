"""The mixture-of-regressions kernel against plain numpy, the observed
information against finite differences, and EM's monotonicity."""
import numpy as np
import pandas as pd
import patsy
import pytest
from hypothesis import HealthCheck, given, settings, strategies as hs
from scipy.special import gammaln, logsumexp

from emkit import engine
from emkit._regmix import FAMILIES, n_outputs, regmix_pass
from emkit.regmix_design import build_design
from emkit.regmix_fit import RegmixEM, RegmixParams
from emkit.regmix_information import observed_information


def _problem(family, n=5000, p=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(np.column_stack([np.ones(n), rng.standard_normal((n, p - 1))]))
    beta = 0.3 * rng.standard_normal((K, p))
    sigma = rng.uniform(0.5, 2.0, K)
    off = 0.1 * rng.standard_normal(n)
    w = rng.uniform(0.2, 3.0, n)
    lp = np.log(rng.dirichlet(np.ones(K), n))
    trials = yconst = None
    if family == "gaussian":
        y = rng.standard_normal(n) * 2
    elif family == "poisson":
        y = rng.poisson(2.0, n).astype(float)
        yconst = -gammaln(y + 1)
    else:
        trials = rng.integers(1, 8, n).astype(float)
        y = rng.binomial(trials.astype(int), 0.4).astype(float)
        yconst = gammaln(trials + 1) - gammaln(y + 1) - gammaln(trials - y + 1)
    return X, y, trials, yconst, off, w, lp, beta, sigma


def _numpy_pieces(family, X, y, trials, yconst, off, beta, sigma):
    eta = X @ beta.T + off[:, None]
    if family == "gaussian":
        r = y[:, None] - eta
        return -0.5 * (r / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), r, \
            np.ones_like(eta), r ** 2
    if family == "poisson":
        mu = np.exp(eta)
        return y[:, None] * eta - mu + yconst[:, None], y[:, None] - mu, mu, 0 * mu
    pr = 1 / (1 + np.exp(-eta))
    m = trials[:, None]
    return (y[:, None] * eta - m * np.logaddexp(0, eta) + yconst[:, None],
            y[:, None] - m * pr, m * pr * (1 - pr), 0 * pr)


@pytest.mark.parametrize("family", ["gaussian", "poisson", "binomial"])
def test_kernel_matches_numpy(family):
    X, y, trials, yconst, off, w, lp, beta, sigma = _problem(family)
    n, p = X.shape
    K = beta.shape[0]
    lf, s, v, r2 = _numpy_pieces(family, X, y, trials, yconst, off, beta, sigma)
    joint = lf + lp
    tau = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    post = np.empty((n, K))
    out = np.empty(n_outputs(K, p))
    ll = regmix_pass(X, y, trials, yconst, off, w, lp, beta, sigma, FAMILIES[family], 0,
                     post, out)
    assert ll == pytest.approx(w @ logsumexp(joint, axis=1), rel=1e-13)
    np.testing.assert_allclose(post, tau, rtol=1e-12, atol=1e-15)

    def check(out, tau):
        c = w[:, None] * tau
        comp = out[3 * K:].reshape(K, p + p * p)
        np.testing.assert_allclose(out[:K], c.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(out[K:2 * K], (c * lf).sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(out[2 * K:3 * K], (c * r2).sum(axis=0), rtol=1e-12)
        for k in range(K):
            np.testing.assert_allclose(comp[k, :p], X.T @ (c[:, k] * s[:, k]), rtol=1e-10,
                                       atol=1e-10 * np.abs(X.T @ np.abs(c[:, k] * s[:, k])).max())
            H = (X * (c[:, k] * v[:, k])[:, None]).T @ X
            np.testing.assert_allclose(comp[k, p:].reshape(p, p), H, rtol=1e-12,
                                       atol=1e-13 * np.abs(H).max())

    check(out, tau)
    # statistics with given posteriors, and the log-densities alone
    given_post = np.random.default_rng(1).dirichlet(np.ones(K), n)
    q = regmix_pass(X, y, trials, yconst, off, w, lp, beta, sigma, FAMILIES[family], 1,
                    given_post, out)
    check(out, given_post)
    assert q == pytest.approx((w[:, None] * given_post * lf).sum(), rel=1e-12)
    dens = np.empty((n, K))
    regmix_pass(X, y, trials, yconst, off, w, lp, beta, sigma, FAMILIES[family], 2, dens, out)
    np.testing.assert_allclose(dens, lf, rtol=1e-13, atol=1e-13)


def test_kernel_thread_count_does_not_change_results():
    X, y, trials, yconst, off, w, lp, beta, sigma = _problem("binomial", n=20000)
    K, p = beta.shape
    res = []
    for threads in (1, 2, 3):
        post = np.empty((X.shape[0], K))
        out = np.empty(n_outputs(K, p))
        ll = regmix_pass(X, y, trials, yconst, off, w, lp, beta, sigma, 2, 0, post, out,
                         threads)
        res.append((ll, out, post))
    for ll, out, post in res[1:]:
        assert ll == res[0][0]
        np.testing.assert_array_equal(out, res[0][1])
        np.testing.assert_array_equal(post, res[0][2])


def _model(family, data, formula, K, **kw):
    design = build_design(formula, data, family=family, weights=kw.get("weights"),
                          offset=None, groups=kw.get("groups"),
                          concomitant=kw.get("concomitant"), missing="drop",
                          eval_env=patsy.EvalEnvironment.capture(0))
    return RegmixEM(design, K)


def _loglik_in_information_order(model, theta):
    """The log-likelihood with parameters ordered as observed_information's."""
    K, p, q = model.K, model.p, model.q
    per = p + model.gaussian
    beta = np.array([theta[k * per:k * per + p] for k in range(K)])
    sigma = np.array([np.exp(theta[k * per + p]) for k in range(K)]) if model.gaussian \
        else np.ones(K)
    gamma = np.zeros((q, K))
    gamma[:, 1:] = theta[K * per:].reshape(K - 1, q).T
    return model.estep(None, RegmixParams(beta, sigma, gamma))[1]


@pytest.mark.parametrize("family, concomitant, groups", [
    ("gaussian", "~ z", None), ("poisson", None, "g"), ("binomial", "~ z", "g")])
def test_observed_information_is_the_hessian(family, concomitant, groups):
    """Louis' identity against central differences of the log-likelihood, at
    an arbitrary point (the identity holds everywhere, not only at the maximum)."""
    rng = np.random.default_rng(4)
    n = 300
    g = np.repeat(np.arange(60), 5)
    z = rng.standard_normal(60)[g]
    x = rng.standard_normal(n)
    y = {"gaussian": rng.standard_normal(n) + x, "poisson": rng.poisson(2.0, n) * 1.0,
         "binomial": (rng.random(n) < 0.4) * 1.0}[family]
    data = pd.DataFrame({"x": x, "y": y, "z": z, "g": g})
    model = _model(family, data, "y ~ x", 2, concomitant=concomitant, groups=groups)
    theta = np.array([0.2, 0.5] + ([0.1] if model.gaussian else []) + [-0.3, 0.2]
                     + ([0.3] if model.gaussian else []) + [0.4] + ([-0.5] if concomitant
                                                                      else []))
    K, p, q = 2, 2, model.q
    per = p + model.gaussian
    beta = np.array([theta[k * per:k * per + p] for k in range(K)])
    sigma = np.exp([theta[k * per + p] for k in range(K)]) if model.gaussian else np.ones(K)
    gamma = np.zeros((q, K))
    gamma[:, 1:] = theta[K * per:].reshape(K - 1, q).T
    params = RegmixParams(beta, sigma, gamma)
    stats, _ = model.estep(None, params)
    unit_post = stats.unit_post if stats.unit_post is not None else \
        model.posteriors(params)[1]
    J = observed_information(model, params, unit_post)
    h = 1e-4
    P = len(theta)
    num = np.empty((P, P))
    for i in range(P):
        for j in range(P):
            def f(a, b):
                t = theta.copy()
                t[i] += a
                t[j] += b
                return _loglik_in_information_order(model, t)
            num[i, j] = -(f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)
    np.testing.assert_allclose(J, num, rtol=1e-5, atol=1e-5 * np.abs(num).max())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family=hs.sampled_from(["gaussian", "poisson", "binomial"]), K=hs.integers(2, 3),
       seed=hs.integers(0, 10_000), concomitant=hs.booleans())
def test_em_never_decreases_the_loglikelihood(family, K, seed, concomitant):
    rng = np.random.default_rng(seed)
    n = 150
    x = rng.standard_normal(n)
    cls = rng.integers(0, 2, n)
    eta = np.where(cls == 1, 1.0 + x, -0.5 * x)
    y = {"gaussian": eta + rng.standard_normal(n),
         "poisson": rng.poisson(np.exp(eta)) * 1.0,
         "binomial": (rng.random(n) < 1 / (1 + np.exp(-2 * eta))) * 1.0}[family]
    data = pd.DataFrame({"x": x, "y": y, "z": rng.standard_normal(n)})
    model = _model(family, data, "y ~ x", K, concomitant="~ z" if concomitant else None)
    try:
        start = model.from_partition(rng.integers(0, K, n))
        res = engine.run_em(model, None, start, engine.StoppingRules(rtol=0, max_iter=30),
                            warn=False)
    except engine.DegenerateFitError:
        return
    steps = np.diff(res.loglik_trace)
    assert np.all(steps >= -1e-10 * (1 + np.abs(res.loglik_trace[1:])))
    assert not res.decreases
