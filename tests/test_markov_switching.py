"""emkit.markov_switching against statsmodels 0.15's MarkovRegression and a
direct maximisation of the same likelihood (tests/reference/hmm/, made by
make_statsmodels_reference.py), plus EM's own guarantees."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emkit

REF = Path(__file__).parent / "reference" / "hmm"
RUNS = json.loads((REF / "statsmodels_runs.json").read_text())
MACRO = pd.read_csv(REF / "usmacro.csv")
GROWTH = pd.DataFrame({"growth": 100 * np.diff(np.log(MACRO["realgdp"]))})
SERIES = pd.read_csv(REF / "hmm_gauss2.csv")
CASES = {
    "gauss2_const": ("y ~ 1", SERIES, True),
    "gdp_growth": ("growth ~ 1", GROWTH, True),
    "gdp_growth_const_var": ("growth ~ 1", GROWTH, False),
    "infl_unemp": ("infl ~ unemp", MACRO, True),
}


@pytest.fixture(scope="module")
def fits():
    return {name: emkit.markov_switching(f, d, 2, switching_variance=sv, random_state=0)
            for name, (f, d, sv) in CASES.items()}


def _statsmodels_by_regime(run, values, data, formula, o=None):
    """statsmodels' parameter vector in emkit's regime order and names."""
    names = run["param_names"]
    v = dict(zip(names, values))
    K = 2
    if o is None:
        # statsmodels' regimes sorted by mean fitted value, as emkit orders them
        x = data[formula.split("~")[1].strip()].mean() if "unemp" in formula else 0.0
        slope = [v.get(f"x1[{k}]", 0.0) for k in range(K)]
        o = np.argsort([v[f"const[{k}]"] + slope[k] * x for k in range(K)])
    P = np.empty((K, K))      # row-stochastic, statsmodels' labels
    P[:, 0] = [v["p[0->0]"], v["p[1->0]"]]
    P[:, 1] = 1 - P[:, 0]
    P = P[np.ix_(o, o)]
    out = {"p[0->0]": P[0, 0], "p[1->0]": P[1, 0]}
    for k, src in enumerate(o):
        out[f"Intercept[{k}]"] = v[f"const[{src}]"]
        if "x1[0]" in v:
            out[f"unemp[{k}]"] = v[f"x1[{src}]"]
        if "sigma2" in v:
            out["sigma2"] = v["sigma2"]
        else:
            out[f"sigma2[{k}]"] = v[f"sigma2[{src}]"]
    return pd.Series(out), o


@pytest.mark.parametrize("name", list(CASES))
def test_matches_statsmodels_and_the_direct_maximum(fits, name):
    res, run = fits[name], RUNS[name]
    formula, data, _ = CASES[name]
    # the log-likelihood equals the direct maximisation's (statsmodels stops ~1e-8 short)
    assert res.llf == pytest.approx(run["direct_max_llf"], rel=1e-10)
    assert res.llf >= run["llf"] - 1e-9
    best, _ = _statsmodels_by_regime(run, run["direct_max_params"], data, formula)
    sm, order = _statsmodels_by_regime(run, run["params"], data, formula)
    params = res.params[sm.index]
    # the tolerance against statsmodels (whose optimum is ~2e-5 off the
    # maximum); tight against the maximum itself
    np.testing.assert_allclose(params, sm, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(params, best, rtol=2e-5, atol=1e-6)
    sm_bse, _ = _statsmodels_by_regime(run, run["bse"], data, formula, order)
    # p[1->0]'s SE in statsmodels' labels is another parameter's after relabelling
    common = [n for n in sm_bse.index if not n.startswith("p[")]
    np.testing.assert_allclose(res.bse[common], sm_bse[common], rtol=2e-3)
    assert res.nobs == run["nobs"]
    assert res.k_params == len(run["params"])
    assert res.aic == pytest.approx(-2 * run["direct_max_llf"] + 2 * res.k_params, rel=1e-10)
    assert res.bic == pytest.approx(
        -2 * run["direct_max_llf"] + res.k_params * np.log(res.nobs), rel=1e-10)
    for mine, theirs in ((res.smoothed_marginal_probabilities, "smoothed"),
                         (res.filtered_marginal_probabilities, "filtered"),
                         (res.predicted_marginal_probabilities, "predicted")):
        ref = np.asarray(run[theirs])[:, order]
        np.testing.assert_allclose(mine.to_numpy(), ref, atol=2e-4)
    np.testing.assert_allclose(res.expected_durations, 1 / (1 - np.diag(
        res.transition_matrix.to_numpy())))


def test_transition_standard_errors_match_statsmodels(fits):
    # regimes keep statsmodels' labels in these two cases, so p[i->0] compare directly
    for name in ("gauss2_const", "infl_unemp"):
        res, run = fits[name], RUNS[name]
        np.testing.assert_allclose(res.bse[["p[0->0]", "p[1->0]"]], run["bse"][:2], rtol=2e-3)


def test_standard_errors_equal_a_numerical_hessian_of_the_loglik(fits):
    res = fits["infl_unemp"]
    theta = res.params.to_numpy()

    def llf(t):
        return res.model.smooth(res._from_natural(t))[0]

    m = theta.size
    H = np.empty((m, m))
    h = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    for i in range(m):
        for j in range(m):
            ei, ej = np.eye(m)[i] * h[i], np.eye(m)[j] * h[j]
            H[i, j] = (llf(theta + ei + ej) - llf(theta + ei - ej) - llf(theta - ei + ej)
                       + llf(theta - ei - ej)) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    np.testing.assert_allclose(res.bse.to_numpy(), se, rtol=1e-3)
    # and the exact score vanishes at the estimate
    assert np.max(np.abs(res.score() * np.maximum(np.abs(theta), 1e-2))) < 1e-3


def test_summary_has_statsmodels_layout(fits):
    text = str(fits["gauss2_const"].summary())
    assert "Markov Switching Model Results" in text
    assert "Regime 0 parameters" in text and "Regime transition parameters" in text
    assert "coef    std err          z      P>|z|      [0.025      0.975]" in text
    assert "-1430.437" in text
    text = str(fits["gdp_growth_const_var"].summary())
    assert "Non-switching parameters" in text


def test_probabilities_are_indexed_like_the_data():
    macro = emkit.datasets.load_usmacro()
    res = emkit.markov_switching("growth ~ 1", macro, 2, random_state=0)
    assert res.n_dropped == 1  # the first quarter has no growth rate
    assert res.smoothed_marginal_probabilities.index.equals(macro.index[1:])
    np.testing.assert_allclose(res.smoothed_marginal_probabilities.sum(axis=1), 1.0)
    assert res.llf == pytest.approx(RUNS["gdp_growth"]["direct_max_llf"], rel=1e-10)


def test_estimated_initial_regime_is_hmmlearns_model():
    # hmm_ref.out: hmmlearn's GaussianHMM, covars_prior=0, estimates startprob
    res = emkit.markov_switching("y ~ 1", SERIES, 2, initial="estimated", random_state=0)
    assert res.llf == pytest.approx(-1429.548187673239, rel=1e-9)
    np.testing.assert_allclose(res.initial_probabilities, [0.0, 1.0], atol=1e-6)
    fixed = emkit.markov_switching("y ~ 1", SERIES, 2, initial=[0.5, 0.5], random_state=0)
    assert fixed.llf <= res.llf + 1e-9


def test_plain_em_never_lowers_the_loglik_and_is_reproducible():
    a = emkit.markov_switching("infl ~ unemp", MACRO, 2, accelerate=False, n_init=2,
                               random_state=3, max_iter=300, tol=1e-9)
    trace = a.loglik_trace
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))
    b = emkit.markov_switching("infl ~ unemp", MACRO, 2, accelerate=False, n_init=2,
                               random_state=3, max_iter=300, tol=1e-9)
    pd.testing.assert_series_equal(a.params, b.params)


def test_three_regimes_run_and_order_by_fitted_mean():
    # a third regime in a two-regime series: EM crawls, so a loose stop here
    with pytest.warns(emkit.ConvergenceWarning):
        res = emkit.markov_switching("y ~ 1", SERIES, 3, n_init=2, random_state=0,
                                     max_iter=40, tol=1e-14)
    assert np.all(np.diff(res.regime_params.loc["Intercept"]) > 0)
    np.testing.assert_allclose(res.transition_matrix.sum(axis=1), 1.0)
    assert res.k_params == 6 + 3 + 3
    assert np.all(np.isfinite(res.bse))


def test_bad_input_names_the_problem():
    gap = SERIES.copy()
    gap.loc[10, "y"] = np.nan
    before = gap.copy()
    with pytest.raises(ValueError, match="missing values inside"):
        emkit.markov_switching("y ~ 1", gap, 2)
    pd.testing.assert_frame_equal(gap, before)
    with pytest.raises(ValueError, match="k_regimes"):
        emkit.markov_switching("y ~ 1", SERIES, 1)
    with pytest.raises(ValueError, match="initial"):
        emkit.markov_switching("y ~ 1", SERIES, 2, initial="ergodic")
    with pytest.raises(ValueError, match="initial"):
        emkit.markov_switching("y ~ 1", SERIES, 2, initial=[0.5, 0.6])
    with pytest.raises(TypeError, match="DataFrame"):
        emkit.markov_switching("y ~ 1", SERIES["y"].to_numpy(), 2)
    with pytest.raises(Exception, match="nosuch"):
        emkit.markov_switching("y ~ nosuch", SERIES, 2)
    with pytest.raises(ValueError, match="too few"):
        emkit.markov_switching("y ~ 1", SERIES.iloc[:5], 2)
    with pytest.raises(TypeError, match="switching_variance"):
        emkit.markov_switching("y ~ 1", SERIES, 2, switching_variance="yes")
