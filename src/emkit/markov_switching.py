"""``emkit.markov_switching``: Hamilton's Markov-switching regression, fitted by EM.

    y_t = x_t' beta_{s_t} + e_t,   e_t ~ N(0, sigma^2_{s_t}),

with s_t a K-state Markov chain.  The E-step takes each row's log-density
under every regime from the mixture-of-regressions kernel (``_regmix``), runs
the scaled forward-backward of the HMM kernel (``_hmm``), and hands the
smoothed regime probabilities back to ``_regmix`` for each regime's weighted
least-squares statistics; the M-step is flexmix's Gaussian one plus the
transition matrix.  With the steady-state initial distribution (statsmodels'
convention) the transition M-step also carries the initial term, and is
solved numerically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _hmm, engine
from ._validation import check_int
from .hmm_base import dirichlet_mode
from .regmix_design import build_design
from .regmix_fit import DENSITY, GIVEN, RegmixEM, RegmixParams, RegmixStats

INITIAL = ("steady-state", "estimated")


@dataclass
class MSParams:
    beta: np.ndarray       # (K, p)
    sigma: np.ndarray      # (K,) (all equal without switching variance)
    transmat: np.ndarray   # (K, K) row-stochastic: transmat[i, j] = P(s_t = j | s_{t-1} = i)
    startprob: np.ndarray  # (K,) the initial distribution in use


@dataclass
class MSStats:
    params: MSParams
    reg: RegmixStats       # per-regime N, S (sum tau r^2), g (X'T r), H (X'T X)
    trans: np.ndarray      # expected transition counts
    start: np.ndarray      # smoothed probabilities of the first row
    post: np.ndarray       # (n, K) smoothed probabilities


def stationary(P: np.ndarray) -> np.ndarray:
    """The stationary distribution pi = pi P of a row-stochastic matrix."""
    K = P.shape[0]
    A = (np.eye(K) - P).T
    A[-1] = 1.0  # one balance equation is redundant: normalise instead
    b = np.zeros(K)
    b[-1] = 1.0
    try:
        pi = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:  # a reducible chain: any stationary vector
        pi = np.linalg.lstsq(np.vstack([(np.eye(K) - P).T, np.ones(K)]), np.r_[np.zeros(K), 1.0],
                             rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _rows_to_logits(P):
    with np.errstate(divide="ignore"):
        return (np.log(P[:, :-1]) - np.log(P[:, -1:])).ravel()


def _logits_to_rows(theta, K, rows=None):
    """Row-stochastic (rows, K) from log-ratios against the last column."""
    rows = K if rows is None else rows
    L = np.zeros((rows, K))
    L[:, :-1] = theta.reshape(rows, K - 1)
    L -= L.max(axis=1, keepdims=True)
    E = np.exp(L)
    return E / E.sum(axis=1, keepdims=True)


class MarkovSwitchingEM:
    """E- and M-steps for :mod:`emkit.engine` (one series)."""

    def __init__(self, design, K: int, switching_variance: bool, initial, n_threads: int = 0):
        self.reg = RegmixEM(design, K, n_threads)
        self.K, self.p, self.n = K, design.X.shape[1], design.n
        self.switching_variance = switching_variance
        self.initial = initial  # "steady-state", "estimated" or a fixed (K,) array
        self.estimated = isinstance(initial, str) and initial == "estimated"
        self.steady_state = isinstance(initial, str) and initial == "steady-state"
        self.n_threads = n_threads
        self.bounds = np.array([0, self.n], dtype=np.intp)
        self.post = np.empty((self.n, K))
        self.scale = np.empty(self.n)

    # ---- pieces ------------------------------------------------------------
    def _reg_params(self, params: MSParams) -> RegmixParams:
        return RegmixParams(params.beta, params.sigma, np.zeros((1, self.K)))

    def log_densities(self, params: MSParams) -> np.ndarray:
        out = np.empty((self.n, self.K))
        self.reg.kernel(self._reg_params(params), DENSITY, out)
        return out

    def initial_probs(self, transmat, startprob=None):
        if self.steady_state:
            return stationary(transmat)
        return startprob if self.estimated else self.initial

    def smooth(self, params: MSParams):
        """(log-likelihood, smoothed (n, K), expected transitions, first-row probabilities)."""
        K = self.K
        xi, start = np.empty((K, K)), np.empty(K)
        ll = _hmm.forward_backward(self.log_densities(params), params.startprob,
                                   params.transmat, self.bounds, np.empty(1), self.post,
                                   self.scale, xi, start, self.n_threads)
        if not np.isfinite(ll):
            raise engine.DegenerateFitError(
                "the series has probability zero (or an undefined likelihood) under the "
                "current parameters")
        return ll, self.post, xi, start

    def filtered(self, params: MSParams) -> np.ndarray:
        out = np.empty((self.n, self.K))
        _hmm.forward_backward(self.log_densities(params), params.startprob, params.transmat,
                              self.bounds, np.empty(1), out, n_threads=self.n_threads)
        return out

    # ---- the engine's interface -----------------------------------------------
    def estep(self, data, params: MSParams):
        ll, post, xi, start = self.smooth(params)
        _, N, Q, S, g, H = self.reg.kernel(self._reg_params(params), GIVEN, post)
        reg = RegmixStats(self._reg_params(params), N, Q, S, g, H, post, post)
        return MSStats(params, reg, xi, start, post), ll

    def mstep(self, stats: MSStats) -> MSParams:
        K = self.K
        for k in range(K):
            if not stats.reg.N[k] > 1e-10 * self.n:
                raise engine.DegenerateFitError(f"regime {k} is empty: its probability "
                                                "collapsed to 0")
        beta, sigma = self._regression_mstep(stats.reg)
        transmat = self._transition_mstep(stats)
        startprob = stats.start / stats.start.sum() if self.estimated else None
        return MSParams(beta, sigma, transmat, self.initial_probs(transmat, startprob))

    def _regression_mstep(self, reg: RegmixStats):
        """flexmix's Gaussian M-step; without switching variance, the pooled sigma."""
        beta, sigma = self.reg.gaussian_mstep(reg)
        if not self.switching_variance:
            sigma = np.full(self.K, np.sqrt(np.sum(reg.N * sigma**2) / reg.N.sum()))
        return beta, sigma

    def _transition_mstep(self, stats: MSStats) -> np.ndarray:
        old, xi = stats.params.transmat, stats.trans
        closed = dirichlet_mode(1.0, xi, old)  # the M-step without the initial term
        if not self.steady_state:
            return closed
        g0 = stats.start
        K = self.K

        def q(P):
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.sum(np.where(xi > 0, xi * np.log(P), 0.0))
                value += np.sum(np.where(g0 > 0, g0 * np.log(stationary(P)), 0.0))
            return value if np.isfinite(value) else -np.inf

        def objective(theta):
            P = _logits_to_rows(theta, K)
            pi = stationary(P)
            Z = np.linalg.inv(np.eye(K) - P + np.outer(np.ones(K), pi))
            # dq/dP[i, j] for a free entry, then through the softmax of each row
            G = np.where(P > 0, xi / np.where(P > 0, P, 1.0), 0.0)
            G += np.outer(pi, Z @ np.where(pi > 0, g0 / np.where(pi > 0, pi, 1.0), 0.0))
            grad = P * (G - np.sum(G * P, axis=1, keepdims=True))
            return -q(P), -grad[:, :-1].ravel()

        candidates = [old, closed]
        theta0 = _rows_to_logits(closed)
        if np.all(np.isfinite(theta0)):
            res = optimize.minimize(objective, theta0, jac=True, method="BFGS",
                                    options={"gtol": 1e-9, "maxiter": 200})
            candidates.append(_logits_to_rows(res.x, K))
        return max(candidates, key=q)

    def param_vector(self, params: MSParams) -> np.ndarray:
        parts = [params.beta.ravel(), np.log(params.sigma if self.switching_variance
                                             else params.sigma[:1]),
                 _rows_to_logits(params.transmat)]
        if self.estimated:
            with np.errstate(divide="ignore"):
                parts.append(np.log(params.startprob[:-1]) - np.log(params.startprob[-1]))
        return np.concatenate(parts)

    def params_from_vector(self, theta: np.ndarray) -> MSParams:
        K, p = self.K, self.p
        if not np.all(np.isfinite(theta)):
            raise ValueError("parameters outside the parameter space")
        beta = theta[:K * p].reshape(K, p).copy()
        at = K * p
        ns = K if self.switching_variance else 1
        with np.errstate(over="ignore"):
            sigma = np.broadcast_to(np.exp(theta[at:at + ns]), (K,)).copy()
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise ValueError("parameters outside the parameter space")
        at += ns
        transmat = _logits_to_rows(theta[at:at + K * (K - 1)], K)
        at += K * (K - 1)
        startprob = None
        if self.estimated:
            startprob = _logits_to_rows(theta[at:], K, rows=1)[0]
        return MSParams(beta, sigma, transmat, self.initial_probs(transmat, startprob))

    # ---- starts ------------------------------------------------------------
    def start_from(self, labels: np.ndarray, stay: float) -> MSParams:
        """One M-step on a hard partition of the rows, transitions ``stay`` on the diagonal."""
        post = np.zeros((self.n, self.K))
        post[np.arange(self.n), labels] = 1.0
        zero = RegmixParams(np.zeros((self.K, self.p)), np.ones(self.K),
                            np.zeros((1, self.K)))
        _, N, Q, S, g, H = self.reg.kernel(zero, GIVEN, post)
        beta, sigma = self._regression_mstep(RegmixStats(zero, N, Q, S, g, H, post, post))
        P = np.full((self.K, self.K), (1.0 - stay) / (self.K - 1))
        np.fill_diagonal(P, stay)
        startprob = np.bincount(labels, minlength=self.K) / self.n
        return MSParams(beta, sigma, P, self.initial_probs(P, startprob))


def _starts(model: MarkovSwitchingEM, n_init: int, rng):
    """Partitions by quantiles of the OLS residuals and of y, then random ones."""
    d, K = model.reg.d, model.K
    coef = np.linalg.lstsq(d.X, d.y, rcond=None)[0]
    resid = d.y - d.X @ coef
    for score in (resid, d.y):
        ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable")
        yield ranks * K // model.n, 0.9
    for _ in range(max(n_init - 2, 0)):
        # contiguous random runs: regimes persist, as the model says they do
        cuts = np.sort(rng.choice(np.arange(1, model.n), size=min(2 * K, model.n - 1),
                                  replace=False))
        runs = np.diff(np.r_[0, cuts, model.n])
        labels = np.repeat(rng.integers(0, K, size=runs.size), runs)
        labels[rng.choice(model.n, size=K, replace=False)] = np.arange(K)
        yield labels, rng.uniform(0.6, 0.98)


def fit_regimes(model: MarkovSwitchingEM, n_init: int, rng, rules: engine.StoppingRules,
                accelerate: bool):
    """Best EM run over the starts (DegenerateFitError if every start degenerates)."""
    best, failures = None, []
    run = engine.run_squarem if accelerate else engine.run_em
    for labels, stay in _starts(model, n_init, rng):
        try:
            start = model.start_from(labels, stay)
            result = run(model, None, start, rules, warn=False)
        except (engine.DegenerateFitError, np.linalg.LinAlgError) as err:
            failures.append(str(err))
            continue
        if best is None or result.loglik > best.loglik + 1e-9 * abs(best.loglik):
            best = result
    if best is None:
        raise engine.DegenerateFitError(f"every start degenerated (last: {failures[-1]}); "
                                        "try fewer regimes or switching_variance=False")
    return best


def _one_stretch(index, kept) -> bool:
    """Whether the rows kept are consecutive rows of the data (only leading or
    trailing rows dropped)."""
    if not index.is_unique:
        return False
    pos = index.get_indexer(kept)
    return bool(np.all(pos >= 0) and np.all(np.diff(pos) == 1))


def markov_switching(formula, data, k_regimes=2, *, switching_variance=True,
                     initial="steady-state", n_init=10, random_state=None, tol=1e-12,
                     max_iter=5000, accelerate=True, n_threads=None):
    """Markov-switching regression (Hamilton 1989), fitted by EM.

    Every regression coefficient switches with the regime; the error
    variance switches too unless ``switching_variance=False``.

    Parameters
    ----------
    formula : str
        Patsy formula, e.g. ``"y ~ x"`` or ``"growth ~ 1"``.
    data : pandas.DataFrame
        Rows in time order.  Rows with missing values at the start or end
        are dropped (``n_dropped``); inside the series they are an error (a
        gap would break the chain).
    k_regimes : int, default 2
    switching_variance : bool, default True
    initial : {"steady-state", "estimated"} or array of shape (k_regimes,)
        The distribution of the first regime.  "steady-state" (statsmodels'
        convention, the default): the chain's stationary distribution, a
        function of the transition matrix.  "estimated": a free parameter
        (hmmlearn's convention; at the maximum it puts all mass on one
        regime, so it gets no standard error).  An array: fixed.
    n_init : int, default 10
        Starts: partitions by quantiles of the OLS residuals and of y, then
        random runs of regimes; the best log-likelihood is kept.
    random_state : None, int or Generator
        Seed for the random starts.
    tol : float, default 1e-12
        Stop when the relative change in log-likelihood is at most ``tol``.
    max_iter : int, default 5000
    accelerate : bool, default True
        SQUAREM acceleration (kept monotone).
    n_threads : int, optional
        OpenMP threads for the kernels.

    Returns
    -------
    MarkovSwitchingResults
        ``params``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``,
        ``cov_params()``, ``llf``, ``aic``, ``bic``, ``hqic``,
        ``transition_matrix``, ``expected_durations``,
        ``smoothed_marginal_probabilities`` (and filtered, predicted) as
        DataFrames indexed like ``data``, and ``summary()`` in statsmodels'
        layout.  Regimes are ordered by increasing mean fitted value.

    Examples
    --------
    >>> import emkit
    >>> macro = emkit.datasets.load_usmacro()
    >>> res = emkit.markov_switching("growth ~ 1", macro, k_regimes=2)
    >>> print(res.summary())  # doctest: +SKIP
    """
    from .markov_switching_results import MarkovSwitchingResults

    K = check_int(k_regimes, "k_regimes", 2)
    check_int(n_init, "n_init", 1)
    check_int(max_iter, "max_iter", 1)
    if not isinstance(switching_variance, (bool, np.bool_)):
        raise TypeError(f"switching_variance must be True or False, got {switching_variance!r}")
    if isinstance(initial, str):
        if initial not in INITIAL:
            raise ValueError(f"initial must be one of {INITIAL} or an array of {K} "
                             f"probabilities, got {initial!r}")
    else:
        initial = np.array(initial, dtype=np.float64)
        if initial.shape != (K,) or np.any(initial < 0) or abs(initial.sum() - 1) > 1e-6:
            raise ValueError(f"initial must be {INITIAL} or {K} probabilities summing to 1")
    design = build_design(formula, data, family="gaussian", weights=None, offset=None,
                          groups=None, concomitant=None, missing="drop", eval_env=2)
    if design.n_dropped and not _one_stretch(data.index, design.index):
        named = [str(c) for c in data.columns[data.isna().any()] if str(c) in formula]
        raise ValueError(
            f"the series has {design.n_dropped} row(s) with missing values inside it"
            f"{' (in ' + ', '.join(named) + ')' if named else ''}; a Markov-switching "
            "model needs consecutive rows: fill or interpolate them, or fit a stretch "
            "without gaps (missing rows at the start or end are dropped)")
    if design.n < 2 * K * (design.X.shape[1] + 1):
        raise ValueError(f"{design.n} rows are too few for {K} regimes with "
                         f"{design.X.shape[1]} coefficients and a variance each")
    model = MarkovSwitchingEM(design, K, bool(switching_variance), initial, n_threads or 0)
    rules = engine.StoppingRules(rtol=tol, max_iter=max_iter)
    rng = engine.check_random_state(random_state)
    result = fit_regimes(model, n_init, rng, rules, accelerate)
    engine.warn_about(result, stacklevel=2)
    return MarkovSwitchingResults(model, result)
