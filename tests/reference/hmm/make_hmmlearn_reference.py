"""Generate hmmlearn reference runs for emkit's HMM classes.

Run from this folder:  python make_hmmlearn_reference.py
(writes <case>_X.csv, hmmlearn_runs.json and make_hmmlearn_reference.out;
re-running reproduces them byte-identically with the same library versions).

Every case is simulated with its own numpy ``default_rng`` seed, then fitted
with hmmlearn starting from hand-set parameters (``init_params=""``), with
``tol=-inf`` so that exactly ``n_iter`` EM iterations run, and with the
default ``implementation="log"``.  See README.md for the JSON schema and the
conventions.

The GMMHMM cases (``gmmhmm_diag_score``, ``gmmhmm_full_score``) are not
fitted: hmmlearn 0.3's GMMHMM M-step takes the covariance scatter about the
*previous* means, which emkit deliberately does not.  They store only what the
hand-set parameters give: ``score``, the Viterbi decoding and the posteriors
(keys: class, kwargs, n_samples, n_features, lengths, data_file, ``params``
(startprob_, transmat_, weights_, means_, covars_ in hmmlearn's layout for the
covariance type), score, viterbi_logprob, viterbi_path, posteriors_head,
posteriors_colsum, seq_scores).  They run after the fitted cases, with their
own seeds, so they leave the other cases' outputs unchanged.
"""
import collections
import json
import logging
import platform
import sys

import numpy as np
import pandas as pd
import scipy
import sklearn

import hmmlearn
from hmmlearn.hmm import CategoricalHMM, GaussianHMM, GMMHMM, PoissonHMM

OUT_JSON = "hmmlearn_runs.json"
OUT_LOG = "make_hmmlearn_reference.out"
LENGTHS = [400, 250, 350]
N_ITER = 15

log_lines = []


def say(*args):
    line = " ".join(str(a) for a in args)
    print(line)
    log_lines.append(line)


class _CountingHandler(logging.Handler):
    """Counts hmmlearn warnings (e.g. 'Model is not converging')."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


_handler = _CountingHandler()
logging.getLogger("hmmlearn").addHandler(_handler)
logging.getLogger("hmmlearn").propagate = False


# --------------------------------------------------------------------------
# simulation helpers (pure numpy, independent of hmmlearn's sampler)
# --------------------------------------------------------------------------
def sim_states(rng, startprob, transmat, lengths):
    """State sequences for several independent chains, concatenated."""
    startprob = np.asarray(startprob, float)
    transmat = np.asarray(transmat, float)
    cs0 = np.cumsum(startprob)
    csT = np.cumsum(transmat, axis=1)
    out = []
    for n in lengths:
        u = rng.random(n)
        z = np.empty(n, dtype=int)
        z[0] = min(np.searchsorted(cs0, u[0], side="right"), len(cs0) - 1)
        for t in range(1, n):
            row = csT[z[t - 1]]
            z[t] = min(np.searchsorted(row, u[t], side="right"), len(row) - 1)
        out.append(z)
    return np.concatenate(out)


def sim_gauss(rng, z, means, covs):
    """covs: (K, d, d) full covariance matrices."""
    means = np.asarray(means, float)
    d = means.shape[1]
    e = rng.standard_normal((len(z), d))
    chol = np.linalg.cholesky(np.asarray(covs, float))
    return means[z] + np.einsum("nij,nj->ni", chol[z], e)


def sim_poisson(rng, z, lambdas):
    return rng.poisson(np.asarray(lambdas, float)[z])


def sim_categorical(rng, z, emissionprob):
    B = np.asarray(emissionprob, float)
    cs = np.cumsum(B, axis=1)
    u = rng.random(len(z))
    x = np.array([min(np.searchsorted(cs[k], ui, side="right"), B.shape[1] - 1)
                  for k, ui in zip(z, u)], dtype=int)
    return x.reshape(-1, 1)


def seq_index(lengths):
    return np.repeat(np.arange(len(lengths)), lengths)


def write_csv(case, X, lengths, integer):
    X = np.asarray(X)
    df = pd.DataFrame({f"x{j}": X[:, j] for j in range(X.shape[1])})
    df["seq"] = seq_index(lengths)
    fn = f"{case}_X.csv"
    if integer:
        df = df.astype("int64")
        df.to_csv(fn, index=False)
    else:
        df.to_csv(fn, index=False, float_format="%.17g")
    return fn


def tolist(a):
    return np.asarray(a, dtype=float).tolist()


# --------------------------------------------------------------------------
# common "truth" / start values
# --------------------------------------------------------------------------
PI3 = [0.5, 0.3, 0.2]
A3 = [[0.90, 0.05, 0.05],
      [0.10, 0.85, 0.05],
      [0.05, 0.10, 0.85]]
PI3_START = [1 / 3, 1 / 3, 1 / 3]
A3_START = [[0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8]]

MU2 = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
MU2_START = MU2 + np.array([[0.6, -0.4], [-0.5, 0.5], [0.4, -0.6]])
VAR2_DIAG = np.array([[1.0, 0.5], [0.7, 1.2], [0.4, 0.8]])

MU3 = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-2.0, 3.0, 1.0]])
MU3_START = MU3 + np.array([[0.5, -0.5, 0.3], [-0.4, 0.6, -0.3],
                            [0.5, -0.3, 0.6]])


def corr_cov(sd, R):
    sd = np.asarray(sd, float)
    return np.outer(sd, sd) * np.asarray(R, float)


COV3 = np.array([
    corr_cov([1.0, 0.8, 1.2], [[1, 0.5, -0.3], [0.5, 1, 0.2], [-0.3, 0.2, 1]]),
    corr_cov([0.7, 1.1, 0.9], [[1, -0.6, 0.1], [-0.6, 1, 0.4], [0.1, 0.4, 1]]),
    corr_cov([1.3, 0.6, 0.8], [[1, 0.3, 0.7], [0.3, 1, 0.0], [0.7, 0.0, 1]]),
])
COV3_START = np.array([1.6 * np.eye(3), 2.0 * np.eye(3), 1.8 * np.eye(3)])


# --------------------------------------------------------------------------
# case definitions: each returns (cls, kwargs, X, lengths, init, integer)
# --------------------------------------------------------------------------
def case_gauss_diag(seed, priors=None):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    covs = np.array([np.diag(v) for v in VAR2_DIAG])
    X = sim_gauss(rng, z, MU2, covs)
    kw = dict(n_components=3, covariance_type="diag", covars_prior=0.0)
    if priors:
        kw.update(priors)
    init = dict(startprob_=PI3_START, transmat_=A3_START, means_=MU2_START,
                covars_=2.0 * VAR2_DIAG + 0.5)
    return GaussianHMM, kw, X, LENGTHS, init, False


def case_gauss_full(seed, priors=None):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    X = sim_gauss(rng, z, MU3, COV3)
    kw = dict(n_components=3, covariance_type="full", covars_prior=0.0)
    if priors:
        kw.update(priors)
    init = dict(startprob_=PI3_START, transmat_=A3_START, means_=MU3_START,
                covars_=COV3_START)
    return GaussianHMM, kw, X, LENGTHS, init, False


def case_gauss_spherical(seed):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    v = np.array([1.0, 0.5, 2.0])
    covs = np.array([vi * np.eye(2) for vi in v])
    X = sim_gauss(rng, z, MU2, covs)
    kw = dict(n_components=3, covariance_type="spherical", covars_prior=0.0)
    init = dict(startprob_=PI3_START, transmat_=A3_START, means_=MU2_START,
                covars_=np.array([2.0, 1.5, 3.0]))
    return GaussianHMM, kw, X, LENGTHS, init, False


def case_gauss_tied(seed):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    S = np.array([[1.0, 0.4], [0.4, 0.8]])
    X = sim_gauss(rng, z, MU2, np.array([S, S, S]))
    kw = dict(n_components=3, covariance_type="tied", covars_prior=0.0)
    init = dict(startprob_=PI3_START, transmat_=A3_START, means_=MU2_START,
                covars_=np.array([[2.0, 0.0], [0.0, 2.0]]))
    return GaussianHMM, kw, X, LENGTHS, init, False


def case_gauss_diag_zeros(seed):
    rng = np.random.default_rng(seed)
    lengths = [600]
    A = [[0.99, 0.01, 0.0], [0.0, 0.99, 0.01], [0.0, 0.0, 1.0]]
    z = sim_states(rng, [1.0, 0.0, 0.0], A, lengths)
    mu = np.array([[0.0], [3.0], [6.0]])
    var = np.array([[1.0], [0.6], [1.5]])
    X = sim_gauss(rng, z, mu, np.array([np.diag(v) for v in var]))
    kw = dict(n_components=3, covariance_type="diag", covars_prior=0.0)
    init = dict(startprob_=[1.0, 0.0, 0.0],
                transmat_=[[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]],
                means_=np.array([[0.7], [2.4], [5.2]]),
                covars_=np.array([[2.0], [2.0], [2.0]]))
    return GaussianHMM, kw, X, lengths, init, False


LAM = np.array([[1.0, 5.0], [4.0, 2.0], [10.0, 8.0]])
LAM_START = np.array([[2.0, 4.0], [5.0, 3.0], [8.0, 6.0]])


def case_poisson(seed, priors=None):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    X = sim_poisson(rng, z, LAM)
    kw = dict(n_components=3)
    if priors:
        kw.update(priors)
    init = dict(startprob_=PI3_START, transmat_=A3_START, lambdas_=LAM_START)
    return PoissonHMM, kw, X, LENGTHS, init, True


B = np.array([[0.50, 0.20, 0.10, 0.10, 0.10],
              [0.05, 0.10, 0.60, 0.15, 0.10],
              [0.10, 0.10, 0.10, 0.20, 0.50]])
B_START = np.array([[0.30, 0.25, 0.15, 0.15, 0.15],
                    [0.15, 0.15, 0.40, 0.15, 0.15],
                    [0.15, 0.15, 0.15, 0.25, 0.30]])


def case_categorical(seed, priors=None):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, PI3, A3, LENGTHS)
    X = sim_categorical(rng, z, B)
    kw = dict(n_components=3, n_features=5)
    if priors:
        kw.update(priors)
    init = dict(startprob_=PI3_START, transmat_=A3_START, emissionprob_=B_START)
    return CategoricalHMM, kw, X, LENGTHS, init, True


CASES = [
    ("gauss_diag", lambda: case_gauss_diag(101)),
    ("gauss_full", lambda: case_gauss_full(102)),
    ("gauss_spherical", lambda: case_gauss_spherical(103)),
    ("gauss_tied", lambda: case_gauss_tied(104)),
    ("gauss_diag_priors", lambda: case_gauss_diag(101, dict(
        means_prior=0.5, means_weight=2.0, covars_prior=0.3,
        covars_weight=3.0, startprob_prior=2.0, transmat_prior=1.5))),
    ("gauss_full_priors", lambda: case_gauss_full(102, dict(
        means_prior=0.5, means_weight=2.0, covars_prior=0.2,
        covars_weight=6.0))),
    ("gauss_diag_zeros", lambda: case_gauss_diag_zeros(117)),
    ("poisson", lambda: case_poisson(108)),
    ("poisson_priors", lambda: case_poisson(108, dict(
        lambdas_prior=2.0, lambdas_weight=0.5))),
    ("categorical", lambda: case_categorical(110)),
    ("categorical_priors", lambda: case_categorical(110, dict(
        emissionprob_prior=1.5, startprob_prior=1.2, transmat_prior=2.0))),
]
PLAIN_ML = {"gauss_diag", "gauss_full", "gauss_spherical", "gauss_tied",
            "gauss_diag_zeros", "poisson", "categorical"}


def covars_input_layout(model):
    """model covariances in hmmlearn's *input* layout for covariance_type."""
    c = np.asarray(model._covars_)
    if model.covariance_type == "spherical":
        # the M-step stores spherical covars tiled to (K, d); all columns equal
        if c.ndim == 2:
            assert np.all(c == c[:, :1]), "spherical covars not tiled"
            c = c[:, 0]
    return c


def params_dict(model, cls, full_cov=False):
    d = {"startprob_": tolist(model.startprob_),
         "transmat_": tolist(model.transmat_)}
    if cls is GaussianHMM:
        d["means_"] = tolist(model.means_)
        d["covars_"] = tolist(covars_input_layout(model))
        if full_cov:
            d["covars_full"] = tolist(model.covars_)
    elif cls is PoissonHMM:
        d["lambdas_"] = tolist(model.lambdas_)
    elif cls is CategoricalHMM:
        d["emissionprob_"] = tolist(model.emissionprob_)
    return d


def run_case(name, make):
    cls, kw, X, lengths, init, integer = make()
    fn = write_csv(name, X, lengths, integer)
    # read back exactly what the tests will read
    df = pd.read_csv(fn)
    xcols = [c for c in df.columns if c.startswith("x")]
    X = df[xcols].to_numpy()
    assert np.array_equal(np.bincount(df["seq"].to_numpy()), lengths)
    lengths = np.asarray(lengths)

    model = cls(**kw, n_iter=N_ITER, tol=-np.inf, init_params="",
                implementation="log")
    # hmmlearn 0.3.3 already uses an unbounded deque(); make sure of it.
    model.monitor_.history = collections.deque()
    for k, v in init.items():
        setattr(model, k, np.array(v, dtype=float))
    init_dict = params_dict(model, cls) if cls is not GaussianHMM else None
    if cls is GaussianHMM:
        init_dict = {"startprob_": tolist(init["startprob_"]),
                     "transmat_": tolist(init["transmat_"]),
                     "means_": tolist(init["means_"]),
                     "covars_": tolist(init["covars_"])}
    # log-likelihood at the starting parameters (score before fit)
    score_init = float(model.score(X, lengths))
    n_warn0 = len(_handler.messages)
    model.fit(X, lengths)
    n_warn = len(_handler.messages) - n_warn0
    assert model.monitor_.iter == N_ITER, (name, model.monitor_.iter)
    history = [float(h) for h in model.monitor_.history]
    assert len(history) == N_ITER
    assert history[0] == score_init or abs(history[0] - score_init) < 1e-9 * abs(score_init), \
        (name, history[0], score_init)

    post = model.predict_proba(X, lengths)
    vit_lp, vit_path = model.decode(X, lengths, algorithm="viterbi")
    map_lp, map_path = model.decode(X, lengths, algorithm="map")
    score = float(model.score(X, lengths))
    rec = {
        "class": cls.__name__,
        "kwargs": kw,
        "effective_params": {k: (v if not isinstance(v, np.generic) else v.item())
                             for k, v in model.get_params().items()
                             if k not in ("tol", "random_state", "init_params")},
        "tol": "-inf",
        "init_params": "",
        "n_iter": N_ITER,
        "monitor_iter": int(model.monitor_.iter),
        "n_samples": int(X.shape[0]),
        "n_features": int(model.n_features),
        "lengths": [int(n) for n in lengths],
        "data_file": fn,
        "init": init_dict,
        "score_init": score_init,
        "history": history,
        "fitted": params_dict(model, cls, full_cov=(cls is GaussianHMM)),
        "score": score,
        "aic": float(model.aic(X, lengths)),
        "bic": float(model.bic(X, lengths)),
        "viterbi_logprob": float(vit_lp),
        "viterbi_path": [int(s) for s in vit_path],
        "map_logprob": float(map_lp),
        "map_path": [int(s) for s in map_path],
        "posteriors_head": tolist(post[:20]),
        "posteriors_colsum": tolist(post.sum(0)),
        "n_fit_scalars": int(sum(model._get_n_fit_scalars_per_param().values())),
        "n_fit_scalars_per_param": {k: int(v) for k, v in
                                    model._get_n_fit_scalars_per_param().items()},
        "n_hmmlearn_warnings": n_warn,
    }
    if cls is GaussianHMM:
        rec["fitted"]["covars_internal"] = tolist(model._covars_)

    # sanity checks
    diffs = np.diff(history)
    rec["history_nondecreasing"] = bool(np.all(diffs >= -1e-9 * np.abs(history[:-1])))
    if name in PLAIN_ML:
        assert rec["history_nondecreasing"], (name, diffs)
    if name == "gauss_diag_zeros":
        A0 = np.asarray(init["transmat_"])
        assert np.all(model.transmat_[A0 == 0] == 0.0), model.transmat_
        assert np.all(model.startprob_[np.asarray(init["startprob_"]) == 0] == 0.0)
    say(f"{name:20s} {cls.__name__:15s} n={X.shape[0]:4d} d={X.shape[1]} "
        f"iter={model.monitor_.iter:2d} history[0]={history[0]!r} "
        f"history[-1]={history[-1]!r} final score={score!r} "
        f"nondecr={rec['history_nondecreasing']} warnings={n_warn}")
    return rec


# --------------------------------------------------------------------------
# GMMHMM: scores, decodings and posteriors at hand-set parameters (no fit)
# --------------------------------------------------------------------------
GMM_LENGTHS = [300, 200]
GMM_PI = [0.6, 0.4]
GMM_A = [[0.92, 0.08], [0.15, 0.85]]
GMM_W = np.array([[0.7, 0.3], [0.4, 0.6]])
GMM_MU = np.array([[[0.0, 0.0], [2.0, -1.0]],
                   [[-3.0, 3.0], [-1.0, 4.0]]])
GMM_VAR = np.array([[[1.0, 0.5], [0.6, 0.9]],
                    [[0.8, 1.2], [0.5, 0.7]]])
GMM_COV = np.array([
    [corr_cov([1.0, 0.7], [[1, 0.5], [0.5, 1]]),
     corr_cov([0.8, 0.9], [[1, -0.4], [-0.4, 1]])],
    [corr_cov([0.9, 1.1], [[1, 0.3], [0.3, 1]]),
     corr_cov([0.7, 0.8], [[1, 0.6], [0.6, 1]])],
])
# the hand-set parameters that are scored: away from the truth
GMM_PI_SET = [0.5, 0.5]
GMM_A_SET = [[0.85, 0.15], [0.2, 0.8]]
GMM_W_SET = np.array([[0.6, 0.4], [0.5, 0.5]])
GMM_MU_SET = GMM_MU + np.array([[[0.3, -0.2], [-0.4, 0.3]],
                                [[0.2, 0.4], [-0.3, -0.2]]])


def sim_gmm(rng, z, weights, means, covs):
    """covs: (K, M, d, d) full covariance matrices."""
    cs = np.cumsum(np.asarray(weights, float), axis=1)
    u = rng.random(len(z))
    mix = np.minimum((u[:, None] >= cs[z]).sum(axis=1), cs.shape[1] - 1)
    d = means.shape[2]
    e = rng.standard_normal((len(z), d))
    chol = np.linalg.cholesky(np.asarray(covs, float))
    return means[z, mix] + np.einsum("nij,nj->ni", chol[z, mix], e)


def case_gmmhmm(seed, covariance_type):
    rng = np.random.default_rng(seed)
    z = sim_states(rng, GMM_PI, GMM_A, GMM_LENGTHS)
    if covariance_type == "diag":
        covs = np.einsum("kmj,ij->kmij", GMM_VAR, np.eye(2))
        covars_set = 1.5 * GMM_VAR + 0.2
    else:
        covs = GMM_COV
        covars_set = 1.3 * GMM_COV + 0.3 * np.eye(2)
    X = sim_gmm(rng, z, GMM_W, GMM_MU, covs)
    kw = dict(n_components=2, n_mix=2, covariance_type=covariance_type)
    params = dict(startprob_=GMM_PI_SET, transmat_=GMM_A_SET, weights_=GMM_W_SET,
                  means_=GMM_MU_SET, covars_=covars_set)
    return kw, X, GMM_LENGTHS, params


GMM_CASES = [
    ("gmmhmm_diag_score", lambda: case_gmmhmm(121, "diag")),
    ("gmmhmm_full_score", lambda: case_gmmhmm(122, "full")),
]


def run_gmm_case(name, make):
    kw, X, lengths, params = make()
    fn = write_csv(name, X, lengths, False)
    df = pd.read_csv(fn)
    xcols = [c for c in df.columns if c.startswith("x")]
    X = df[xcols].to_numpy()
    assert np.array_equal(np.bincount(df["seq"].to_numpy()), lengths)
    lengths = np.asarray(lengths)
    model = GMMHMM(**kw, init_params="", implementation="log")
    for k, v in params.items():
        setattr(model, k, np.array(v, dtype=float))
    score = float(model.score(X, lengths))
    post = model.predict_proba(X, lengths)
    vit_lp, vit_path = model.decode(X, lengths, algorithm="viterbi")
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    seq_scores = [float(model.score(X[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
    rec = {
        "class": "GMMHMM",
        "kwargs": kw,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "lengths": [int(n) for n in lengths],
        "data_file": fn,
        "params": {k: tolist(v) for k, v in params.items()},
        "score": score,
        "seq_scores": seq_scores,
        "viterbi_logprob": float(vit_lp),
        "viterbi_path": [int(s) for s in vit_path],
        "posteriors_head": tolist(post[:20]),
        "posteriors_colsum": tolist(post.sum(0)),
    }
    say(f"{name:20s} GMMHMM          n={X.shape[0]:4d} d={X.shape[1]} "
        f"(no fit) score={score!r} viterbi={float(vit_lp)!r}")
    return rec


def main():
    say("hmmlearn", hmmlearn.__version__, "| numpy", np.__version__,
        "| scipy", scipy.__version__, "| sklearn", sklearn.__version__,
        "| pandas", pd.__version__, "| python", platform.python_version())
    say(f"n_iter={N_ITER}, tol=-inf, init_params='', implementation='log'")
    runs = {}
    with np.errstate(divide="ignore"):
        for name, make in CASES:
            runs[name] = run_case(name, make)
        for name, make in GMM_CASES:
            runs[name] = run_gmm_case(name, make)
    with open(OUT_JSON, "w") as f:
        json.dump(runs, f, indent=1)
        f.write("\n")
    say("zero pattern kept in gauss_diag_zeros transmat_:",
        runs["gauss_diag_zeros"]["fitted"]["transmat_"])
    if _handler.messages:
        say("hmmlearn log warnings (first of each kind):")
        seen = set()
        for m in _handler.messages:
            key = m.split(".")[0]
            if key not in seen:
                seen.add(key)
                say("  ", m)
    with open(OUT_LOG, "w") as f:
        f.write("\n".join(log_lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
