"""mclust's model-based clustering: EM for one covariance model and G, the
BIC/ICL sweep over models and G, and the choice of the best model.

mclust's semantics are reproduced so that its numbers come out:

- every cell starts from the classes of one hierarchical tree (or quantile
  classes in one dimension), M-step first;
- EM stops when ``|l_t - l_{t-1}| / (1 + |l_t|) <= tol`` (1e-5) and ends on an
  E-step; the chosen model gets one more M-step when its mixing proportions
  still differ from the mean responsibilities (mclust's rule);
- a singular covariance or a vanishing component makes the cell NaN with the
  reason, never an exception;
- BIC = 2 logLik - df log n, larger is better; ICL = BIC + 2 sum_i log z_i,map.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import covariance_models as cm
from ._threads import single_threaded_blas
from ._validation import check_data, check_int, check_number
from .engine import DegenerateFitError, EMResult, StoppingRules, check_random_state, run_em
from .gaussian import (GaussianMixtureModel, GaussianParams, GaussianStats, precision_factors,
                       prepare, scatter_matrices, stats_from_resp)
from .hierarchical import initial_classes
from .kmeans import kmeans

__all__ = ["mclust", "mclust_bic", "mclust_icl"]

_INITIALIZATIONS = ("hc", "kmeans", "random")
# summaryMclustBIC refits the chosen model's parameters while its proportions
# still differ from the mean z by this much (summed squares)
_PROPORTION_DRIFT = np.sqrt(np.finfo(float).eps)
_TREE_WARN_ROWS = 10_000  # the tree's pair table grows as rows^2 / 2 doubles
# the one-component models mclust fits in closed form, and what it calls them
_SINGLE = {"EII": "XII", "VII": "XII", "E": "X", "V": "X"}


def single_component_name(model_name: str) -> str:
    """mclust's name for a model with G = 1 (XII, XXI, XXX or X)."""
    if model_name in _SINGLE:
        return _SINGLE[model_name]
    return "XXI" if model_name in cm.DIAGONAL_MODELS else "XXX"


@dataclass
class MclustParams(GaussianParams):
    """Gaussian parameters plus mclust's decomposition of the covariances."""

    variance: cm.Variance | None = None


class MclustEM(GaussianMixtureModel):
    """EM for one of mclust's covariance models: the fused kernel's E-step and
    the model's M-step on the kernel's statistics."""

    def __init__(self, model_name: str, G: int, n_threads: int | None = None):
        super().__init__(G, "diag" if cm.is_diagonal(model_name) else "full", reg_covar=0.0, n_threads=n_threads)
        self.model_name = model_name
        self.previous = None  # the last variance, to warm-start iterative M-steps

    def mstep(self, stats: GaussianStats, *, warm: bool = True) -> MclustParams:
        N = stats.N
        nk = np.maximum(N, np.finfo(float).tiny)  # the model's own test rejects empty components
        scatter = scatter_matrices(stats, nk)
        if scatter.ndim == 2:
            scatter = np.einsum("kj,ij->kij", scatter, np.eye(scatter.shape[1]))
        variance = cm.mstep_variance(self.model_name, N, scatter,
                                     previous=self.previous if warm else None)
        self.previous = variance
        means = stats.centres + stats.S1 / nk[:, None]
        sigma = variance.sigma
        if self.covariance_type == "diag":
            cov = np.diagonal(sigma, axis1=1, axis2=2).copy()
            factors = 1.0 / np.sqrt(cov)
        else:
            cov, factors = sigma, precision_factors(sigma)
        return MclustParams(N / N.sum(), means, cov, factors, self.covariance_type, variance)

    def n_parameters(self, d: int) -> int:
        return cm.n_parameters(self.model_name, d, self.n_components)


@dataclass
class CellFit:
    """One (model, G) cell of the sweep: its EM run, or why it failed."""

    model_name: str
    G: int
    loglik: float = np.nan
    df: int = 0
    bic: float = np.nan
    icl: float = np.nan
    n_iter: int = 0
    reason: str = ""
    result: EMResult | None = field(default=None, repr=False)
    model: MclustEM | None = field(default=None, repr=False)


@dataclass
class _Problem:
    """Validated data and the settings every cell shares."""

    X: np.ndarray
    frame: pd.DataFrame
    data: object
    Gs: list
    models: list
    starts: object
    subset: np.ndarray | None
    rules: StoppingRules
    n_threads: int | None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


def _frame(data) -> pd.DataFrame:
    """The user's data as a DataFrame (never modified; its index kept)."""
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, pd.DataFrame):
        return data
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"data must be a table (rows x columns); got a {arr.ndim}-D array")
    return pd.DataFrame(arr, columns=[f"X{j + 1}" for j in range(arr.shape[1])])


def _check_models(models, n: int, d: int) -> list:
    if models is None:
        if d == 1:
            return list(cm.UNIVARIATE_MODELS)
        # mclust: with no more rows than columns only the diagonal models can be fitted
        return [m for m in cm.MODEL_NAMES if n > d or m in cm.DIAGONAL_MODELS]
    models = [models] if isinstance(models, str) else list(models)
    if not models:
        raise ValueError("models is empty; give model codes such as ['EII', 'VVV'] or None "
                         "for all")
    valid = cm.UNIVARIATE_MODELS + cm.MODEL_NAMES
    unknown = [m for m in models if m not in valid]
    if unknown:
        raise ValueError(f"unknown model name(s) {unknown}; choose from {list(valid)}")
    if d == 1:
        # mclust's reading: in one dimension a name starting with E or V means E or V
        return [m for m in cm.UNIVARIATE_MODELS if any(x[0] == m for x in models)]
    univariate = [m for m in models if m in cm.UNIVARIATE_MODELS]
    if univariate:
        raise ValueError(f"model(s) {univariate} are for one-column data; the data have "
                         f"{d} columns")
    return list(dict.fromkeys(models))


def _check_G(G, n: int) -> list:
    if G is None:
        return list(range(1, min(9, n) + 1))  # mclust's default, as far as the rows allow
    Gs = np.asarray(G, dtype=object).ravel().tolist()
    if not Gs:
        raise ValueError("G is empty; give the numbers of components to try, e.g. range(1, 10)")
    Gs = sorted({check_int(g, "G", 1) for g in Gs})
    if Gs[-1] > n:
        raise ValueError(f"G = {Gs[-1]} is larger than the number of rows ({n}); "
                         "a mixture cannot have more components than rows")
    return Gs


def _problem(data, G, models, initialization, n_init, subset, random_state, tol, max_iter,
             n_threads) -> _Problem:
    frame = _frame(data)
    X, columns = check_data(frame, "data", min_rows=2,
                            missing="emkit.mclust does not handle missing values yet: drop "
                            "the rows (data.dropna()) or impute them first")
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if constant.size:
        names = [columns[c] for c in constant]
        raise ValueError(f"data has constant column(s) {names}: no covariance model can be "
                         "fitted to a column with zero variance; drop them")
    n, d = X.shape
    models = _check_models(models, n, d)
    Gs = _check_G(G, n)
    tol = check_number(tol, "tol")
    if initialization not in _INITIALIZATIONS:
        raise ValueError(f"initialization must be one of {_INITIALIZATIONS}, "
                         f"got {initialization!r}")
    n_init = check_int(n_init, "n_init", 1)
    rng = check_random_state(random_state)
    if initialization == "hc" and n_init != 1:
        raise ValueError("the hierarchical start is deterministic: n_init applies to "
                         "initialization='kmeans' or 'random'")
    rows = _subset_rows(subset, n, rng) if initialization == "hc" else None
    tree_rows = n if rows is None else rows.size
    if initialization == "hc" and d > 1 and tree_rows > _TREE_WARN_ROWS:
        warnings.warn(f"the hierarchical start on {tree_rows} rows keeps a table of "
                      f"{tree_rows * (tree_rows - 1) / 2 * 8 / 2**30:.1f} GiB and takes time "
                      "quadratic in the rows; a subset (subset=2000, mclust's default) is "
                      "usually as good", UserWarning, stacklevel=3)
    rules = StoppingRules(rtol=tol, max_iter=max_iter)
    gdata = prepare(X)
    many = [g for g in Gs if g > 1]
    if initialization == "hc":
        tree = X if rows is None else X[rows]
        distinct = len(np.unique(tree, axis=0))
        classes = initial_classes(tree, [g for g in many if g <= distinct]) if many else {}
        # more components than distinct rows: no start, so a NaN cell (mclust's too)
        starts = {g: [classes[g]] if g in classes else [] for g in many}
    else:
        starts = _RandomStarts(initialization, gdata, n_init, rng)
    return _Problem(X, frame, gdata, Gs, models, starts, rows, rules, n_threads)


def _subset_rows(subset, n: int, rng) -> np.ndarray | None:
    """The rows the tree is grown on: None for all; a random sample of
    ``subset`` rows when there are more; or the given row indices (in their
    order, as mclust's ``initialization = list(subset = ...)``)."""
    if subset is None:
        return None
    if np.ndim(subset) == 0:
        size = check_int(subset, "subset", 2)
        return np.sort(rng.choice(n, size=size, replace=False)) if n > size else None
    rows = np.asarray(subset)
    if rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise TypeError("subset must be an int or a 1-D array of row positions")
    if rows.size < 2 or rows.min() < 0 or rows.max() >= n or np.unique(rows).size != rows.size:
        raise ValueError(f"subset must hold at least 2 distinct row positions in 0..{n - 1}")
    return rows


class _RandomStarts:
    """Starting classes drawn afresh for each G: k-means, or the nearest of G
    rows picked at random (on standardised columns)."""

    def __init__(self, method, data, n_init, rng):
        self.method, self.data, self.n_init, self.rng = method, data, n_init, rng
        self._cache = {}

    def __getitem__(self, G):
        if G not in self._cache:
            self._cache[G] = [self._draw(G) for _ in range(self.n_init)]
        return self._cache[G]

    def _draw(self, G):
        """Classes 1..G of one start (labels, not an n x G matrix, so that the
        cached starts stay O(n) each)."""
        if self.method == "kmeans":
            labels, _ = kmeans(self.data.X, G, self.rng, self.data.w, self.data.shift)
            return labels + 1
        Z = (self.data.X - self.data.shift) / np.sqrt(self.data.variances)
        centres = Z[self.rng.choice(Z.shape[0], size=G, replace=False)]
        return np.argmin((centres**2).sum(1) - 2.0 * Z @ centres.T, axis=1) + 1


def _unmap(classes: np.ndarray, G: int) -> np.ndarray:
    """mclust's unmap: hard responsibilities from classes 1..G."""
    z = np.zeros((classes.size, G))
    z[np.arange(classes.size), classes - 1] = 1.0
    return z


def fit_cell(problem: _Problem, model_name: str, G: int) -> CellFit:
    """EM for one model and G from the problem's start(s); the best of them."""
    n, d = problem.n, problem.d
    name = single_component_name(model_name) if G == 1 else model_name
    cell = CellFit(model_name, G, df=cm.n_parameters(model_name, d, G))
    starts = [np.ones(n, dtype=int)] if G == 1 else problem.starts[G]
    reasons = []
    for classes in starts:
        model = MclustEM(name, G, problem.n_threads)
        try:
            result = _run_from(problem, model, _unmap(classes, G))
        except DegenerateFitError as err:
            reasons.append(str(err))
            continue
        if cell.result is None or result.loglik > cell.loglik:
            cell.result, cell.model, cell.loglik = result, model, result.loglik
            cell.n_iter = result.n_iter
    if cell.result is None:
        cell.reason = reasons[-1] if reasons else (
            f"no start: the data have fewer than {G} distinct rows")
        return cell
    cell.bic = 2.0 * cell.loglik - cell.df * np.log(n)
    return cell


def _run_from(problem: _Problem, model: MclustEM, z: np.ndarray) -> EMResult:
    data, rows = problem.data, problem.subset
    if rows is not None and model.n_components > 1:  # G = 1 is fitted to all rows
        # mclust: an M-step on the subset the tree was grown on, an E-step on all rows
        params = model.mstep(stats_from_resp(prepare(problem.X[rows]), z,
                                             model.covariance_type))
        stats, _ = model.estep(data, params)
        model.previous = None  # mclust's EM then starts afresh from these responsibilities
    else:
        stats = stats_from_resp(data, z, model.covariance_type)
    params = model.mstep(stats)
    result = run_em(model, data, params, problem.rules, warn=False)
    if result.stop_reason == "max_iter":
        warnings.warn(f"{model.model_name} with G = {model.n_components}: EM reached "
                      f"max_iter = {problem.rules.max_iter} before tol; raise max_iter",
                      UserWarning, stacklevel=4)
    return result


def responsibilities(model: MclustEM, data, params) -> np.ndarray:
    """The (n, G) conditional probabilities z at ``params``."""
    z = np.empty((data.X.shape[0], model.n_components))
    model.estep(data, params, stats=False, resp=z)
    return z


def icl(bic: float, z: np.ndarray) -> float:
    """ICL = BIC + 2 sum_i log z_i,map (mclust's icl.Mclust); z_i,map >= 1/G > 0."""
    return bic + 2.0 * np.log(z.max(axis=1)).sum()


def icl_of(cell: CellFit, problem: _Problem) -> float:
    """The ICL of a cell's fit (NaN for a failed cell)."""
    if cell.result is None:
        return np.nan
    return icl(cell.bic, responsibilities(cell.model, problem.data, cell.result.params))


def pick_order(table: pd.DataFrame):
    """Cells best first by mclust's pickBIC rule: larger value, then G and model
    name as text; NaN cells last."""
    cells = [(-table.at[g, m] if np.isfinite(table.at[g, m]) else np.inf, str(g), m, g)
             for g in table.index for m in table.columns]
    return [(g, m) for _, _, m, g in sorted(cells)]


def sweep(problem: _Problem, *, icl: bool = False, verbose: bool = True):
    """Fit every (G, model) cell; returns {(G, model): CellFit} without the EM
    runs themselves (only the numbers the tables need)."""
    from tqdm.auto import tqdm

    cells = {}
    grid = [(g, m) for g in problem.Gs for m in problem.models]
    with single_threaded_blas(), tqdm(total=len(grid), desc="mclust", unit="model",
                                      delay=1.0, disable=not verbose, leave=False) as bar:
        for g, m in grid:
            bar.set_postfix_str(f"{m},{g}", refresh=False)
            cell = fit_cell(problem, m, g)
            if icl:
                cell.icl = icl_of(cell, problem)
            cells[g, m] = _slim(cell)
            bar.update()
    return cells


def _slim(cell: CellFit) -> CellFit:
    """Drop the cell's EM run and model: their O(n K) arrays are not needed
    once the table's numbers are taken."""
    cell.result = None
    cell.model = None
    return cell


def refit(problem: _Problem, model_name: str, G: int):
    """The chosen cell again, with mclust's final M-step rule; returns
    (cell, params, z)."""
    cell = fit_cell(problem, model_name, G)
    if cell.result is None:
        raise DegenerateFitError(cell.reason)
    result, model = cell.result, cell.model
    params = result.params
    z = responsibilities(model, problem.data, params)
    # mclust: always after a subset start, otherwise only while the proportions
    # still move
    moving = np.sum((params.weights - z.mean(axis=0)) ** 2) > _PROPORTION_DRIFT
    if G > 1 and (problem.subset is not None or moving):
        try:
            params = model.mstep(result.stats, warm=False)
        except DegenerateFitError:
            pass  # mclust keeps the EM parameters when the extra step fails
    cell.icl = icl(cell.bic, z)
    return cell, params, z


def mclust_bic(data, G=None, models=None, *, initialization="hc", n_init=1, subset=2000,
               random_state=None, tol=1e-5, max_iter=100_000, verbose=True, n_threads=None):
    """BIC of every covariance model and number of components, as mclust's ``mclustBIC``.

    Parameters
    ----------
    data : DataFrame or array (n, d)
        Numeric data without missing values; never modified.
    G : int or iterable of int, default 1..9
        Numbers of components to try.
    models : str or list of str, default all 14 (E and V for one column)
        mclust's model codes: EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE,
        EEV, VEV, EVV, VVV (and E, V for univariate data).
    initialization : {"hc", "kmeans", "random"}
        "hc" (default) is mclust's: the classes of one model-based hierarchical
        tree (VVV on the SVD-transformed data; quantile classes for one
        column). "kmeans" (k-means classes) and "random" (each row in the
        class of the nearest of G random rows) draw ``n_init`` starts per G
        and keep the best.
    n_init : int
        Starts per cell for "kmeans" and "random".
    subset : int, array of row positions, or None
        For more rows than this, the tree is grown on a random subset of this
        many rows (mclust's default 2000); given row positions are used as
        they are (mclust's ``initialization = list(subset = ...)``, 0-based
        here); None grows it on all rows.
    random_state : None, int or Generator
        Seeds the subset and the random starts.
    tol : float
        EM stops when the relative change of the log-likelihood, ``|dl| / (1 + |l|)``,
        is at most ``tol`` (mclust's 1e-5).
    max_iter : int
        At most this many EM iterations per cell.
    verbose : bool
        A progress bar over the cells when the sweep takes more than a second.
    n_threads : int or None
        OpenMP threads for the E-step (None: all).

    Returns
    -------
    MclustBIC
        ``.table`` (DataFrame, index G, columns models, NaN for failed cells),
        ``.reasons`` for the NaN cells, ``.top(k)``; prints like mclust.
    """
    from .mclust_results import MclustBIC

    problem = _problem(data, G, models, initialization, n_init, subset, random_state, tol,
                       max_iter, n_threads)
    cells = sweep(problem, verbose=verbose)
    return MclustBIC.from_cells(cells, problem, "BIC")


def mclust_icl(data, G=None, models=None, *, initialization="hc", n_init=1, subset=2000,
               random_state=None, tol=1e-5, max_iter=100_000, verbose=True, n_threads=None):
    """ICL of every covariance model and G, as mclust's ``mclustICL``.

    ICL = BIC + 2 sum_i log z_i,map: BIC penalised by the entropy of the
    classification (larger is better).  The arguments are :func:`mclust_bic`'s.

    Returns
    -------
    MclustBIC
        With ``criterion == "ICL"``.
    """
    from .mclust_results import MclustBIC

    problem = _problem(data, G, models, initialization, n_init, subset, random_state, tol,
                       max_iter, n_threads)
    cells = sweep(problem, icl=True, verbose=verbose)
    return MclustBIC.from_cells(cells, problem, "ICL")


def mclust(data, G=None, models=None, *, initialization="hc", n_init=1, subset=2000,
           random_state=None, tol=1e-5, max_iter=100_000, verbose=True, n_threads=None):
    """Model-based clustering as mclust's ``Mclust``: fit every covariance model
    for every G, choose the best by BIC, and return that fit.

    The arguments are :func:`mclust_bic`'s.  BIC here is mclust's,
    ``2 logLik - df log n`` (larger is better): minus scikit-learn's ``bic()``.

    Returns
    -------
    MclustResult
        ``model_name``, ``G``, ``bic``, ``icl``, ``loglik``, ``df``, ``n``, ``d``,
        ``bic_table``, ``parameters``, ``z``, ``classification``,
        ``uncertainty``; ``summary()``, ``plot()``, ``predict()``.

    Examples
    --------
    >>> import emkit
    >>> res = emkit.mclust(emkit.datasets.load_faithful(), verbose=False)
    >>> res.model_name, res.G
    ('EEE', 3)
    """
    from .mclust_results import MclustBIC, MclustResult

    problem = _problem(data, G, models, initialization, n_init, subset, random_state, tol,
                       max_iter, n_threads)
    cells = sweep(problem, verbose=verbose)
    bic = MclustBIC.from_cells(cells, problem, "BIC")
    best = bic.best()
    if best is None:
        raise DegenerateFitError("no model could be fitted: every cell is NaN; "
                                 f"reasons: {bic.reasons}")
    G_best, model_name = best
    with single_threaded_blas():
        cell, params, z = refit(problem, model_name, G_best)
    return MclustResult(problem, bic, cell, params, z)
