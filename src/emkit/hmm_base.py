"""Hidden Markov models with hmmlearn's interface, fitted by the shared EM engine.

One E-step is three passes, each compiled and parallel: the emission model's
log-densities of every row (the mixtures' own density kernels), the scaled
forward-backward over the hidden chain (``_hmm``, OpenMP over sequences), and
the emission statistics for the posterior state probabilities (the mixtures'
statistics kernels again).  The M-step is data-size free.

Subclasses supply the emission model: ``_check_X``, ``_init_emission``,
``_check_emission``, ``_emission_params``, ``_set_emission``, ``_log_emission``,
``_emission_stats``, ``_emission_mstep``, ``_emission_scalars``,
``_draw_emissions`` and ``_map_priors``.
"""
from __future__ import annotations

import sys
import warnings
from collections import deque
from dataclasses import dataclass

import numpy as np

from . import _hmm
from ._estimator import EstimatorParams, NotFittedError
from ._threads import single_threaded_blas
from ._validation import check_int
from .engine import DegenerateFitError, StoppingRules, check_random_state, run_em, warn_about

DECODER_ALGORITHMS = ("viterbi", "map")
_SUM_TOL = 1e-6  # how far from 1 a row of probabilities may sum


class ConvergenceMonitor:
    """The log-likelihood history of a fit, as hmmlearn's ``monitor_``.

    Attributes
    ----------
    history : deque
        ``history[i]`` is the log-likelihood at the parameters held before the
        (i+1)-th M-step (hmmlearn's convention); the whole run is kept.
    iter : int
        M-steps taken.
    converged : bool
        Whether the change in log-likelihood fell below ``tol``.  Unlike
        hmmlearn's, a fit that merely ran out of iterations is not "converged".
    loglik : float
        The log-likelihood at the fitted parameters (after the last M-step).
    stop_reason : str
        "atol" (tol was met) or "max_iter".
    """

    def __init__(self, tol, n_iter, verbose=False):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0
        self.converged = False
        self.loglik = np.nan
        self.stop_reason = ""

    def __repr__(self):
        return (f"ConvergenceMonitor(tol={self.tol}, n_iter={self.n_iter}, iter={self.iter}, "
                f"converged={self.converged}, history=[{len(self.history)} values])")

    def report(self, iteration, log_prob):
        """Print one line per log-likelihood when ``verbose`` (hmmlearn's format)."""
        if self.verbose:
            delta = log_prob - self._last if iteration else np.nan
            print(f"{iteration + 1:>10d} {log_prob:>16.8f} {delta:>+16.8f}", file=sys.stderr)
        self._last = log_prob


@dataclass
class HMMParams:
    startprob: np.ndarray
    transmat: np.ndarray
    emission: dict


@dataclass
class HMMStats:
    start: np.ndarray       # summed posteriors of each sequence's first row
    trans: np.ndarray       # expected transition counts
    emission: object        # the emission model's statistics
    params: HMMParams       # the parameters the E-step ran at


class HMMData:
    """Rows, sequence bounds, the emission model's view of the rows, and the
    (n, K) buffers the E-step reuses."""

    def __init__(self, X, bounds, emission_data, K):
        self.X, self.bounds, self.emission = X, bounds, emission_data
        n = X.shape[0]
        self.post = np.empty((n, K))
        self.scale = np.empty(n)
        self.seq_loglik = np.empty(bounds.shape[0] - 1)


def sequence_bounds(lengths, n_rows: int) -> np.ndarray:
    """(S + 1,) row offsets of the sequences; clear errors for bad ``lengths``."""
    if lengths is None:
        return np.array([0, n_rows], dtype=np.intp)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D list of sequence lengths, "
                         f"got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"lengths must be integers, got {arr.dtype} values")
        arr = arr.astype(np.int64)
    if np.any(arr < 1):
        bad = np.flatnonzero(arr < 1).tolist()
        raise ValueError(f"lengths must be positive; sequence(s) {bad[:10]} have length < 1")
    total = int(arr.sum())
    if total != n_rows:
        raise ValueError(f"lengths sum to {total} but X has {n_rows} rows; "
                         "they must describe every row exactly once")
    return np.concatenate([[0], np.cumsum(arr)]).astype(np.intp)


def check_distribution(p: np.ndarray, name: str) -> None:
    """Entries in [0, 1] and rows summing to 1 (to within 1e-6)."""
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(p < 0):
        raise ValueError(f"{name} has negative entries")
    sums = p.sum(axis=-1)
    bad = np.flatnonzero(np.abs(np.atleast_1d(sums) - 1.0) > _SUM_TOL)
    if bad.size:
        if p.ndim == 1:
            raise ValueError(f"{name} sums to {float(sums):.10g}; it must sum to 1")
        rows = ", ".join(f"row {i} sums to {np.atleast_1d(sums)[i]:.10g}" for i in bad[:5])
        raise ValueError(f"the rows of {name} must each sum to 1: {rows}")


class _HMMModel:
    """The EM engine's view of an HMM: E-step and M-step (no parameter-change
    rule, so no parameter vector)."""

    def __init__(self, est):
        self.est = est
        self.n_threads = est.n_threads or 0

    def estep(self, data: HMMData, params: HMMParams):
        K = params.startprob.shape[0]
        logB = self.est._log_emission(data.emission, params.emission)
        xi, start = np.empty((K, K)), np.empty(K)
        ll = _hmm.forward_backward(logB, params.startprob, params.transmat, data.bounds,
                                   data.seq_loglik, data.post, data.scale, xi, start,
                                   self.n_threads)
        if not np.isfinite(ll):
            bad = np.flatnonzero(~np.isfinite(data.seq_loglik))
            raise DegenerateFitError(
                f"sequence(s) {bad[:10].tolist()} have probability zero (or an undefined "
                "likelihood) under the current parameters: check startprob_, transmat_ "
                "(zeros forbid transitions) and the emission parameters")
        emission = self.est._emission_stats(data.emission, data.post, params.emission)
        return HMMStats(start, xi, emission, params), ll

    def mstep(self, stats: HMMStats) -> HMMParams:
        est, old = self.est, stats.params
        startprob, transmat = old.startprob, old.transmat
        if "s" in est.params:
            startprob = dirichlet_mode(est.startprob_prior, stats.start, old.startprob)
        if "t" in est.params:
            transmat = dirichlet_mode(est.transmat_prior, stats.trans, old.transmat)
        return HMMParams(startprob, transmat,
                         est._emission_mstep(stats.emission, old.emission))


def dirichlet_mode(prior, counts, old, keep_zeros=True):
    """hmmlearn's update: max(prior - 1 + counts, 0), zero where ``old`` is
    zero (``keep_zeros``), rows normalised; a row with nothing to normalise
    (a state never visited) keeps ``old``."""
    new = np.maximum(np.asarray(prior, dtype=np.float64) - 1.0 + counts, 0.0)
    if keep_zeros:
        new = np.where(old == 0, 0.0, new)
    sums = new.sum(axis=-1, keepdims=True)
    ok = sums > 0
    return np.where(ok, new / np.where(ok, sums, 1.0), old)


class BaseHMM(EstimatorParams):
    """Shared machinery of the HMM classes (hmmlearn's ``BaseHMM``)."""

    _emission_letters = ""

    def _set_common(self, n_components, startprob_prior, transmat_prior, algorithm,
                    random_state, n_iter, tol, verbose, params, init_params, implementation,
                    n_threads):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_threads = n_threads
        self.monitor_ = ConvergenceMonitor(tol, n_iter, verbose)

    # -- settings and parameters --------------------------------------------
    def _check_settings(self):
        check_int(self.n_components, "n_components", 1)
        check_int(self.n_iter, "n_iter", 1)
        if isinstance(self.tol, bool) or not np.isscalar(self.tol) or np.isnan(self.tol):
            raise TypeError(f"tol must be a number, got {self.tol!r}")
        if self.algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {DECODER_ALGORITHMS}, "
                             f"got {self.algorithm!r}")
        if self.implementation not in ("log", "scaling"):
            raise ValueError(f"implementation must be 'log' or 'scaling', "
                             f"got {self.implementation!r}")
        letters = "st" + self._emission_letters
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string of letters from {letters!r}")
            unknown = sorted(set(value) - set(letters))
            if unknown:
                raise ValueError(f"{name} has unknown letter(s) {unknown}; "
                                 f"{type(self).__name__} knows {letters!r}")
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", 1)

    def _params_struct(self) -> HMMParams:
        return HMMParams(self.startprob_, self.transmat_, self._emission_params())

    def _set_params_struct(self, p: HMMParams) -> None:
        self.startprob_, self.transmat_ = p.startprob, p.transmat
        self._set_emission(p.emission)

    def _check_params(self):
        """Validate the model parameters (user-set or fitted); names the culprit."""
        K = self.n_components
        for name, shape in (("startprob_", (K,)), ("transmat_", (K, K))):
            if not hasattr(self, name):
                raise NotFittedError(f"this {type(self).__name__} has no {name}; call fit "
                                     f"first or set it")
            value = np.array(getattr(self, name), dtype=np.float64)  # a copy, not the caller's
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape} for n_components={K}, "
                                 f"got {value.shape}")
            check_distribution(value, name)
            setattr(self, name, value)
        self._check_emission()

    def _needs_init(self, code, name):
        return code in self.init_params or not hasattr(self, name)

    def _init(self, X, bounds, rng):
        K = self.n_components
        if self._needs_init("s", "startprob_"):
            self.startprob_ = np.full(K, 1.0 / K)
        if self._needs_init("t", "transmat_"):
            self.transmat_ = np.full((K, K), 1.0 / K)
        self._init_emission(X, rng)

    def _n_fit_scalars_per_param(self) -> dict:
        K = self.n_components
        return {"s": K - 1, "t": K * (K - 1), **self._emission_scalars()}

    def _uses_priors(self) -> bool:
        """Whether the M-step maximises a posterior rather than the likelihood."""
        return (np.any(np.asarray(self.startprob_prior) != 1.0)
                or np.any(np.asarray(self.transmat_prior) != 1.0) or self._map_priors())

    # -- fitting -------------------------------------------------------------
    def fit(self, X, lengths=None):
        """Estimate the parameters by EM (Baum-Welch).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            The rows of all sequences, one after another.
        lengths : array-like of int, optional
            Lengths of the sequences; they must sum to ``n_samples``.  Default:
            one sequence.

        Returns
        -------
        self
        """
        self._check_settings()
        Xa = self._check_X(X, fitting=True)
        bounds = sequence_bounds(lengths, Xa.shape[0])
        if Xa.shape[0] < self.n_components:
            raise ValueError(f"X has {Xa.shape[0]} rows but n_components="
                             f"{self.n_components}: need at least one row per state")
        rng = check_random_state(self.random_state)
        self._init(Xa, bounds, rng)
        self._check_params()
        n_scalars = sum(v for k, v in self._n_fit_scalars_per_param().items()
                        if k in self.params)
        if Xa.size < n_scalars:
            warnings.warn(f"fitting {n_scalars} free parameters to only {Xa.size} data "
                          "values: the fit will be degenerate; use fewer states",
                          UserWarning, stacklevel=2)
        model = _HMMModel(self)
        data = HMMData(Xa, bounds, self._emission_data(Xa), self.n_components)
        tol = float(self.tol)
        rules = StoppingRules(rtol=0.0, atol=tol if np.isfinite(tol) and tol > 0 else 0.0,
                              max_iter=self.n_iter)
        monitor = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        with single_threaded_blas():
            result = run_em(model, data, self._params_struct(), rules, final_mstep=True,
                            warn=False, callback=monitor.report)
        self._set_params_struct(result.params)
        monitor.history = deque(result.loglik_trace[:result.n_iter].tolist())
        monitor.iter = result.n_iter
        monitor.converged = result.converged
        monitor.loglik = result.loglik
        monitor.stop_reason = result.stop_reason
        self.monitor_ = monitor
        if self._uses_priors():
            # a posterior mode is sought: the likelihood alone may fall
            result.decreases = []
        warn_about(result, stacklevel=3)
        return self

    # -- using a fitted model --------------------------------------------------
    def _prepared(self, X, lengths):
        self._check_params()
        Xa = self._check_X(X, fitting=False)
        return Xa, sequence_bounds(lengths, Xa.shape[0])

    def _forward_backward(self, X, lengths, posteriors):
        Xa, bounds = self._prepared(X, lengths)
        K = self.n_components
        seq_ll = np.empty(bounds.shape[0] - 1)
        with single_threaded_blas():
            logB = self._log_emission(self._emission_data(Xa), self._emission_params())
            if not posteriors:
                return _hmm.forward_backward(logB, self.startprob_, self.transmat_, bounds,
                                             seq_ll, n_threads=self.n_threads or 0), None
            post = np.empty((Xa.shape[0], K))
            ll = _hmm.forward_backward(logB, self.startprob_, self.transmat_, bounds, seq_ll,
                                       post, np.empty(Xa.shape[0]), np.empty((K, K)),
                                       np.empty(K), self.n_threads or 0)
        return ll, post

    def score(self, X, lengths=None):
        """Log-likelihood of ``X`` under the model (summed over sequences)."""
        return float(self._forward_backward(X, lengths, posteriors=False)[0])

    def score_samples(self, X, lengths=None):
        """(log-likelihood, posterior state probabilities (n_samples, n_components))."""
        ll, post = self._forward_backward(X, lengths, posteriors=True)
        return float(ll), post

    def predict_proba(self, X, lengths=None):
        """Posterior probability of each state at every row (smoothed)."""
        return self._forward_backward(X, lengths, posteriors=True)[1]

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely state sequence.

        Parameters
        ----------
        algorithm : {"viterbi", "map"}, optional
            "viterbi": the jointly most probable path (log space); "map": the
            most probable state at each row.  Default: ``self.algorithm``.

        Returns
        -------
        log_prob : float
            Viterbi: the log-probability of the path with the data.  MAP: the
            sum over rows of the log of the largest posterior (hmmlearn 0.3
            returns the sum of the posteriors themselves).
        state_sequence : ndarray of int, shape (n_samples,)
        """
        algorithm = algorithm or self.algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {DECODER_ALGORITHMS}, "
                             f"got {algorithm!r}")
        if algorithm == "map":
            _, post = self.score_samples(X, lengths)
            best = post.max(axis=1)
            with np.errstate(divide="ignore"):
                return float(np.log(best).sum()), post.argmax(axis=1)
        Xa, bounds = self._prepared(X, lengths)
        path = np.empty(Xa.shape[0], dtype=np.intc)
        seq_lp = np.empty(bounds.shape[0] - 1)
        with single_threaded_blas(), np.errstate(divide="ignore"):
            logB = self._log_emission(self._emission_data(Xa), self._emission_params())
            lp = _hmm.viterbi(logB, np.log(self.startprob_), np.log(self.transmat_), bounds,
                              path, seq_lp, self.n_threads or 0)
        return float(lp), path.astype(np.intp)

    def predict(self, X, lengths=None):
        """Most likely state of every row, by ``self.algorithm`` (Viterbi by default)."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw a sequence from the model.

        Parameters
        ----------
        n_samples : int
        random_state : None, int, RandomState or Generator; default ``self.random_state``.
        currstate : int, optional
            The first state (default: drawn from ``startprob_``).

        Returns
        -------
        X : ndarray, shape (n_samples, n_features)
        state_sequence : ndarray of int, shape (n_samples,)
        """
        check_int(n_samples, "n_samples", 1)
        self._check_params()
        rng = check_random_state(self.random_state if random_state is None else random_state)
        K = self.n_components
        u = rng.random(n_samples)
        states = np.empty(n_samples, dtype=np.intp)
        if currstate is None:
            currstate = min(int(np.searchsorted(np.cumsum(self.startprob_), u[0], "right")),
                            K - 1)
        elif not 0 <= int(currstate) < K:
            raise ValueError(f"currstate must be a state in 0..{K - 1}, got {currstate!r}")
        states[0] = int(currstate)
        cdf = np.cumsum(self.transmat_, axis=1)
        for t in range(1, n_samples):
            states[t] = min(int(np.searchsorted(cdf[states[t - 1]], u[t], "right")), K - 1)
        return self._draw_emissions(states, rng), states

    def get_stationary_distribution(self):
        """The stationary distribution of the chain (left eigenvector of transmat_ for 1)."""
        self._check_params()
        values, vectors = np.linalg.eig(self.transmat_.T)
        v = np.real_if_close(vectors[:, np.argmin(np.abs(values - 1.0))])
        return np.real(v / v.sum())

    def aic(self, X, lengths=None):
        """Akaike information criterion, -2 loglik + 2 p (smaller is better)."""
        n_params = sum(self._n_fit_scalars_per_param().values())
        return -2.0 * self.score(X, lengths) + 2.0 * n_params

    def bic(self, X, lengths=None):
        """Bayesian information criterion, -2 loglik + p log(n_samples) (smaller is better)."""
        n_params = sum(self._n_fit_scalars_per_param().values())
        return -2.0 * self.score(X, lengths) + n_params * np.log(len(X))

    # -- emission hooks ------------------------------------------------------
    def _emission_data(self, X):
        """What ``_log_emission`` and ``_emission_stats`` read (default: X itself)."""
        return X


COMMON_DOC = """
    startprob_prior, transmat_prior : float or array
        Dirichlet prior parameters of ``startprob_`` and each row of
        ``transmat_`` (1, the default, is no prior).
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder used by ``predict``.
    random_state : None, int, RandomState or Generator
        Seed for the starting values and ``sample``.
    n_iter : int, default 100
        Maximum number of EM iterations (hmmlearn's default of 10 leaves most
        fits unconverged).
    tol : float, default 1e-2
        Stop when the log-likelihood changes by less than ``tol``.
    verbose : bool
        Print the log-likelihood at each iteration to stderr.
    params, init_params : str
        Letters of the parameters updated in fitting / initialised before it
        ('s' startprob, 't' transmat, and the emission letters).  Parameters
        you set yourself and leave out of ``init_params`` are the start.
    implementation : {"log", "scaling"}
        Accepted for hmmlearn compatibility; emkit always uses the scaled
        recursions (which do not underflow), so both give the same numbers.
    n_threads : int, optional
        OpenMP threads (default: all cores).  Results do not depend on it.
"""
