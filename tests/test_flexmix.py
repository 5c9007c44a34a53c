"""emkit.flexmix against R's flexmix (tests/reference/flexmix/, made by
make_reference.R there), and EM's guarantees.

flexmix's own EM stops short of the Gaussian maximum (its sigma is
df-corrected) and, for the GLMs, a little before convergence; the targets
are therefore the references' ``refit_tight`` (an optim of the full
likelihood to reltol 1e-15 from flexmix's solution, with its numerical
Hessian) and ``ml_loglik``.  Tolerances: log-likelihoods 1e-10 relative,
coefficients 1e-6, standard errors 1e-4 (optim's finite-difference Hessian
is good to about 1e-5), all far inside the issue's 1e-6 / 1e-3.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emkit
from emkit import engine

REF = Path(__file__).parent / "reference" / "flexmix"


def ref(name):
    return json.loads((REF / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def npreg():
    return pd.read_csv(REF / "npreg_exact.csv")


def _matched(res, reference):
    """Our component index for each reference (sorted) component, matched
    by the closest coefficients."""
    ours = res.coef.to_numpy().T
    theirs = np.array([[c[name] for name in list(c)[:ours.shape[1]]]
                       for c in reference["refit_tight"]["coef"]])
    order = [int(np.argmin(np.abs(ours - t).sum(axis=1))) for t in theirs]
    assert sorted(order) == list(range(res.k))
    return order


def _check_against_refit(res, reference, *, se_rtol=1e-4):
    tight = reference["refit_tight"]
    assert res.loglik == pytest.approx(tight["loglik"], rel=1e-10)
    assert res.df == reference["df"]
    order = _matched(res, reference)
    p = res.coef.shape[0]
    for j, k in enumerate(order):
        want = np.array(list(tight["coef"][j].values()))
        want_se = np.array(list(tight["se"][j].values()))
        np.testing.assert_allclose(res.coef.iloc[:, k], want[:p], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(res.bse.iloc[:, k], want_se[:p], rtol=se_rtol)
        if res.sigma is not None:
            assert np.log(res.sigma.iloc[k]) == pytest.approx(want[p], rel=1e-6)
            assert res.sigma_bse.iloc[k] / res.sigma.iloc[k] == pytest.approx(want_se[p],
                                                                              rel=se_rtol)
    # the whole covariance matrix, reordered to the reference's components
    per = p + (res.sigma is not None)
    perm = np.concatenate([np.arange(k * per, (k + 1) * per) for k in order])
    cov = res.cov_params().to_numpy()
    vref = np.array(tight["vcov"])
    n_beta = res.k * per
    np.testing.assert_allclose(cov[np.ix_(perm, perm)], vref[:n_beta, :n_beta],
                               rtol=5 * se_rtol, atol=5 * se_rtol * np.abs(vref).max())
    return order


def test_gaussian_npreg_reaches_the_maximum_likelihood(npreg):
    reference = ref("npreg_gaussian_k2")
    res = emkit.flexmix("yn ~ x + I(x**2)", npreg, k=2, n_init=10, random_state=0)
    assert res.loglik == pytest.approx(reference["ml_loglik"], rel=1e-12)
    assert res.loglik > reference["loglik"] + 0.013     # flexmix stops short of it
    _check_against_refit(res, reference)
    assert res.nobs == 200
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * 9, rel=1e-14)
    assert res.bic == pytest.approx(-2 * res.loglik + np.log(200) * 9, rel=1e-14)
    assert res.converged
    # the prior's logit and its SE (flexmix's "alpha")
    tight = reference["refit_tight"]
    alpha = res.concomitant_coef.iloc[0, 0]
    sign = 1 if _matched(res, reference)[0] == 0 else -1
    assert sign * alpha == pytest.approx(tight["concomitant_coef"][0]["alpha"], rel=1e-5)
    assert res.concomitant_bse.iloc[0, 0] == pytest.approx(
        tight["concomitant_se"][0]["alpha"], rel=1e-4)
    # ICL is BIC plus the classification entropy term
    post = res.posterior.to_numpy()
    assert res.icl == pytest.approx(res.bic - 2 * np.log(post.max(axis=1)).sum(), rel=1e-14)
    assert (res.cluster.to_numpy() - 1 == post.argmax(axis=1)).all()


def test_poisson_npreg_reaches_flexmixs_maximum(npreg):
    reference = ref("npreg_poisson_k2")
    res = emkit.flexmix("yp ~ x", npreg, k=2, family="poisson", n_init=10, random_state=0)
    assert res.loglik >= reference["loglik"]
    _check_against_refit(res, reference)
    # flexmix's best restart stops a little short; its EM run on to 1e-15 does not
    assert res.loglik == pytest.approx(reference["em_fixed_point"]["loglik"], rel=1e-12)
    assert res.icl == pytest.approx(reference["icl"], rel=1e-5)


def test_binomial_successes_and_failures(npreg):
    reference = ref("binomial_k2")
    data = pd.read_csv(REF / "binomial.csv")
    res = emkit.flexmix("succ + fail ~ x", data, k=2, family="binomial", n_init=10,
                        random_state=0)
    assert res.loglik >= reference["loglik"]
    _check_against_refit(res, reference)
    assert res.bic == pytest.approx(reference["bic"], rel=1e-9)
    assert res.icl == pytest.approx(reference["icl"], rel=1e-5)


def test_binomial_zero_one_response_equals_one_trial_counts():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(400)
    cls = rng.random(400) < 0.5
    y = (rng.random(400) < 1 / (1 + np.exp(-np.where(cls, 2 + 2 * x, -1 - x)))).astype(int)
    data = pd.DataFrame({"x": x, "y": y, "f": 1 - y})
    a = emkit.flexmix("y ~ x", data, k=2, family="binomial", random_state=1)
    b = emkit.flexmix("y + f ~ x", data, k=2, family="binomial", random_state=1)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)


def test_concomitant_multinomial_logit():
    reference = ref("concomitant_k2")
    data = pd.read_csv(REF / "concomitant.csv")
    res = emkit.flexmix("y ~ x", data, k=2, concomitant="~ z", n_init=10, random_state=0)
    assert res.loglik >= reference["loglik"]
    assert res.df == 8
    order = _check_against_refit(res, reference)
    tight = reference["refit_tight"]
    sign = 1 if order[0] == 0 else -1
    np.testing.assert_allclose(sign * res.concomitant_coef.iloc[:, 0],
                               list(tight["concomitant_coef"][0].values()), rtol=1e-6)
    np.testing.assert_allclose(res.concomitant_bse.iloc[:, 0],
                               list(tight["concomitant_se"][0].values()), rtol=1e-4)
    # the prior is the mean of the per-row multinomial probabilities
    assert res.prior.sum() == pytest.approx(1.0)
    assert res.weights is res.prior


def test_grouped_rows_share_a_component(npreg):
    reference = ref("grouped_k2")
    res = emkit.flexmix("yn ~ x + I(x**2)", npreg, k=2, groups="id2", n_init=10,
                        random_state=0)
    _check_against_refit(res, reference)
    assert res.nobs == 200          # BIC counts rows, as flexmix
    assert res.bic == pytest.approx(-2 * res.loglik + np.log(200) * 9, rel=1e-14)
    per_group = res.cluster.groupby(npreg["id2"]).nunique()
    assert (per_group == 1).all()
    post = res.posterior.groupby(npreg["id2"]).std().fillna(0).to_numpy()
    assert post.max() == 0.0


def test_stepflexmix_table(npreg):
    reference = ref("npreg_stepflexmix")
    with pytest.warns(UserWarning, match="minprior"):
        sweep = emkit.stepflexmix("yn ~ x + I(x**2)", npreg, k=range(1, 5), n_init=10,
                                  random_state=0, verbose=False)
    table = sweep.table
    assert list(table["k"]) == [1, 2, 3, 4]
    assert list(table["df"]) == [row["df"] for row in reference["table"]]
    # k = 1 is lm's ML fit; k = 2 the ML optimum; k >= 3 at least flexmix's best
    assert table["loglik"][0] == pytest.approx(reference["k1_lm_loglik"], rel=1e-12)
    assert table["loglik"][1] == pytest.approx(ref("npreg_gaussian_k2")["ml_loglik"],
                                               rel=1e-12)
    for i in (2, 3):
        assert table["loglik"][i] >= reference["table"][i]["loglik"] - 1e-9
    assert sweep.best("bic").k == reference["best_k_bic"] == 2
    assert sweep.best("icl").k == reference["best_k_icl"]
    text = repr(sweep)
    assert "Best by BIC: k = 2" in text and "ICL" in text
    assert sweep.models[4].small_components


def test_degenerate_k_gives_nan_row_with_reason():
    data = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.0, 2.5, 2.9, 4.2, 5.1, 5.8]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sweep = emkit.stepflexmix("y ~ x", data, k=[1, 3], n_init=3, random_state=0,
                                  verbose=False)
    row = sweep.table.set_index("k").loc[3]
    assert np.isnan(row["BIC"]) and isinstance(row["reason"], str) and row["reason"]
    assert sweep.best("bic").k == 1
    with pytest.raises(engine.DegenerateFitError, match="degenerated"):
        emkit.flexmix("y ~ x", data, k=3, n_init=3, random_state=0)


# ---- bad input ------------------------------------------------------------

@pytest.mark.parametrize("kwargs, err, match", [
    (dict(family="gamma"), ValueError, "unknown family"),
    (dict(k=0), ValueError, "k must be >= 1"),
    (dict(k=201), ValueError, "cannot be fitted to 200"),
    (dict(k=2.5), TypeError, "k must be an integer"),
    (dict(formula="yn ~ nothere"), ValueError, "nothere"),
    (dict(formula="yn ~ x", groups="nothere"), ValueError, "groups='nothere'"),
    (dict(formula="yn ~ x", weights="nothere"), ValueError, "nothere"),
    (dict(formula="yn ~ x", concomitant="yn ~ x"), ValueError, "one-sided"),
    (dict(formula="yn ~ x", concomitant="~ zz"), ValueError, "zz"),
    (dict(formula="yn ~ x", family="poisson"), ValueError, "negative"),
    (dict(formula="x ~ yn", family="poisson"), ValueError, "counts"),
    (dict(formula="yp ~ x", family="binomial"), ValueError, "0/1"),
    (dict(formula="yn + yp ~ x", family="binomial"), ValueError, "non-negative integers"),
    (dict(formula="yn + yp ~ x"), TypeError, "one numeric column"),
    (dict(formula="lab ~ x"), TypeError, "one numeric column"),
    (dict(n_init=0), ValueError, "n_init"),
    (dict(missing="ignore"), ValueError, "missing"),
])
def test_bad_input_is_named(npreg, kwargs, err, match):
    data = npreg.assign(lab=np.where(npreg["class"] == 1, "a", "b"))
    data.loc[3, "yn"] = -1.0
    args = dict(formula="yn ~ x + I(x**2)", k=2, n_init=1, random_state=0)
    args.update(kwargs)
    formula = args.pop("formula")
    with pytest.raises(err, match=match):
        emkit.flexmix(formula, data, **args)


def test_group_constant_checks(npreg):
    w = np.ones(200)
    w[0] = 2.0
    with pytest.raises(ValueError, match="constant within each group"):
        emkit.flexmix("yn ~ x", npreg, k=2, groups="id2", weights=w, n_init=1)
    with pytest.raises(ValueError, match="constant within each group"):
        emkit.flexmix("yn ~ x", npreg, k=2, groups="id2", concomitant="~ x", n_init=1)


def test_missing_rows_are_dropped_and_data_untouched(npreg):
    data = npreg.copy()
    data.loc[[4, 9], "x"] = np.nan
    before = data.copy()
    res = emkit.flexmix("yn ~ x + I(x**2)", data, k=2, n_init=3, random_state=0)
    pd.testing.assert_frame_equal(data, before)
    assert res.n_dropped == 2 and res.nobs == 198
    assert list(res.posterior.index) == [i for i in data.index if i not in (4, 9)]
    assert "2 dropped" in res.summary()
    with pytest.raises(ValueError, match="missing"):
        emkit.flexmix("yn ~ x + I(x**2)", data, k=2, missing="raise")


# ---- weights, offsets, prediction ------------------------------------------

def test_integer_weights_equal_repeated_rows(npreg):
    w = np.random.default_rng(0).integers(1, 4, len(npreg))
    weighted = emkit.flexmix("yp ~ x", npreg, k=2, family="poisson", weights=w, n_init=5,
                             random_state=0)
    repeated = emkit.flexmix("yp ~ x", npreg.loc[npreg.index.repeat(w)], k=2,
                             family="poisson", n_init=5, random_state=0)
    assert weighted.loglik == pytest.approx(repeated.loglik, rel=1e-10)
    # both converge to 1e-12 in the log-likelihood: about 1e-7 in the coefficients
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-6)
    np.testing.assert_allclose(weighted.bse, repeated.bse, rtol=1e-5)
    assert weighted.nobs == w.sum() == repeated.nobs


def test_offset_shifts_the_intercepts(npreg):
    plain = emkit.flexmix("yp ~ x", npreg, k=2, family="poisson", random_state=0)
    shifted = emkit.flexmix("yp ~ x", npreg, k=2, family="poisson", random_state=0,
                            offset=np.full(200, 0.7))
    assert shifted.loglik == pytest.approx(plain.loglik, rel=1e-11)
    np.testing.assert_allclose(shifted.coef.loc["Intercept"], plain.coef.loc["Intercept"] - 0.7,
                               rtol=1e-7)
    np.testing.assert_allclose(shifted.coef.loc["x"], plain.coef.loc["x"], rtol=1e-7)


def test_predict(npreg):
    res = emkit.flexmix("yp ~ x", npreg, k=2, family="poisson", random_state=0)
    fitted = res.predict()
    eta = np.column_stack([np.ones(200), npreg["x"]]) @ res.coef.to_numpy()
    np.testing.assert_allclose(fitted.to_numpy(), np.exp(eta), rtol=1e-13)
    new = pd.DataFrame({"x": [1.0, np.nan, 5.0]}, index=["a", "b", "c"])
    out = res.predict(new)
    assert list(out.index) == ["a", "b", "c"] and out.loc["b"].isna().all()
    mean = res.predict(new, aggregate=True)
    assert mean["a"] == pytest.approx(out.loc["a"] @ res.prior.to_numpy(), rel=1e-13)


def test_summary_reads_like_flexmix(npreg):
    res = emkit.flexmix("yn ~ x + I(x**2)", npreg, k=2, random_state=0)
    text = res.summary()
    for piece in ("prior", "post>0", "'log Lik.' -642.532 (df=9)", "$Comp.1", "Std. Error",
                  "Pr(>|z|)", "maximum-likelihood", "Louis"):
        assert piece in text
    assert res.coef_table(2).shape == (3, 4)
    sizes = res.component_sizes()
    assert sizes["size"].sum() == 200


# ---- EM's guarantees ------------------------------------------------------

def test_reproducible_and_thread_count_independent():
    rng = np.random.default_rng(11)
    n = 12000
    X = rng.standard_normal((n, 3))
    cls = rng.integers(0, 3, n)
    B = np.array([[1, 2, 0, -1], [4, -1, 1, 0], [-3, 0, 2, 2]], float)
    y = B[cls, 0] + (X * B[cls, 1:]).sum(axis=1) + rng.standard_normal(n)
    data = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    fits = [emkit.flexmix("y ~ a + b + c", data, k=3, n_init=2, random_state=5, n_threads=t)
            for t in (1, 2, 2)]
    for other in fits[1:]:
        assert other.loglik == fits[0].loglik
        np.testing.assert_array_equal(other.coef.to_numpy(), fits[0].coef.to_numpy())
        np.testing.assert_array_equal(other.posterior.to_numpy(), fits[0].posterior.to_numpy())
    # components come in increasing mean linear predictor
    level = fits[0].coef.to_numpy().T @ np.r_[1.0, X.mean(axis=0)]
    assert np.all(np.diff(level) > 0)


def test_component_order_does_not_depend_on_the_start(npreg):
    a = emkit.flexmix("yn ~ x + I(x**2)", npreg, k=2, n_init=3, random_state=1)
    b = emkit.flexmix("yn ~ x + I(x**2)", npreg, k=2, n_init=3, random_state=7)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-6)
