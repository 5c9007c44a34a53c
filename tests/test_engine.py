"""The EM engine: stopping rules, trace, monotonicity check, restarts, weights."""
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import emkit
from emkit import gaussian
from emkit.engine import (ConvergenceWarning, DegenerateFitError, LikelihoodDecreaseWarning,
                          StoppingRules, run_em, run_em_restarts)
from conftest import blobs


def gmm_setup(ct="full", K=3, seed=0, n=400):
    X = blobs(n=n, d=2, K=K, seed=seed)
    model = gaussian.GaussianMixtureModel(K, ct)
    data = gaussian.prepare(X)
    rng = np.random.default_rng(seed)

    def init(rng):
        resp = rng.dirichlet(np.ones(K), size=len(X))
        return model.mstep(gaussian.stats_from_resp(data, resp, ct))

    return model, data, init, rng


def test_tol_zero_runs_exactly_max_iter():
    model, data, init, rng = gmm_setup()
    with pytest.warns(ConvergenceWarning, match="did not converge in 17"):
        res = run_em(model, data, init(rng), StoppingRules(rtol=0, max_iter=17))
    assert res.n_iter == 17 and not res.converged and res.stop_reason == "max_iter"
    assert len(res.loglik_trace) == 18
    assert res.loglik == res.loglik_trace[-1]


@pytest.mark.parametrize("rule, kwargs", [("rtol", dict(rtol=1e-6)),
                                          ("atol", dict(rtol=0, atol=1e-6)),
                                          ("ptol", dict(rtol=0, ptol=1e-6))])
def test_each_rule_stops_and_is_recorded(rule, kwargs):
    model, data, init, rng = gmm_setup()
    res = run_em(model, data, init(rng), StoppingRules(max_iter=5000, **kwargs))
    assert res.converged and res.stop_reason == rule
    change = abs(res.loglik_trace[-1] - res.loglik_trace[-2])
    if rule == "rtol":
        assert change / (1 + abs(res.loglik)) <= 1e-6
    elif rule == "atol":
        assert change <= 1e-6
    # every earlier step was still moving by more than the tolerance
    assert res.n_iter < 5000


def test_result_ends_on_the_params_it_reports():
    model, data, init, rng = gmm_setup()
    res = run_em(model, data, init(rng), StoppingRules(rtol=1e-8, max_iter=1000))
    _, ll = model.estep(data, res.params)
    assert ll == res.loglik


def test_final_mstep_takes_one_more_step():
    model, data, init, rng = gmm_setup()
    p0 = init(rng)
    a = run_em(model, data, p0, StoppingRules(rtol=1e-4))
    b = run_em(model, data, p0, StoppingRules(rtol=1e-4), final_mstep=True)
    assert b.n_iter == a.n_iter + 1
    np.testing.assert_array_equal(b.loglik_trace[:-1], a.loglik_trace)
    np.testing.assert_array_equal(b.params.means, model.mstep(a.stats).means)


def test_trace_is_monotone_and_decreases_are_reported():
    model, data, init, rng = gmm_setup()
    res = run_em(model, data, init(rng), StoppingRules(rtol=0, max_iter=60), warn=False)
    assert np.all(np.diff(res.loglik_trace) >= -1e-10 * (1 + np.abs(res.loglik_trace[1:])))
    assert res.decreases == []

    @dataclass
    class Downhill:
        """A broken 'M-step' that makes things worse each time."""
        def estep(self, data, params):
            return params, -float(params)

        def mstep(self, stats):
            return stats + 1.0

        def param_vector(self, params):
            return np.atleast_1d(params)

    with pytest.warns(LikelihoodDecreaseWarning, match="decreased 5 time"):
        bad = run_em(Downhill(), None, 0.0, StoppingRules(rtol=0, max_iter=5))
    assert [it for it, _ in bad.decreases] == [1, 2, 3, 4, 5]


def test_nan_likelihood_is_an_error():
    class Broken:
        def estep(self, data, params):
            return params, np.nan

    with pytest.raises(DegenerateFitError, match="log-likelihood is nan"):
        run_em(Broken(), None, 0.0)


def test_restarts_keep_the_best_and_are_reproducible():
    model, data, init, _ = gmm_setup(K=4, seed=5)
    rules = StoppingRules(rtol=1e-8, max_iter=500)
    singles = [run_em(model, data, init(np.random.default_rng(s)), rules, warn=False).loglik
               for s in range(3)]
    best = run_em_restarts(model, data, init, 8, random_state=42, rules=rules, warn=False)
    again = run_em_restarts(model, data, init, 8, random_state=42, rules=rules, warn=False)
    assert best.loglik >= max(singles) - 1e-6 * abs(best.loglik)
    assert best.loglik == again.loglik
    np.testing.assert_array_equal(best.params.means, again.params.means)


def test_restarts_skip_degenerate_starts():
    model, data, init, _ = gmm_setup()
    calls = []

    def flaky(rng):
        calls.append(1)
        if len(calls) == 1:
            p = init(rng)
            p.covariances[0] = 0.0  # a singular start: the E-step cannot use it
            p.precisions_cholesky[0] = np.nan
            return p
        if len(calls) == 2:  # a start that fails while it is being drawn
            return gaussian.make_params([0.5, 0.5], np.zeros((2, 2)), np.zeros((2, 2, 2)), "full")
        return init(rng)

    with pytest.warns(UserWarning, match="2 of 3 starts degenerated"):
        res = run_em_restarts(model, data, flaky, 3, random_state=0, warn=False)
    assert np.isfinite(res.loglik)


@pytest.mark.parametrize("bad", [dict(rtol=-1), dict(atol=np.nan), dict(max_iter=0),
                                 dict(max_iter=2.5)])
def test_stopping_rules_validate(bad):
    with pytest.raises(ValueError):
        StoppingRules(**bad)


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_integer_weights_equal_repeated_rows(ct):
    X = blobs(n=200, d=3, K=2, seed=2)
    w = np.random.default_rng(0).integers(0, 4, size=len(X))
    kw = dict(covariance_type=ct, tol=0, max_iter=20, random_state=0, init_params="random")
    inits = emkit.GaussianMixture(2, covariance_type=ct, max_iter=1, tol=0,
                                  random_state=0).fit(X)
    start = dict(weights_init=inits.weights_, means_init=inits.means_,
                 precisions_init=inits.precisions_)
    kw.update(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = emkit.GaussianMixture(2, **kw).fit(X, sample_weight=w)
        repeated = emkit.GaussianMixture(2, **kw).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-10)
    assert weighted.loglik_ == pytest.approx(repeated.loglik_, rel=1e-12)


@pytest.mark.parametrize("init", ["kmeans", "random_from_data"])
def test_zero_weight_rows_are_absent(init):
    """Rows of weight 0 change nothing, even absurd ones (they are dropped)."""
    X = blobs(n=300, d=2, K=3, seed=8)
    outliers = np.array([[1e200, 1e200], [1e6, -1e6], [-1e6, 1e6]])
    w = np.r_[np.ones(len(X)), np.zeros(3)]
    kw = dict(init_params=init, n_init=2, random_state=0)
    with_zeros = emkit.GaussianMixture(3, **kw).fit(np.vstack([X, outliers]), sample_weight=w)
    without = emkit.GaussianMixture(3, **kw).fit(X)
    np.testing.assert_array_equal(with_zeros.means_, without.means_)
    assert with_zeros.loglik_ == without.loglik_
