"""emkit's hidden Markov models against hmmlearn 0.3.3 (stored runs in
tests/reference/hmm/, made by make_hmmlearn_reference.py and hmm_ref.py
there; hmmlearn itself is never imported), and the guarantees emkit adds:
monotone EM, reproducibility whatever the threads, long sequences, clear
errors for bad input, sampling and the estimator API.

Tolerances: hmmlearn's 15-iteration runs are matched to 1e-8 relative (they
agree to about 1e-12), with an absolute floor for probabilities that are ~0;
values printed with 10 decimals in hmm_ref.out are matched to 1e-10.
"""
import functools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import emkit
from emkit import ConvergenceWarning, GaussianHMM, GMMHMM, CategoricalHMM, PoissonHMM
from emkit._estimator import NotFittedError
from emkit.engine import DegenerateFitError

REF = Path(__file__).parent / "reference" / "hmm"
RUNS = json.loads((REF / "hmmlearn_runs.json").read_text())
FIT_CASES = [name for name, run in RUNS.items() if "history" in run]
GMM_CASES = [name for name, run in RUNS.items() if run["class"] == "GMMHMM"]
COVARIANCE_TYPES = ["spherical", "diag", "full", "tied"]
RTOL = 1e-8
PROB_ATOL = 1e-12


def _quiet_fit(model, X, lengths=None):
    """fit, without the ConvergenceWarning that tol=-inf runs always give."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, lengths)


@functools.lru_cache(maxsize=None)
def _case_data(name):
    run = RUNS[name]
    df = pd.read_csv(REF / run["data_file"])
    X = df[[c for c in df.columns if c.startswith("x")]].to_numpy()
    lengths = np.bincount(df["seq"].to_numpy())
    assert lengths.tolist() == run["lengths"]
    X.flags.writeable = False
    return X, lengths


def _set(model, values):
    for key, value in values.items():
        setattr(model, key, np.array(value, dtype=float))
    return model


def _reference_model(name, **overrides):
    run = RUNS[name]
    cls = getattr(emkit, run["class"])
    kwargs = {**run["kwargs"], "n_iter": run["n_iter"], "tol": -np.inf, "init_params": "",
              **overrides}
    return _set(cls(**kwargs), run["init"])


@functools.lru_cache(maxsize=None)
def _fitted(name):
    X, lengths = _case_data(name)
    model = _reference_model(name)
    score_init = model.score(X, lengths)
    _quiet_fit(model, X, lengths)
    return model, score_init


# --------------------------------------------------------------------------
# hmmlearn's runs
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in FIT_CASES if n != "poisson_priors"])
def test_fit_matches_hmmlearn(name):
    run = RUNS[name]
    X, lengths = _case_data(name)
    model, score_init = _fitted(name)
    fitted = run["fitted"]
    close = functools.partial(np.testing.assert_allclose, rtol=RTOL)

    assert model.monitor_.iter == run["n_iter"] == run["monitor_iter"]
    assert len(model.monitor_.history) == run["n_iter"]
    close(list(model.monitor_.history), run["history"])
    close(score_init, run["score_init"])
    close(model.score(X, lengths), run["score"])
    # emkit's extra: the log-likelihood at the fitted parameters
    close(model.monitor_.loglik, run["score"])

    close(model.startprob_, fitted["startprob_"], atol=PROB_ATOL)
    close(model.transmat_, fitted["transmat_"], atol=PROB_ATOL)
    if run["class"] == "GaussianHMM":
        close(model.means_, fitted["means_"], atol=1e-12)
        d = run["n_features"]
        assert model.covars_.shape == (model.n_components, d, d)
        if model.covariance_type == "spherical":
            # hmmlearn's covars_ property is broken for spherical: (K*d, d, d)
            close(model._covars_, fitted["covars_"])
            close(np.diagonal(model.covars_, axis1=1, axis2=2),
                  np.repeat(np.array(fitted["covars_"])[:, None], run["n_features"], 1))
        else:
            close(model.covars_, fitted["covars_full"], atol=1e-14)
            close(model._covars_, fitted["covars_"], atol=1e-14)
    elif run["class"] == "PoissonHMM":
        close(model.lambdas_, fitted["lambdas_"])
    else:
        close(model.emissionprob_, fitted["emissionprob_"], atol=PROB_ATOL)

    logprob, path = model.decode(X, lengths, algorithm="viterbi")
    assert path.tolist() == run["viterbi_path"]
    close(logprob, run["viterbi_logprob"])
    close(model.aic(X, lengths), run["aic"])
    close(model.bic(X, lengths), run["bic"])

    post = model.predict_proba(X, lengths)
    close(post[:20], run["posteriors_head"], atol=PROB_ATOL)
    close(post.sum(0), run["posteriors_colsum"])
    # MAP decoding: same path; hmmlearn's "log_prob" is the sum of the max
    # posteriors, emkit's the sum of their logs
    map_logprob, map_path = model.decode(X, lengths, algorithm="map")
    assert map_path.tolist() == run["map_path"]
    close(post.max(1).sum(), run["map_logprob"])
    close(map_logprob, np.log(post.max(1)).sum(), rtol=1e-12)

    if name == "gauss_diag_zeros":
        A0 = np.array(run["init"]["transmat_"])
        assert np.all(model.transmat_[A0 == 0] == 0.0)
        assert np.all(model.transmat_[A0 > 0] > 0.0)
        assert np.all(model.startprob_ == np.array([1.0, 0.0, 0.0]))


def test_poisson_prior_update_is_the_posterior_mean():
    """emkit's Poisson prior update divides by each state's own expected count
    n_k (hmmlearn's by the total n): one step against the closed form."""
    name = "poisson_priors"
    run = RUNS[name]
    X, lengths = _case_data(name)
    prior, weight = run["kwargs"]["lambdas_prior"], run["kwargs"]["lambdas_weight"]
    assert prior > 0 and weight > 0
    gamma = _reference_model(name).predict_proba(X, lengths)
    model = _quiet_fit(_reference_model(name, n_iter=1), X, lengths)
    n_k = gamma.sum(0)
    expected = (prior + gamma.T @ X) / (weight + n_k[:, None])
    np.testing.assert_allclose(model.lambdas_, expected, rtol=1e-12)
    # hmmlearn's update (total n for n_k) gives something else here
    hmmlearn_like = (prior + gamma.T @ X) / (weight + n_k.sum())
    assert not np.allclose(model.lambdas_, hmmlearn_like, rtol=1e-3)
    # the start and its log-likelihood are hmmlearn's
    np.testing.assert_allclose(list(model.monitor_.history), run["history"][:1], rtol=RTOL)
    # the rest of the M-step is the ordinary one
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    np.testing.assert_allclose(model.startprob_, gamma[starts].sum(0) / len(lengths),
                               rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------
# hmm_ref.out: the shared 2-state series
# --------------------------------------------------------------------------
def _numbers(text):
    return np.array([float(v) for v in re.findall(r"[-+]?\d+\.\d*(?:e[-+]?\d+)?", text)])


@functools.lru_cache(maxsize=None)
def _hmm_ref_out():
    """hmm_ref.out's sections: {title: {"startprob", "transmat", ...}}."""
    text = (REF / "hmm_ref.out").read_text()
    parts = re.split(r"^--- (.*) ---$", text, flags=re.M)
    sections = {"random start": parts[0]}
    sections.update(zip(parts[1::2], parts[2::2]))
    out = {}
    for title, body in sections.items():
        if "score(loglik)" not in body:
            continue
        between = lambda a, b: body.split(a, 1)[1].split(b, 1)[0]  # noqa: E731
        rec = {"startprob": _numbers(between("startprob", "\n")),
               "transmat": _numbers(between("transmat", "means")).reshape(2, 2),
               "means": _numbers(between("means", "\n")),
               "vars": _numbers(between("vars", "\n")),
               "score": float(between("score(loglik)", "\n")),
               "n_iter": int(between("n_iter", "\n"))}
        if "loglik at true params" in body:
            rec["loglik_true"] = float(between("loglik at true params", "\n"))
            rec["viterbi_logprob"] = float(between("viterbi logprob", "accuracy"))
            rec["accuracy"] = float(between("accuracy vs truth", "\n"))
        out[title] = rec
    return out


@pytest.fixture(scope="module")
def gauss2():
    df = pd.read_csv(REF / "hmm_gauss2.csv")
    return df[["y"]].to_numpy(), df["state"].to_numpy()


def _gauss2_truth(**kwargs):
    model = GaussianHMM(2, covariance_type="diag", init_params="", **kwargs)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.95, 0.05], [0.10, 0.90]])
    model.means_ = np.array([[0.0], [3.0]])
    model.covars_ = np.array([[1.0], [0.25]])
    return model


def _check_printed(model, rec, X):
    atol = 1e-10  # printed with 10 decimals
    np.testing.assert_allclose(model.startprob_, rec["startprob"], rtol=0, atol=atol)
    np.testing.assert_allclose(model.transmat_, rec["transmat"], rtol=0, atol=atol)
    np.testing.assert_allclose(model.means_.ravel(), rec["means"], rtol=0, atol=atol)
    np.testing.assert_allclose(model.covars_.ravel(), rec["vars"], rtol=0, atol=atol)
    assert model.score(X) == pytest.approx(rec["score"], rel=1e-12)


def test_gauss2_mle_from_truth(gauss2):
    X, _ = gauss2
    rec = _hmm_ref_out()["started at truth, covars_prior=0 (pure MLE), implementation='scaling'"]
    model = _gauss2_truth(covars_prior=0.0, n_iter=1000, tol=1e-10).fit(X)
    assert model.monitor_.converged and model.monitor_.stop_reason == "atol"
    assert model.monitor_.iter == rec["n_iter"] == 14
    _check_printed(model, rec, X)


def test_gauss2_default_prior_from_truth(gauss2):
    X, states = gauss2
    rec = _hmm_ref_out()["started at truth"]
    model = _gauss2_truth(n_iter=500, tol=1e-10).fit(X)
    assert model.monitor_.converged and model.monitor_.iter == rec["n_iter"]
    _check_printed(model, rec, X)
    logprob, path = model.decode(X)
    assert logprob == pytest.approx(rec["viterbi_logprob"], rel=1e-10)
    assert np.mean(path == states) == pytest.approx(rec["accuracy"], abs=1e-12)
    assert _gauss2_truth().score(X) == pytest.approx(rec["loglik_true"], rel=1e-10)


def test_gauss2_own_initialisation_reaches_hmmlearns_maximum(gauss2):
    """From emkit's own (k-means) start: the maximum hmmlearn's random start found."""
    X, _ = gauss2
    rec = _hmm_ref_out()["random start"]
    model = GaussianHMM(2, random_state=0, n_iter=500, tol=1e-8).fit(X)
    order = np.argsort(model.means_.ravel())
    assert model.score(X) == pytest.approx(rec["score"], rel=1e-9)
    np.testing.assert_allclose(model.means_.ravel()[order], rec["means"], atol=1e-5)
    np.testing.assert_allclose(model.covars_.ravel()[order], rec["vars"], atol=1e-5)
    np.testing.assert_allclose(model.transmat_[np.ix_(order, order)], rec["transmat"],
                               atol=1e-5)


# --------------------------------------------------------------------------
# GMMHMM
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", GMM_CASES)
def test_gmmhmm_matches_hmmlearn_at_fixed_parameters(name):
    run = RUNS[name]
    X, lengths = _case_data(name)
    model = _set(GMMHMM(**run["kwargs"], init_params=""), run["params"])
    assert model.score(X, lengths) == pytest.approx(run["score"], rel=1e-10)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    seq = [model.score(X[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_allclose(seq, run["seq_scores"], rtol=1e-10)
    logprob, path = model.decode(X, lengths)
    assert logprob == pytest.approx(run["viterbi_logprob"], rel=1e-10)
    assert path.tolist() == run["viterbi_path"]
    ll, post = model.score_samples(X, lengths)
    assert ll == pytest.approx(run["score"], rel=1e-10)
    np.testing.assert_allclose(post[:20], run["posteriors_head"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(post.sum(0), run["posteriors_colsum"], rtol=1e-10)


def _random_hmm_data(rng, K, d, lengths, sep=3.0):
    """Data from a random Gaussian HMM (states drawn with numpy)."""
    A = rng.dirichlet(np.full(K, 1.0), K) + 5 * np.eye(K)
    A /= A.sum(1, keepdims=True)
    means = sep * rng.standard_normal((K, d))
    parts = []
    for n in lengths:
        z = np.empty(n, dtype=int)
        z[0] = rng.integers(K)
        u = rng.random(n)
        cdf = np.cumsum(A, 1)
        for t in range(1, n):
            z[t] = min(np.searchsorted(cdf[z[t - 1]], u[t], "right"), K - 1)
        parts.append(means[z] + rng.standard_normal((n, d)) * rng.uniform(0.5, 1.5, d))
    return np.concatenate(parts)


def _random_start(rng, K, d, X, ct):
    """Random starting parameters on the data's own scale."""
    sd = X.std(0)
    start = {"startprob_": rng.dirichlet(np.full(K, 2.0)),
             "transmat_": rng.dirichlet(np.full(K, 2.0), K),
             "means_": X[rng.choice(X.shape[0], K, replace=False)]
             + 0.1 * sd * rng.standard_normal((K, d))}
    if ct == "spherical":
        start["covars_"] = sd.mean() ** 2 * rng.uniform(0.5, 2.0, K)
    elif ct == "diag":
        start["covars_"] = sd**2 * rng.uniform(0.5, 2.0, (K, d))
    elif ct == "full":
        G = rng.standard_normal((K, d, d)) * 0.3
        start["covars_"] = sd[:, None] * (np.eye(d) + G @ G.transpose(0, 2, 1)) * sd
    else:
        G = rng.standard_normal((d, d)) * 0.3
        start["covars_"] = sd[:, None] * (np.eye(d) + G @ G.T) * sd
    return start


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_gmmhmm_with_one_mixture_component_is_gaussianhmm(ct):
    rng = np.random.default_rng(5)
    K, d = 3, 2
    lengths = [150, 90, 120]
    X = _random_hmm_data(rng, K, d, lengths)
    start = _random_start(rng, K, d, X, "full" if ct == "tied" else ct)
    # GMMHMM's "tied" shares a covariance among a state's components: with
    # one component per state that is GaussianHMM's "full"
    g = GaussianHMM(K, covariance_type="full" if ct == "tied" else ct, covars_prior=0.0,
                    n_iter=10, tol=-np.inf, init_params="")
    _quiet_fit(_set(g, start), X, lengths)
    covars = np.asarray(start["covars_"])
    m = GMMHMM(K, n_mix=1, covariance_type=ct, n_iter=10, tol=-np.inf, init_params="")
    _set(m, {"startprob_": start["startprob_"], "transmat_": start["transmat_"],
             "weights_": np.ones((K, 1)), "means_": start["means_"][:, None],
             "covars_": covars if ct == "tied" else covars[:, None]})
    _quiet_fit(m, X, lengths)
    close = functools.partial(np.testing.assert_allclose, rtol=1e-10)
    close(list(m.monitor_.history), list(g.monitor_.history))
    close(m.monitor_.loglik, g.monitor_.loglik)
    close(m.score(X, lengths), g.score(X, lengths))
    close(m.startprob_, g.startprob_, atol=1e-14)
    close(m.transmat_, g.transmat_, atol=1e-14)
    close(m.means_[:, 0], g.means_, atol=1e-12)
    np.testing.assert_array_equal(m.weights_, 1.0)
    gcov = g.covars_
    mcov = m._full_covars()[:, 0]
    close(mcov, gcov, atol=1e-14)
    close(m.predict_proba(X, lengths), g.predict_proba(X, lengths), atol=1e-12)
    assert np.array_equal(m.predict(X, lengths), g.predict(X, lengths))


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_gmmhmm_two_components_trace_is_monotone(ct):
    rng = np.random.default_rng(11)
    lengths = [200, 150]
    X = _random_hmm_data(rng, 4, 2, lengths, sep=2.0)
    model = GMMHMM(2, n_mix=2, covariance_type=ct, n_iter=25, tol=-np.inf, random_state=1)
    _quiet_fit(model, X, lengths)
    trace = np.array(list(model.monitor_.history) + [model.monitor_.loglik])
    assert trace.size == 26 and np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))
    assert trace[-1] > trace[0]
    np.testing.assert_allclose(model.weights_.sum(1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------
# EM never lowers the log-likelihood
# --------------------------------------------------------------------------
def _lengths(draw, n_min):
    n_seq = draw(st.integers(1, 4))
    low = max(2, -(-n_min // n_seq))
    return [draw(st.integers(low, low + 60)) for _ in range(n_seq)]


@st.composite
def gaussian_problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    K, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    ct = draw(st.sampled_from(COVARIANCE_TYPES))
    lengths = _lengths(draw, 12 * K * (d + 1))
    rng = np.random.default_rng(seed)
    X = _random_hmm_data(rng, draw(st.integers(1, 4)), d, lengths)
    X = 10.0 ** draw(st.integers(-2, 2)) * X + draw(st.sampled_from([0.0, 5.0, -100.0]))
    return X, lengths, K, ct, _random_start(rng, K, d, X, ct)


def _assert_monotone(model):
    trace = np.array(list(model.monitor_.history) + [model.monitor_.loglik])
    assert trace.size == model.monitor_.iter + 1
    assert np.all(np.isfinite(trace))
    drops = np.diff(trace)
    assert np.all(drops >= -1e-10 * (1 + np.abs(trace[1:]))), drops


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(gaussian_problems())
def test_gaussian_em_never_lowers_the_likelihood(problem):
    X, lengths, K, ct, start = problem
    model = GaussianHMM(K, covariance_type=ct, covars_prior=0.0, n_iter=10, tol=-np.inf,
                        init_params="")
    try:
        _quiet_fit(_set(model, start), X, lengths)
    except DegenerateFitError:
        # a state collapsed onto a single row (about 1 start in 2000): the
        # likelihood is unbounded there, and the fit rightly stops
        reject()
    _assert_monotone(model)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3), st.data())
def test_poisson_em_never_lowers_the_likelihood(seed, K, d, data):
    rng = np.random.default_rng(seed)
    lengths = _lengths(data.draw, 10 * K)
    rates = rng.gamma(2.0, 3.0, (4, d))
    X = rng.poisson(rates[rng.integers(4, size=sum(lengths))])
    model = PoissonHMM(K, n_iter=10, tol=-np.inf, init_params="")
    model.startprob_ = rng.dirichlet(np.ones(K))
    model.transmat_ = rng.dirichlet(np.ones(K), K)
    model.lambdas_ = rng.gamma(2.0, 3.0, (K, d))
    _quiet_fit(model, X, lengths)
    _assert_monotone(model)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(2, 6), st.data())
def test_categorical_em_never_lowers_the_likelihood(seed, K, M, data):
    rng = np.random.default_rng(seed)
    lengths = _lengths(data.draw, 10 * K)
    B = rng.dirichlet(np.ones(M), 3)
    X = np.array([rng.choice(M, p=B[rng.integers(3)]) for _ in range(sum(lengths))])[:, None]
    model = CategoricalHMM(K, n_features=M, n_iter=10, tol=-np.inf, init_params="")
    model.startprob_ = rng.dirichlet(np.ones(K))
    model.transmat_ = rng.dirichlet(np.ones(K), K)
    model.emissionprob_ = rng.dirichlet(np.ones(M), K)
    _quiet_fit(model, X, lengths)
    _assert_monotone(model)


# --------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------
def _state(model):
    names = ["startprob_", "transmat_", "means_", "_covars_", "lambdas_", "emissionprob_",
             "weights_", "covars_"]
    out = {n: np.array(getattr(model, n)) for n in names if n in vars(model)}
    out["history"] = np.array(list(model.monitor_.history) + [model.monitor_.loglik])
    return out


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def many_sequences():
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 400, 90).tolist() + [1, 2, 1500]
    X = _random_hmm_data(rng, 3, 2, lengths)
    return X, lengths


def _with_init(cls, **kw):
    return {
        GaussianHMM: lambda: GaussianHMM(3, covariance_type=kw.get("ct", "full"),
                                         n_iter=8, tol=-np.inf, random_state=0,
                                         n_threads=kw.get("n_threads")),
        GMMHMM: lambda: GMMHMM(2, n_mix=2, covariance_type=kw.get("ct", "diag"), n_iter=8,
                               tol=-np.inf, random_state=0, n_threads=kw.get("n_threads")),
        PoissonHMM: lambda: PoissonHMM(3, n_iter=8, tol=-np.inf, random_state=0,
                                       n_threads=kw.get("n_threads")),
        CategoricalHMM: lambda: CategoricalHMM(3, n_iter=8, tol=-np.inf, random_state=0,
                                               n_threads=kw.get("n_threads")),
    }[cls]()


def _data_for(cls, X):
    if cls is PoissonHMM:
        return np.floor(np.abs(X) * 2)
    if cls is CategoricalHMM:
        return np.clip(np.floor(X[:, :1] + 3), 0, 6)
    return X


@pytest.mark.parametrize("cls", [GaussianHMM, GMMHMM, PoissonHMM, CategoricalHMM])
def test_random_state_reproducible(cls, many_sequences):
    X, lengths = many_sequences
    Xc = _data_for(cls, X)
    a = _quiet_fit(_with_init(cls), Xc, lengths)
    b = _quiet_fit(_with_init(cls), Xc, lengths)
    _assert_same_state(_state(a), _state(b))
    c = _quiet_fit(_with_init(cls).set_params(random_state=np.random.default_rng(0)), Xc,
                   lengths)
    _assert_same_state(_state(a), _state(c))


@pytest.mark.parametrize("cls,ct", [(GaussianHMM, "full"), (GaussianHMM, "diag"),
                                    (GaussianHMM, "tied"), (GMMHMM, "full"),
                                    (PoissonHMM, None), (CategoricalHMM, None)])
def test_threads_do_not_change_results(cls, ct, many_sequences):
    X, lengths = many_sequences
    Xc = _data_for(cls, X)
    results = []
    for n_threads in (1, 2, 3):
        model = _quiet_fit(_with_init(cls, ct=ct, n_threads=n_threads), Xc, lengths)
        state = _state(model)
        ll, post = model.score_samples(Xc, lengths)
        lp, path = model.decode(Xc, lengths)
        state.update(ll=np.array(ll), post=post, lp=np.array(lp), path=path)
        results.append(state)
    _assert_same_state(results[0], results[1])
    _assert_same_state(results[0], results[2])


# --------------------------------------------------------------------------
# long sequences
# --------------------------------------------------------------------------
def test_one_million_rows_ten_states():
    rng = np.random.default_rng(2024)
    T, K, stay = 1_000_000, 10, 0.99
    # states by run lengths: geometric durations, each run moves to another state
    n_runs = int(T * (1 - stay) * 1.5) + 100
    durations = rng.geometric(1 - stay, n_runs)
    assert durations.sum() >= T
    runs = (rng.integers(K) + np.cumsum(np.r_[0, rng.integers(1, K, n_runs - 1)])) % K
    z = np.repeat(runs, durations)[:T]
    means = 20.0 * np.arange(K)
    X = (means[z] + rng.standard_normal(T))[:, None]

    A = np.full((K, K), (1 - stay) / (K - 1))
    np.fill_diagonal(A, stay)
    model = GaussianHMM(K, n_iter=2, tol=-np.inf, init_params="", covars_prior=0.0)
    model.startprob_ = np.full(K, 1.0 / K)
    model.transmat_ = A
    model.means_ = means[:, None] + 0.5
    model.covars_ = np.full((K, 1), 1.5)

    score = model.score(X)
    ll, post = model.score_samples(X)
    assert np.isfinite(score) and ll == pytest.approx(score, rel=1e-12)
    assert post.shape == (T, K) and not np.isnan(post).any()
    np.testing.assert_allclose(post.sum(1), 1.0, rtol=0, atol=1e-12)
    logprob, path = model.decode(X)
    assert np.isfinite(logprob) and logprob <= score
    assert np.mean(path == z) > 0.99

    _quiet_fit(model, X)
    for value in (model.startprob_, model.transmat_, model.means_, model.covars_):
        assert np.all(np.isfinite(value))
    np.testing.assert_allclose(model.transmat_.sum(1), 1.0, rtol=1e-12)
    assert model.monitor_.loglik >= score
    np.testing.assert_allclose(model.means_.ravel(), means, atol=0.05)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(0, 1, (60, 2)), rng.normal(5, 1, (60, 2))]


def _set_model(**kw):
    model = GaussianHMM(2, init_params="", n_iter=3, **kw)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    model.means_ = np.array([[0.0, 0.0], [5.0, 5.0]])
    model.covars_ = np.ones((2, 2))
    return model


def test_bad_lengths(small):
    model = _set_model()
    with pytest.raises(ValueError, match="lengths sum to 100 but X has 120 rows"):
        model.fit(small, [50, 50])
    with pytest.raises(ValueError, match="lengths sum to 130 but X has 120 rows"):
        model.score(small, [60, 70])
    with pytest.raises(ValueError, match=r"lengths must be positive; sequence\(s\) \[1\]"):
        model.fit(small, [120, 0])
    with pytest.raises(ValueError, match=r"lengths must be positive; sequence\(s\) \[0\]"):
        model.predict(small, [-10, 130])
    with pytest.raises(TypeError, match="lengths must be integers"):
        model.score(small, [60.5, 59.5])


def test_bad_probabilities(small):
    model = _set_model()
    model.transmat_ = np.array([[0.9, 0.2], [0.2, 0.8]])
    with pytest.raises(ValueError, match="rows of transmat_ must each sum to 1: row 0 sums to 1.1"):
        model.fit(small)
    with pytest.raises(ValueError, match="rows of transmat_ must each sum to 1"):
        model.score(small)
    model = _set_model()
    model.startprob_ = np.array([0.5, 0.6])
    with pytest.raises(ValueError, match="startprob_ sums to 1.1; it must sum to 1"):
        model.fit(small)
    model.startprob_ = np.array([1.5, -0.5])
    with pytest.raises(ValueError, match="startprob_ has negative entries"):
        model.predict(small)
    model = _set_model()
    model.transmat_ = np.eye(3)
    with pytest.raises(ValueError, match=r"transmat_ must have shape \(2, 2\)"):
        model.fit(small)


def test_bad_counts():
    X = np.array([[1, 2], [3, -1], [0, 4], [2, 2]])
    with pytest.raises(ValueError, match="negative values in column 1"):
        PoissonHMM(2).fit(X)
    with pytest.raises(ValueError, match="non-integer values in column 0"):
        PoissonHMM(2).fit(np.array([[1.5, 2], [3, 1], [0, 4], [2, 2]]))
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [0, -2, 1, 1]})
    with pytest.raises(ValueError, match="negative values in b"):
        PoissonHMM(2).fit(df)
    model = _quiet_fit(PoissonHMM(2, random_state=0, n_iter=5), np.abs(X))
    with pytest.raises(ValueError, match="negative values"):
        model.score(X)
    with pytest.raises(ValueError, match="X has 1 columns, but the model has 2"):
        model.score(np.abs(X[:, :1]))
    with pytest.raises(ValueError, match="non-integer values"):
        CategoricalHMM(2).fit(np.array([[0], [1.5], [2], [1]]))
    with pytest.raises(ValueError, match="negative values"):
        CategoricalHMM(2).fit(np.array([[0], [-1], [2], [1]]))


def test_unseen_symbols():
    X = np.array([[0], [1], [2], [4], [1], [0], [2], [2]])
    with pytest.raises(ValueError, match=r"symbol\(s\) \[4\] but the model emits only "
                                         r"symbols 0..2 \(n_features=3\)"):
        CategoricalHMM(2, n_features=3, random_state=0).fit(X)
    model = _quiet_fit(CategoricalHMM(2, random_state=0, n_iter=5), X[X[:, 0] < 3])
    assert model.emissionprob_.shape == (2, 3)
    for method in (model.predict, model.score, model.predict_proba):
        with pytest.raises(ValueError, match=r"symbol\(s\) \[4\]"):
            method(X)
    with pytest.raises(ValueError, match="one column of symbols"):
        model.score(np.zeros((5, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data(small, bad):
    X = small.copy()
    X[7, 1] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite values in column 1 \(1 value"):
        GaussianHMM(2).fit(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        _set_model().score(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        PoissonHMM(2).fit(np.abs(np.round(X)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        GMMHMM(2, n_mix=2).fit(X)


def test_wrong_shapes_and_settings(small):
    model = _set_model().fit(small)
    with pytest.raises(ValueError, match="X has 3 features, but the model has 2"):
        model.predict(np.c_[small, small[:, 0]])
    with pytest.raises(ValueError, match="X must be 2-D"):
        model.score(small[:, 0])
    with pytest.raises(ValueError, match="X has 2 rows but n_components=3: need at least "
                                         "one row per state"):
        GaussianHMM(3).fit(small[:2])
    with pytest.raises(ValueError, match="need at least one row per state"):
        CategoricalHMM(4).fit(np.array([[0], [1], [0]]))
    with pytest.raises(ValueError, match="covariance_type must be one of .*'banana'"):
        GaussianHMM(2, covariance_type="banana").fit(small)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        GMMHMM(2, covariance_type="block").fit(small)
    with pytest.raises(ValueError, match="algorithm must be one of .*'forward'"):
        GaussianHMM(2, algorithm="forward").fit(small)
    with pytest.raises(ValueError, match="algorithm must be one of .*'beam'"):
        model.decode(small, algorithm="beam")
    with pytest.raises(TypeError, match="X has non-numeric column"):
        GaussianHMM(2).fit(pd.DataFrame({"a": ["x"] * 10, "b": np.arange(10.0)}))
    with pytest.raises(ValueError, match="covars_ must be positive"):
        m = _set_model()
        m.covars_ = np.array([[1.0, 1.0], [1.0, -1.0]])
        m.fit(small)
    with pytest.raises(ValueError, match=r"covars_\[1\] is not positive definite"):
        m = _set_model(covariance_type="full")
        m.covars_ = np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])
        m.score(small)


def test_settings_and_unfitted_models(small):
    with pytest.raises(NotFittedError, match="has no startprob_; call fit first or set it"):
        GaussianHMM(2).score(small)
    with pytest.raises(NotFittedError, match="call fit first"):
        PoissonHMM(2).sample(3)
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        GaussianHMM(2, n_threads=0).fit(small)
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        GaussianHMM(2, n_iter=0).fit(small)
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        CategoricalHMM(0).fit(np.array([[0], [1]]))
    with pytest.raises(ValueError, match="lengths must be a non-empty 1-D list"):
        GaussianHMM(2).fit(small, [[60, 60]])
    with pytest.raises(ValueError, match="lengths must be a non-empty 1-D list"):
        GaussianHMM(2).fit(small, [])
    with pytest.raises(ValueError, match="implementation must be 'log' or 'scaling'"):
        GaussianHMM(2, implementation="fast").fit(small)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        _set_model().sample(0)
    with pytest.raises(ValueError, match="the rows of weights_ must each sum to 1"):
        m = GMMHMM(2, n_mix=2, init_params="")
        _set(m, {"startprob_": [0.5, 0.5], "transmat_": [[0.5, 0.5], [0.5, 0.5]],
                 "weights_": [[0.5, 0.6], [0.5, 0.5]], "means_": np.zeros((2, 2, 2)),
                 "covars_": np.ones((2, 2, 2))})
        m.score(small)


def test_inputs_are_not_modified(small):
    df = pd.DataFrame(small, columns=["u", "v"])
    copy = df.copy()
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    A_copy = A.copy()
    model = GaussianHMM(2, init_params="mc", random_state=0, n_iter=5)
    model.transmat_ = A
    model.startprob_ = [0.5, 0.5]
    lengths = np.array([70, 50])
    _quiet_fit(model, df, lengths)
    model.predict(df, lengths)
    model.score_samples(df)
    pd.testing.assert_frame_equal(df, copy)
    np.testing.assert_array_equal(A, A_copy)
    assert lengths.tolist() == [70, 50]
    counts = pd.DataFrame({"a": [0, 3, 1, 4, 2, 0], "b": [1, 1, 0, 5, 2, 3]})
    counts_copy = counts.copy()
    _quiet_fit(PoissonHMM(2, random_state=0, n_iter=5), counts).predict(counts)
    pd.testing.assert_frame_equal(counts, counts_copy)


# --------------------------------------------------------------------------
# sample()
# --------------------------------------------------------------------------
def _truth_model(n_threads=None):
    model = GaussianHMM(3, covariance_type="full", init_params="", n_threads=n_threads)
    model.startprob_ = np.array([0.6, 0.3, 0.1])
    model.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.15, 0.8]])
    model.means_ = np.array([[0.0, 0.0], [4.0, 1.0], [-2.0, 5.0]])
    model.covars_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.0]],
                              [[0.8, 0.0], [0.0, 0.8]]])
    return model


def test_sample_shapes_and_reproducible():
    model = _truth_model()
    X, z = model.sample(500, random_state=1)
    assert X.shape == (500, 2) and z.shape == (500,)
    assert z.min() >= 0 and z.max() <= 2 and np.issubdtype(z.dtype, np.integer)
    X2, z2 = model.sample(500, random_state=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(z, z2)
    X3, _ = model.sample(500, random_state=2)
    assert not np.array_equal(X, X3)
    _, z4 = model.sample(5, random_state=1, currstate=2)
    assert z4[0] == 2
    model.random_state = 7
    np.testing.assert_array_equal(model.sample(50)[0], model.sample(50)[0])
    with pytest.raises(ValueError, match="currstate must be a state in 0..2"):
        model.sample(5, currstate=3)

    pois = PoissonHMM(2, init_params="")
    pois.startprob_, pois.transmat_ = np.array([1.0, 0.0]), np.array([[0.5, 0.5], [0.5, 0.5]])
    pois.lambdas_ = np.array([[1.0, 2.0], [10.0, 20.0]])
    Xp, zp = pois.sample(300, random_state=0)
    assert Xp.shape == (300, 2) and zp[0] == 0 and set(zp) <= {0, 1}
    assert np.all(Xp >= 0) and np.all(Xp == np.round(Xp))
    np.testing.assert_array_equal(Xp, pois.sample(300, random_state=0)[0])

    cat = CategoricalHMM(2, init_params="")
    cat.startprob_, cat.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    cat.emissionprob_ = np.array([[0.7, 0.3, 0.0], [0.0, 0.2, 0.8]])
    Xc, zc = cat.sample(400, random_state=0)
    assert Xc.shape == (400, 1) and set(np.unique(Xc)) <= {0, 1, 2}
    assert np.all(Xc[zc == 0] < 2) and np.all(Xc[zc == 1] > 0)
    np.testing.assert_array_equal(Xc, cat.sample(400, random_state=0)[0])

    gmm = GMMHMM(2, n_mix=2, covariance_type="diag", init_params="")
    gmm.startprob_, gmm.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    gmm.weights_ = np.array([[0.5, 0.5], [0.3, 0.7]])
    gmm.means_ = np.array([[[0.0, 0.0], [3.0, 3.0]], [[-5.0, 5.0], [5.0, -5.0]]])
    gmm.covars_ = np.full((2, 2, 2), 0.5)
    Xg, zg = gmm.sample(200, random_state=0)
    assert Xg.shape == (200, 2) and set(zg) <= {0, 1}
    np.testing.assert_array_equal(Xg, gmm.sample(200, random_state=0)[0])


def test_sample_refits_near_the_truth():
    truth = _truth_model()
    X, z = truth.sample(6000, random_state=3)
    model = GaussianHMM(3, covariance_type="full", random_state=0, n_iter=200, tol=1e-6)
    model.fit(X)
    assert model.monitor_.converged
    order = [int(np.argmin(np.abs(model.means_ - m).sum(1))) for m in truth.means_]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(model.means_[order], truth.means_, atol=0.1)
    np.testing.assert_allclose(model.covars_[order], truth.covars_, atol=0.1)
    np.testing.assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_,
                               atol=0.03)
    assert np.mean(np.argsort(order)[model.predict(X)] == z) > 0.95


# --------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------
def test_params_round_trip_and_repr():
    model = GaussianHMM(3, covariance_type="full", covars_prior=0.5, n_iter=7, tol=1e-4)
    params = model.get_params()
    assert params["n_components"] == 3 and params["covariance_type"] == "full"
    again = GaussianHMM(**params)
    assert again.get_params() == params
    assert model.set_params(n_iter=9, algorithm="map") is model
    assert model.n_iter == 9 and model.algorithm == "map"
    with pytest.raises(ValueError, match="invalid parameter 'n_mix'"):
        model.set_params(n_mix=2)
    text = repr(model)
    assert text.startswith("GaussianHMM(") and "n_components=3" in text
    assert "covariance_type='full'" in text and "n_iter=9" in text
    assert "min_covar" not in text  # defaults are left out
    for cls in (GMMHMM, PoissonHMM, CategoricalHMM):
        p = cls(2).get_params()
        assert cls(**p).get_params() == p
        assert repr(cls(2)) == f"{cls.__name__}(n_components=2)"


def test_decoders_and_posteriors(small):
    model = _quiet_fit(GaussianHMM(2, random_state=0, n_iter=20), small, [70, 50])
    lengths = [70, 50]
    np.testing.assert_array_equal(model.predict(small, lengths),
                                  model.decode(small, lengths)[1])
    ll, post = model.score_samples(small, lengths)
    assert ll == model.score(small, lengths)
    np.testing.assert_array_equal(post, model.predict_proba(small, lengths))
    logprob, path = model.decode(small, lengths, algorithm="map")
    np.testing.assert_array_equal(path, post.argmax(1))
    assert logprob == pytest.approx(np.log(post.max(1)).sum(), rel=1e-12)
    model.set_params(algorithm="map")
    np.testing.assert_array_equal(model.predict(small, lengths), post.argmax(1))
    # score of several sequences is the sum of their scores
    assert ll == pytest.approx(model.score(small[:70]) + model.score(small[70:]), rel=1e-13)
    # posteriors against a plain log-space forward-backward
    logB = np.column_stack([
        -0.5 * (((small - model.means_[k]) ** 2) / np.diag(model.covars_[k])).sum(1)
        - 0.5 * np.log(2 * np.pi * np.diag(model.covars_[k])).sum()
        for k in range(2)])
    logA = np.log(model.transmat_)
    for a, b in ((0, 70), (70, 120)):
        fw = np.log(model.startprob_) + logB[a]
        alphas = [fw]
        for t in range(a + 1, b):
            fw = logsumexp(fw[:, None] + logA, axis=0) + logB[t]
            alphas.append(fw)
        bw, betas = np.zeros(2), [np.zeros(2)]
        for t in range(b - 1, a, -1):
            bw = logsumexp(logA + (logB[t] + bw)[None], axis=1)
            betas.append(bw)
        lg = np.array(alphas) + np.array(betas[::-1])
        np.testing.assert_allclose(post[a:b], np.exp(lg - logsumexp(lg, 1, keepdims=True)),
                                   rtol=1e-10, atol=1e-14)


def test_stationary_distribution():
    model = _truth_model()
    pi = model.get_stationary_distribution()
    assert pi.shape == (3,) and np.all(pi > 0) and np.isrealobj(pi)
    assert pi.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(pi @ model.transmat_, pi, rtol=1e-12)


def test_exact_zeros_in_transmat_survive_fit():
    rng = np.random.default_rng(4)
    A0 = np.array([[0.8, 0.2, 0.0], [0.0, 0.7, 0.3], [0.1, 0.0, 0.9]])
    X = np.r_[rng.normal(0, 1, (100, 1)), rng.normal(4, 1, (100, 1)), rng.normal(-4, 1, (100, 1))]
    g = GaussianHMM(3, init_params="mc", random_state=0, n_iter=30, covars_prior=0.0)
    g.startprob_ = np.array([1.0, 0.0, 0.0])
    g.transmat_ = A0
    _quiet_fit(g, X)
    assert np.all(g.transmat_[A0 == 0] == 0.0) and np.all(g.transmat_[A0 > 0] > 0)
    assert np.all(g.startprob_[1:] == 0.0)
    symbols = np.clip(np.round(X + 5) // 3, 0, 3).astype(int)
    c = CategoricalHMM(3, init_params="e", random_state=0, n_iter=30)
    c.startprob_ = np.array([0.5, 0.5, 0.0])
    c.transmat_ = A0
    _quiet_fit(c, symbols, [150, 150])
    assert np.all(c.transmat_[A0 == 0] == 0.0) and np.all(c.transmat_[A0 > 0] > 0)
    assert c.startprob_[2] == 0.0
    np.testing.assert_allclose(c.transmat_.sum(1), 1.0, rtol=1e-12)


def test_implementation_is_accepted_and_changes_nothing(small):
    a = _quiet_fit(GaussianHMM(2, random_state=0, n_iter=10), small)
    b = _quiet_fit(GaussianHMM(2, random_state=0, n_iter=10, implementation="scaling"), small)
    _assert_same_state(_state(a), _state(b))


@pytest.mark.parametrize("kind", ["categorical", "gaussian", "gmm", "poisson"])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_unreachable_state_keeps_its_emission_parameters(kind):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (60, 1)), rng.normal(5, 1, (60, 1))]
    chain = {"startprob_": [0.5, 0.5, 0.0],
             "transmat_": [[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0]]}
    if kind == "categorical":
        X = np.clip(np.round(np.abs(X)), 0, 5).astype(int)
        model = CategoricalHMM(3, n_features=6)
        emission = {"emissionprob_": rng.dirichlet(np.ones(6), 3)}
    elif kind == "poisson":
        X = np.round(np.abs(X)).astype(int)
        model = PoissonHMM(3)
        emission = {"lambdas_": [[1.0], [4.0], [2.0]]}
    elif kind == "gaussian":
        model = GaussianHMM(3, covars_prior=0.0)
        emission = {"means_": [[0.5], [4.0], [2.0]], "covars_": [[2.0], [2.0], [1.0]]}
    else:
        model = GMMHMM(3, n_mix=2)
        emission = {"weights_": np.full((3, 2), 0.5),
                    "means_": [[[0.0], [1.0]], [[4.0], [5.0]], [[2.0], [3.0]]],
                    "covars_": np.ones((3, 2, 1))}
    model.set_params(init_params="", n_iter=5, tol=-np.inf)
    _set(model, {**chain, **emission})
    _quiet_fit(model, X)
    _assert_monotone(model)
    assert np.all(model.predict_proba(X)[:, 2] == 0.0)
    np.testing.assert_array_equal(model.transmat_[2], [0.0, 0.0, 1.0])
    for key, value in emission.items():
        # GaussianHMM's covars_ reads back as full matrices; its own layout is _covars_
        attr = "_covars_" if kind == "gaussian" and key == "covars_" else key
        np.testing.assert_array_equal(getattr(model, attr)[2], np.asarray(value)[2], key)


def test_convergence_is_reported_honestly(small):
    model = GaussianHMM(2, random_state=0, n_iter=200, tol=1e-6).fit(small)
    assert model.monitor_.converged and model.monitor_.iter < 200
    diffs = np.diff(list(model.monitor_.history) + [model.monitor_.loglik])
    assert abs(diffs[-2]) <= 1e-6  # the rule was met; one more M-step followed
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        short = GaussianHMM(2, random_state=0, n_iter=2, tol=1e-6).fit(small)
    assert not short.monitor_.converged and short.monitor_.iter == 2
    assert short.monitor_.stop_reason == "max_iter"
