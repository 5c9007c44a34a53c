"""mclust's covariance models (emkit.covariance_models) against mclust 6.0.0.

References: tests/reference/mclust/mstep/, written by make_mstep_reference.R there.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import cholesky, expm
from scipy.optimize import minimize

from emkit import _mstep
from emkit import covariance_models as cm
from emkit.engine import ConvergenceWarning, DegenerateFitError

REF = Path(__file__).parent / "reference" / "mclust"
MSTEP = REF / "mstep"
ALL_MODELS = cm.MODEL_NAMES + cm.UNIVARIATE_MODELS
ITERATIVE = ("VEI", "VEE", "EVE", "VVE", "VEV")
RTOL = 1e-8


def load_data(name):
    return pd.read_csv(REF / f"{name}.csv").to_numpy(float)


def load_z(path):
    return pd.read_csv(path).to_numpy(float)


def sufficient_statistics(X, z):
    """N_k and the scatter matrices about the weighted means, as our EM passes them."""
    N = z.sum(0)
    mu = z.T @ X / N[:, None]
    W = np.array([((X - m).T * zk) @ (X - m) for m, zk in zip(mu, z.T)])
    return N, W


def columns_for(model, X):
    return X[:, :1] if model in cm.UNIVARIATE_MODELS else X


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    assert ours.shape == theirs.shape
    return np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))


def orientation_error(ours, theirs):
    """Largest difference once each of our columns takes the sign of R's."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    signs = np.sign(np.sum(ours * theirs, axis=-2, keepdims=True))
    return np.max(np.abs(ours * signs - theirs))


def assert_matches_mclust(var, reference):
    assert relative_error(var.sigma, reference["sigma"]) < RTOL
    for field in ("scale", "shape"):
        if reference.get(field) is None:
            assert getattr(var, field) is None
        else:
            assert relative_error(getattr(var, field), reference[field]) < RTOL, field
    if reference.get("orientation") is None:
        assert var.orientation is None
    else:
        assert orientation_error(var.orientation, reference["orientation"]) < RTOL


@pytest.fixture(scope="module", params=["faithful", "iris"])
def dataset(request):
    name = request.param
    return (name, load_data(name), load_z(MSTEP / f"z_{name}.csv"),
            json.loads((MSTEP / f"mstep_{name}.json").read_text()),
            json.loads((MSTEP / f"me_{name}.json").read_text()))


# ------------------------------------------------------------------ against R

@pytest.mark.parametrize("model", ALL_MODELS)
def test_mstep_matches_mclust(dataset, model):
    _, X, z, mstep, _ = dataset
    var = cm.mstep_variance(model, *sufficient_statistics(columns_for(model, X), z))
    assert_matches_mclust(var, mstep[model]["variance"])
    if model in ITERATIVE:
        assert var.n_inner == mstep[model]["inner"]


@pytest.mark.parametrize("model", ITERATIVE)
def test_chained_msteps_follow_me(dataset, model):
    """Each M-step of me()'s first three EM iterations, fed the z of the E-step
    before it and the previous M-step: mclust warm-starts VEI, VEV, EVE, VVE."""
    name, X, z, _, me = dataset
    previous = None
    for step in me[model]:
        stats = sufficient_statistics(X, z)
        var = cm.mstep_variance(model, *stats, previous=previous)
        assert_matches_mclust(var, step["variance"])
        if model in ("EVE", "VVE", "VEE"):  # their me() reports this M-step's count
            assert var.n_inner == step["inner"]
        if name == "iris" and model in ("EVE", "VVE") and previous is not None:
            cold = cm.mstep_variance(model, *stats)
            assert relative_error(cold.sigma, step["variance"]["sigma"]) > 1e-6
        previous = var
        z = np.array(step.get("z", z))


def test_parameter_counts_match_nMclustParams():
    table = pd.read_csv(MSTEP / "df.csv")
    assert len(table) == 9 * (2 + 4 * 14)
    for model, d, G, df in table.itertuples(index=False):
        assert cm.n_parameters(model, d, G) == df, (model, d, G)
        assert cm.n_variance_parameters(model, d, G) == df - G * d - (G - 1)


def test_names_and_aliases():
    assert set(cm.DESCRIPTIONS) >= set(ALL_MODELS)
    assert cm.DESCRIPTIONS["EEE"] == "ellipsoidal, equal volume, shape and orientation"
    assert cm.n_variance_parameters("XXX", 4, 1) == cm.n_variance_parameters("EEE", 4, 1)
    with pytest.raises(ValueError, match="unknown model"):
        cm.n_variance_parameters("EVX", 2, 2)


def test_diagonal_models_give_diagonal_sigma():
    X, z = load_data("iris"), load_z(MSTEP / "z_iris.csv")
    for model in cm.MODEL_NAMES:
        sigma = cm.mstep_variance(model, *sufficient_statistics(X, z)).sigma
        off = sigma - np.einsum("kii->ki", sigma)[:, :, None] * np.eye(4)
        assert (np.max(np.abs(off)) == 0) == (model in cm.DIAGONAL_MODELS), model


# ------------------------------------------------------------------ the M-step maximises

def sigma_from(model, theta, G, d):
    """lambda_k D_k diag(a_k) D_k' from an unconstrained vector over the model's set:
    log volumes, log shapes (summing to 0), skew generators of the rotations."""
    letters = {"E": "EII", "V": "VII"}.get(model, model)
    count = {"E": 1, "V": G}
    pos = 0

    def take(n):
        nonlocal pos
        pos += n
        return theta[pos - n:pos]

    lam = np.broadcast_to(np.exp(take(count[letters[0]])), G)
    if letters[1] == "I":
        shape = np.ones((G, d))
    else:
        raw = take(count[letters[1]] * (d - 1)).reshape(-1, d - 1)
        shape = np.broadcast_to(np.exp(np.hstack([raw, -raw.sum(1, keepdims=True)])), (G, d))
    if letters[2] == "I":
        D = np.broadcast_to(np.eye(d), (G, d, d))
    else:
        iu = np.triu_indices(d, 1)
        rotations = []
        for gen in take(count[letters[2]] * len(iu[0])).reshape(-1, len(iu[0])):
            S = np.zeros((d, d))
            S[iu] = gen
            rotations.append(expm(S - S.T))
        D = np.broadcast_to(np.array(rotations), (G, d, d))
    assert pos == len(theta)
    return lam[:, None, None] * np.einsum("kij,kj,klj->kil", D, shape, D)


def expected_loglik(sigma, N, W):
    """-1/2 sum_k [N_k log|Sigma_k| + tr(Sigma_k^-1 W_k)]."""
    logdet = np.linalg.slogdet(sigma)[1]
    return -0.5 * np.sum(N * logdet + np.einsum("kij,kji->k", np.linalg.inv(sigma), W))


@pytest.mark.parametrize("model", ALL_MODELS)
def test_mstep_maximises_expected_loglik(model):
    rng = np.random.default_rng(7)
    G, d = 3, (1 if model in cm.UNIVARIATE_MODELS else 3)
    N = np.array([6.0, 9.0, 15.0])
    W = np.array([(B := rng.normal(size=(d, 2 * d)) * rng.uniform(0.5, 3, size=(d, 1))) @ B.T
                  for _ in range(G)])
    ours = expected_loglik(cm.mstep_variance(model, N, W, tol=1e-13).sigma, N, W)
    size = cm.n_variance_parameters(model, d, G)  # sigma_from's length: a check of the count
    best = -np.inf
    for start in range(3):
        theta0 = np.random.default_rng(start).normal(scale=0.3, size=size)
        res = minimize(lambda t: -expected_loglik(sigma_from(model, t, G, d), N, W), theta0,
                       method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        best = max(best, -res.fun)
    assert ours <= best + 1e-6 * (1 + abs(ours))
    if model == "VVE":
        # mclust's VVE routines (msvve/mevve) update D as EVE's do, with A_k^-1
        # where the model needs A_k^-1 / lambda_k: their M-step, which we must
        # follow, stops short of the maximum
        assert ours < best - 1e-6 * (1 + abs(ours))
    else:
        assert ours >= best - 1e-9 * (1 + abs(ours))


# ------------------------------------------------------------------ degeneracy

def random_scatter(rng, G, d, null_last=False):
    B = rng.normal(size=(G, d, 3 * d))
    if null_last:
        B[:, -1] = 0  # every component flat in the last variable
    return B @ B.transpose(0, 2, 1)


@pytest.mark.parametrize("model", cm.MODEL_NAMES)
def test_singular_scatter_is_degenerate(model):
    rng = np.random.default_rng(1)
    N, W = np.array([10.0, 20.0]), random_scatter(rng, 2, 3, null_last=True)
    if model in ("EII", "VII"):  # a variance averaged over the variables: still positive
        cm.mstep_variance(model, N, W)
        return
    with pytest.raises(DegenerateFitError, match=model) as info:
        cm.mstep_variance(model, N, W)
    # mevvi reports a zero variance as a vanished component
    expected = cm.VANISHED if model == "VVI" else cm.SINGULAR
    assert info.value.mclust_warning == expected


@pytest.mark.parametrize("model", ALL_MODELS)
def test_vanished_component_is_degenerate(model):
    rng = np.random.default_rng(2)
    d = 1 if model in cm.UNIVARIATE_MODELS else 3
    N, W = np.array([10.0, 1e-9, 20.0]), random_scatter(rng, 3, d)
    W[1] *= 1e-9
    with pytest.raises(DegenerateFitError, match="component 2:") as info:
        cm.mstep_variance(model, N, W)
    assert info.value.component == 1
    if model not in ("VEE", "EVE", "VVE", "EVV"):  # these test the covariances first
        assert info.value.mclust_warning == cm.VANISHED
    N[1], W[1] = 0.0, np.nan  # no weight at all: the caller's mean is 0/0
    with pytest.raises(DegenerateFitError, match="component 2:"):
        cm.mstep_variance(model, N, W)


@pytest.mark.parametrize("model", ["VEE", "EVV"])
def test_iris_na_bic_cells(model):
    """mclustBIC(iris) is NA for VEE at G = 5 and EVV at G = 5: the M-step where
    mclust's EM gives up fails here too, on the same component, and the one before
    it does not.  VEE: a component shrinks onto the single flower 42; EVV: one
    flattens onto the 29 setosa flowers with Petal.Width = 0.2."""
    X, failure = load_data("iris"), json.loads((MSTEP / "degenerate.json").read_text())[model]
    before = load_z(MSTEP / f"degenerate_iris_{model}_G5_previous.csv")
    cm.mstep_variance(model, *sufficient_statistics(X, before))
    z = load_z(MSTEP / f"degenerate_iris_{model}_G5.csv")
    with pytest.raises(DegenerateFitError) as info:
        cm.mstep_variance(model, *sufficient_statistics(X, z))
    assert info.value.mclust_warning == failure["warning"] == cm.SINGULAR
    assert info.value.component == {"VEE": 2, "EVV": 1}[model]


def first_step_cases():
    """The two starts of make_mstep_reference.R's first_step.json, rebuilt."""
    X = load_data("iris")
    species = np.repeat(np.eye(3), 50, axis=0)
    flat = X.copy()
    flat[:50, 3] = 0.25
    vanish = np.hstack([species, np.full((150, 1), 1e-11)])
    vanish /= vanish.sum(1, keepdims=True)
    return {"flat": (flat, species), "vanish": (X, vanish)}


@pytest.mark.parametrize("case", ["flat", "vanish"])
def test_first_step_fails_where_mclust_does(case):
    """me() from z = the species, one M-step: setosa flat in Petal.Width, or a
    fourth component of weight 1.5e-9.  NA in R exactly where we raise, with
    mclust's warning."""
    X, z = first_step_cases()[case]
    expected = json.loads((MSTEP / "first_step.json").read_text())[case]
    stats = sufficient_statistics(X, z)
    for model in cm.MODEL_NAMES:
        if expected[model]["na"]:
            with pytest.raises(DegenerateFitError) as info:
                cm.mstep_variance(model, *stats)
            assert info.value.mclust_warning == expected[model]["warning"], model
        else:
            cm.mstep_variance(model, *stats)


# ------------------------------------------------------------------ the interface

def test_inner_iteration_limit_warns():
    X, z = load_data("iris"), load_z(MSTEP / "z_iris.csv")
    with pytest.warns(ConvergenceWarning, match="inner iteration limit"):
        var = cm.mstep_variance("EVE", *sufficient_statistics(X, z), max_iter=2)
    assert var.n_inner == 2


def test_bad_arguments():
    N, W = np.ones(2), np.array([np.eye(2), np.eye(2)])
    with pytest.raises(ValueError, match="unknown model"):
        cm.mstep_variance("XYZ", N, W)
    with pytest.raises(ValueError, match="univariate"):
        cm.mstep_variance("E", N, W)
    with pytest.raises(ValueError, match="univariate"):
        cm.mstep_variance("EEE", N, W[:, :1, :1])
    with pytest.raises(ValueError, match="expected N"):
        cm.mstep_variance("EEE", np.ones(3), W)
    previous = cm.mstep_variance("EVE", N, W)
    with pytest.raises(ValueError, match="not VVE"):
        cm.mstep_variance("VVE", N, W, previous=previous)
    with pytest.raises(ValueError, match="number of components"):
        cm.mstep_variance("EVE", np.ones(3), np.array([np.eye(2)] * 3), previous=previous)
    # aliases, and models that do not warm-start ignore previous
    assert cm.mstep_variance("XXX", N, W).model_name == "EEE"
    cm.mstep_variance("VEE", N, W, previous=previous)


@pytest.mark.parametrize("model", ITERATIVE)
def test_inner_iteration_limit_as_mclust_reads_it(model):
    """max_iter = 0, 1, 2: mevei allows one pass more than the limit, mevee,
    meeve and mevve always make one, mevev none at 0; reaching it warns."""
    stats = sufficient_statistics(load_data("iris"), load_z(MSTEP / "z_iris.csv"))
    expected = {"VEI": [0, 2, 3], "VEV": [0, 1, 2]}.get(model, [1, 1, 2])
    inner, warned = [], []
    for max_iter in (0, 1, 2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inner.append(cm.mstep_variance(model, *stats, max_iter=max_iter).n_inner)
        warned.append(any(issubclass(w.category, ConvergenceWarning) for w in caught))
    assert inner == expected
    assert warned == [n > 0 for n in expected]


def test_inputs_in_any_layout_and_previous_left_alone():
    """The kernels take C-contiguous float arrays: views, Fortran order and lists
    give the same M-step, and a warm start does not write into previous."""
    N, W = sufficient_statistics(load_data("iris"), load_z(MSTEP / "z_iris.csv"))
    layouts = [(np.repeat(N, 2)[::2], np.asfortranarray(W)),
               (N.tolist(), W.transpose(0, 2, 1).copy().transpose(0, 2, 1)),
               (tuple(N), W.tolist())]
    for model in cm.MODEL_NAMES:
        previous = cm.mstep_variance(model, N * 1.1, W * 1.2)
        kept = {f: np.copy(getattr(previous, f)) for f in ("scale", "shape", "orientation")
                if getattr(previous, f) is not None}
        ref = cm.mstep_variance(model, N, W, previous=previous)
        for N2, W2 in layouts:
            var = cm.mstep_variance(model, N2, W2, previous=previous)
            assert np.array_equal(var.sigma, ref.sigma) and var.n_inner == ref.n_inner, model
        for field, value in kept.items():
            assert np.array_equal(getattr(previous, field), value)


# ------------------------------------------------------------------ the compiled helpers

def test_eigh_in_mclusts_order():
    """|eigenvalues| decreasing, ties kept in LAPACK's order, as a stable
    sort of numpy's eigh gives them (mclust takes them from an SVD)."""
    rng = np.random.default_rng(3)
    B = rng.normal(size=(4, 5, 5))
    W = B + B.transpose(0, 2, 1)  # indefinite: negative eigenvalues too
    W[3] = np.diag([2.0, -2.0, 1.0, 2.0, 0.5])  # |eigenvalue| ties
    values, vectors = _mstep.eigh(W)
    ref_values, ref_vectors = np.linalg.eigh(W)
    order = np.argsort(-np.abs(ref_values), axis=-1, kind="stable")
    np.testing.assert_allclose(values, np.take_along_axis(np.abs(ref_values), order, -1),
                               rtol=1e-13)
    assert orientation_error(vectors, np.take_along_axis(ref_vectors, order[:, None, :], -1)) \
        < 1e-12
    assert values[3].tolist() == [2.0, 2.0, 2.0, 1.0, 0.5]


def test_cholesky_ratios():
    """min/(1 + max) of the Cholesky factor's diagonal, 0 where not positive definite."""
    rng = np.random.default_rng(4)
    A = random_scatter(rng, 3, 4)
    A[1, 0, 0] = -1.0
    expected = []
    for a in A:
        try:
            r = np.diag(cholesky(a))
            expected.append(r.min() / (1 + r.max()))
        except np.linalg.LinAlgError:
            expected.append(0.0)
    assert expected[1] == 0.0
    np.testing.assert_allclose(_mstep.cholesky_ratios(A), expected, rtol=1e-13)
