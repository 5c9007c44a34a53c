"""The truncated-normal kernel: moments in the far tails against mpmath,
derivatives against finite differences, and EM's monotonicity."""
import mpmath
import numpy as np
import pandas as pd
import patsy
import pytest
from hypothesis import given, settings, strategies as st

from emkit import engine
from emkit._tobit import interval_moments, tobit_pass
from emkit.censored_design import build_design
from emkit.tobit_fit import TobitEM, _check_design, _Kernel, _start

INF = float("inf")


def mp_moments(a, b):
    """(log P, E z, E z^2, 1 - Var z, Cov(z, z^2) - 2 E z, Var(z^2) - 2 E z^2), 400 digits
    (enough to resolve 1 - Var z ~ 1e-195 next to 1)."""
    mp = mpmath.mp
    mp.dps = 400
    A = mp.mpf(a) if np.isfinite(a) else (-mp.inf)
    B = mp.mpf(b) if np.isfinite(b) else mp.inf
    Z = mp.ncdf(B) - mp.ncdf(A) if a < 0 else mp.ncdf(-A) - mp.ncdf(-B)

    def tail(x, k):   # x^k phi(x), 0 at infinity
        return mp.mpf(0) if mp.isinf(x) else x ** k * mp.npdf(x)

    m1 = (tail(A, 0) - tail(B, 0)) / Z
    m2 = 1 + (tail(A, 1) - tail(B, 1)) / Z
    m3 = 2 * m1 + (tail(A, 2) - tail(B, 2)) / Z
    m4 = 3 * m2 + (tail(A, 3) - tail(B, 3)) / Z
    return [float(v) for v in (mp.log(Z), m1, m2, 1 - (m2 - m1 ** 2),
                                m3 - m1 * m2 - 2 * m1, m4 - m2 ** 2 - 2 * m2)]


ONE_SIDED = [-1e4, -300.0, -40.0, -38.0, -10.0, -5.000001, -4.999999, -2.0, 0.0, 1.5,
             4.999999, 5.000001, 8.0, 30.0, 40.0]


@pytest.mark.parametrize("b", ONE_SIDED)
def test_one_sided_moments_in_the_far_tails(b):
    """z <= b (left-censoring) and z >= -b (right-censoring): full precision
    with no cancellation, out to 10^4 standard deviations."""
    for a_, b_ in ((-INF, b), (-b, INF)):
        got = interval_moments(np.array([a_]), np.array([b_]))[:, 0]
        want = mp_moments(a_, b_)
        # log P: absolute error ~ eps * b^2 / 2 where P is near 1
        assert abs(got[0] - want[0]) <= 1e-14 * max(1.0, abs(want[0]), b * b)
        np.testing.assert_allclose(got[1:], want[1:], rtol=2e-13,
                                   atol=1e-300, err_msg=f"[{a_}, {b_}]")
        # 1 - Var z stays in [0, 1]: the variance never goes negative
        assert 0.0 <= got[3] <= 1.0


@pytest.mark.parametrize("a, b, rtol", [
    (-1.0, 2.0, 1e-13), (0.5, 0.6, 1e-12), (-3.0, -2.0, 1e-13), (2.0, 3.0, 1e-13),
    (-8.0, -7.0, 1e-12), (7.0, 9.0, 1e-12), (-40.0, 40.0, 1e-13), (-0.1, 1e-3, 1e-12),
])
def test_finite_interval_moments(a, b, rtol):
    got = interval_moments(np.array([a]), np.array([b]))[:, 0]
    want = mp_moments(a, b)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-13)


def test_finite_intervals_far_out_lose_digits_as_documented():
    """[40, 41]: raw moments cancel, about eps * 40^2 relative on 1 - Var z."""
    got = interval_moments(np.array([40.0]), np.array([41.0]))[:, 0]
    want = mp_moments(40.0, 41.0)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_far_tail_log_likelihood_of_a_row():
    X = np.ones((1, 1))
    for lim in (-40.0, -1e3):
        ll = tobit_pass(X, np.array([-INF]), np.array([lim]), None, None, np.ones(1),
                        np.zeros(1), 1.0, 0)
        mpmath.mp.dps = 50
        assert ll == pytest.approx(float(mpmath.log(mpmath.ncdf(lim))), rel=1e-14)


def mixed_design(truncation):
    rng = np.random.default_rng(11)
    n = 300
    x1, x2 = rng.standard_normal(n), rng.uniform(0, 2, n)
    y = 0.5 + x1 - 0.7 * x2 + 1.2 * rng.standard_normal(n)
    lo, hi = y.copy(), y.copy()
    kind = rng.integers(0, 4, n)
    lo[kind == 0] = -INF
    hi[kind == 0] = np.ceil(y[kind == 0])
    lo[kind == 1] = np.floor(y[kind == 1])
    hi[kind == 1] = INF
    lo[kind == 2] = np.floor(y[kind == 2])
    hi[kind == 2] = np.floor(y[kind == 2]) + 0.5 + (y[kind == 2] % 1 > 0.5) * 0.5
    df = pd.DataFrame({"x1": x1, "x2": x2, "lo": lo, "hi": hi})
    if truncation:
        df = df[(df.hi > -2.5) & (df.lo < 3.0)]
        df = df.assign(lo=np.maximum(df.lo, -2.5), hi=np.minimum(df.hi, 3.0))
    design = build_design("~ x1 + x2", df, left=None, right=INF, lower="lo", upper="hi",
                          truncation=(-2.5, 3.0) if truncation else None,
                          weights=np.random.default_rng(2).uniform(0.5, 2, len(df)),
                          missing="raise", eval_env=patsy.EvalEnvironment.capture(0))
    return design


@pytest.mark.parametrize("truncation", [False, True])
def test_gradient_and_hessian_against_finite_differences(truncation):
    design = mixed_design(truncation)
    kernel = _Kernel(design, 1)
    theta = np.array([0.3, 0.8, -0.5, np.log(1.4)])
    q = theta.size
    grad, hess = np.empty(q), np.empty((q, q))
    ll = kernel.run(theta, 4, grad, hess)
    assert ll == kernel.run(theta, 0)
    h = 1e-5
    num_grad = np.empty(q)
    num_hess = np.empty((q, q))
    for k in range(q):
        e = np.zeros(q)
        e[k] = h
        num_grad[k] = (kernel.run(theta + e, 0) - kernel.run(theta - e, 0)) / (2 * h)
        gp, gm = np.empty(q), np.empty(q)
        kernel.run(theta + e, 4, gp, np.empty((q, q)))
        kernel.run(theta - e, 4, gm, np.empty((q, q)))
        num_hess[:, k] = (gp - gm) / (2 * h)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess, num_hess, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(hess, hess.T)


def test_em_statistics_against_scipy_truncnorm():
    """The completed statistics, row by row, from scipy's truncated normal:
    E[y* - eta] and E[(y* - eta)^2] over the row's interval, plus, under
    truncation, 1/P - 1 never-sampled draws from outside the window."""
    from scipy import stats
    X = np.ones((4, 1))
    lo = np.array([-INF, 1.0, 0.5, 2.0])
    hi = np.array([0.0, INF, 1.5, 2.0])
    tlo = np.full(4, -1.0)
    thi = np.full(4, 4.0)
    w = np.array([1.0, 2.0, 0.5, 1.5])
    eta, s = 0.7, 1.3
    for trunc in (False, True):
        vec = np.empty(3)
        tobit_pass(X, np.maximum(lo, tlo) if trunc else lo, np.minimum(hi, thi) if trunc else hi,
                   tlo if trunc else None, thi if trunc else None, w, np.array([eta]), s, 1, vec)
        r1 = r2 = count = 0.0
        for i in range(4):
            a = (max(lo[i], tlo[i]) if trunc else lo[i]) - eta
            b = (min(hi[i], thi[i]) if trunc else hi[i]) - eta
            if a == b:
                m1, m2 = a, a * a
            else:
                d = stats.truncnorm(a / s, b / s, scale=s)
                m1, m2 = d.mean(), d.var() + d.mean() ** 2
            n_i = 1.0
            if trunc:
                P = stats.norm.cdf(thi[i], eta, s) - stats.norm.cdf(tlo[i], eta, s)
                out = 1 - P    # draws outside the window: their first two moments
                out_m1 = -stats.truncnorm((tlo[i] - eta) / s, (thi[i] - eta) / s,
                                          scale=s).mean() * P / out
                win = stats.truncnorm((tlo[i] - eta) / s, (thi[i] - eta) / s, scale=s)
                out_m2 = (s * s - P * (win.var() + win.mean() ** 2)) / out
                n_i = 1 / P
                m1 += (n_i - 1) * out_m1
                m2 += (n_i - 1) * out_m2
            r1 += w[i] * m1
            r2 += w[i] * m2
            count += w[i] * n_i
        np.testing.assert_allclose(vec, [r1, r2, count], rtol=1e-12)


def test_narrow_and_huge_intervals():
    for a, b in ((1.0, 1 + 1e-8), (1.0, 1 + 1e-11), (0.0, 1e-12), (-3.0, -3 + 1e-7)):
        got = interval_moments(np.array([a]), np.array([b]))[:, 0]
        np.testing.assert_allclose(got, mp_moments(a, b), rtol=1e-9, atol=1e-300)
    for far in (-1e103, -1e160, -1e300):
        got = interval_moments(np.array([far]), np.array([0.5]))[:, 0]
        np.testing.assert_allclose(got, interval_moments(np.array([-INF]),
                                                         np.array([0.5]))[:, 0], rtol=1e-14)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(15, 80), censor=st.floats(0.0, 0.9),
       truncate=st.booleans())
def test_em_never_decreases_the_log_likelihood(seed, n, censor, truncate):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = 1.0 + 2.0 * x + rng.standard_normal(n) * rng.uniform(0.3, 3)
    left = np.quantile(y, censor)
    df = pd.DataFrame({"x": x, "y": y})
    trunc = None
    if truncate:
        trunc = (float(np.min(y) - rng.uniform(0, 1)), None)
    if np.sum(y > left) < 3:
        return
    design = build_design("y ~ x", df, left=float(left), right=INF, lower=None, upper=None,
                          truncation=trunc, weights=None, missing="raise",
                          eval_env=patsy.EvalEnvironment.capture(0))
    kernel = _Kernel(design, 1)
    gram = _check_design(design, kernel)
    import scipy.linalg
    model = TobitEM(kernel, scipy.linalg.cho_factor(gram))
    theta0 = _start(design, gram)
    rules = engine.StoppingRules(rtol=0, max_iter=40)
    plain = engine.run_em(model, None, theta0, rules, warn=False)
    trace = plain.loglik_trace
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))
    fast = engine.run_squarem(model, None, theta0, rules, warn=False)
    assert np.all(np.diff(fast.loglik_trace) >= -1e-10 * (1 + np.abs(fast.loglik_trace[1:])))
    assert fast.loglik >= plain.loglik - 1e-8 * (1 + abs(plain.loglik))
