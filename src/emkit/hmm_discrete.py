"""``PoissonHMM`` and ``CategoricalHMM``: count and symbol emissions."""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from . import gaussian
from ._validation import check_data
from .hmm_base import COMMON_DOC, BaseHMM, check_distribution, dirichlet_mode


def _integer_data(X, name, what):
    """Finite, non-negative whole numbers as float64 (n, d); names the bad column."""
    Xa, columns = check_data(X, name)
    label = (lambda j: columns[j]) if columns else (lambda j: f"column {j}")
    negative = np.flatnonzero((Xa < 0).any(axis=0))
    if negative.size:
        j = negative[0]
        raise ValueError(f"{name} has negative values in {label(j)} "
                         f"({int((Xa[:, j] < 0).sum())} rows); {what}")
    fractional = np.flatnonzero((Xa != np.round(Xa)).any(axis=0))
    if fractional.size:
        raise ValueError(f"{name} has non-integer values in {label(fractional[0])}; {what}")
    return Xa


class PoissonHMM(BaseHMM):
    __doc__ = """Hidden Markov model with independent Poisson emissions (hmmlearn's ``PoissonHMM``).

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    lambdas_prior, lambdas_weight : float or array
        Gamma(shape, rate) prior on the rates (0, 0: none, plain maximum
        likelihood).  The update is the posterior mean given the expected
        counts of each state, (prior + sum_t gamma_tk x_t) / (weight + n_k);
        hmmlearn 0.3 puts the total count n of all states where n_k belongs.""" + \
        COMMON_DOC + """
    Attributes
    ----------
    lambdas_ : (n_components, n_features), the rates.
    startprob_, transmat_, monitor_, n_features
    """
    _emission_letters = "l"

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 lambdas_prior=0.0, lambdas_weight=0.0, algorithm="viterbi", random_state=None,
                 n_iter=100, tol=1e-2, verbose=False, params="stl", init_params="stl",
                 implementation="log", n_threads=None):
        self._set_common(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation, n_threads)
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

    def _check_X(self, X, fitting):
        Xa = _integer_data(X, "X", "PoissonHMM needs counts (non-negative integers)")
        if fitting:
            self.n_features = Xa.shape[1]
        elif Xa.shape[1] != np.shape(self.lambdas_)[1]:
            raise ValueError(f"X has {Xa.shape[1]} columns, but the model has "
                             f"{np.shape(self.lambdas_)[1]}")
        return Xa

    def _init_emission(self, X, rng):
        if self._needs_init("l", "lambdas_"):
            mean, var = X.mean(), X.var()
            shape = mean**2 / var if var > 0 else 1.0
            self.lambdas_ = rng.gamma(shape, (var / mean) if var > 0 and mean > 0 else
                                      max(mean, 1e-3), size=(self.n_components, X.shape[1]))

    def _check_emission(self):
        if not hasattr(self, "lambdas_"):
            raise ValueError("this PoissonHMM has no lambdas_; fit it or set it")
        self.lambdas_ = np.array(self.lambdas_, dtype=np.float64)
        if self.lambdas_.ndim != 2 or self.lambdas_.shape[0] != self.n_components:
            raise ValueError(f"lambdas_ must have shape ({self.n_components}, n_features), "
                             f"got {self.lambdas_.shape}")
        if not np.all(np.isfinite(self.lambdas_)) or np.any(self.lambdas_ < 0):
            raise ValueError("lambdas_ must be finite and non-negative")
        self.n_features = self.lambdas_.shape[1]

    def _emission_params(self):
        return {"lambdas": self.lambdas_}

    def _set_emission(self, em):
        self.lambdas_ = em["lambdas"]

    def _emission_data(self, X):
        data = gaussian.prepare(X)
        data.log_factorials = gammaln(X + 1.0).sum(axis=1)
        return data

    def _log_emission(self, data, em):
        lam = em["lambdas"]
        with np.errstate(divide="ignore"):
            loglam = np.log(lam)
        # x log(lambda) with 0 log 0 = 0: a zero rate emits only zeros
        logB = data.X @ np.where(lam > 0, loglam, 0.0).T
        if np.any(lam == 0):
            logB[((data.X > 0) @ (lam == 0).T.astype(np.float64)) > 0] = -np.inf
        logB -= lam.sum(axis=1) + data.log_factorials[:, None]
        return np.ascontiguousarray(logB)

    def _emission_stats(self, data, post, em):
        return gaussian.first_moments(data, post, self.n_threads or 0)

    def _emission_mstep(self, stats, old):
        if "l" not in self.params:
            return old
        N, sums = stats
        alpha, beta = self.lambdas_prior, self.lambdas_weight
        beta = np.asarray(beta, dtype=np.float64)
        beta = beta[:, None] if beta.ndim == 1 else beta
        denom = beta + N[:, None]
        # a state no row can be in (occupancy exactly 0) keeps its rates
        return {"lambdas": np.where(denom > 0, (alpha + sums) / np.where(denom > 0, denom, 1.0),
                                    old["lambdas"])}

    def _emission_scalars(self):
        return {"l": self.n_components * np.shape(self.lambdas_)[1]}

    def _map_priors(self):
        return bool(np.any(np.asarray(self.lambdas_prior) != 0)
                    or np.any(np.asarray(self.lambdas_weight) != 0))

    def _draw_emissions(self, states, rng):
        return rng.poisson(self.lambdas_[states])


class CategoricalHMM(BaseHMM):
    __doc__ = """Hidden Markov model with categorical emissions (hmmlearn's ``CategoricalHMM``).

    ``X`` is (n_samples, 1) of symbols 0 .. n_features - 1.

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    emissionprob_prior : float or array
        Dirichlet prior on each state's emission probabilities (1: none).
    n_features : int, optional
        Number of symbols; by default one more than the largest symbol seen.""" + \
        COMMON_DOC + """
    Attributes
    ----------
    emissionprob_ : (n_components, n_features)
    startprob_, transmat_, monitor_
    """
    _emission_letters = "e"

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=100, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", implementation="log", n_threads=None):
        self._set_common(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation, n_threads)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    def _n_symbols(self, fitting=False):
        """The symbol count the data are checked against (None: learn it from X)."""
        if self.n_features is not None:
            return self.n_features
        if hasattr(self, "emissionprob_") and not (fitting and "e" in self.init_params):
            return np.shape(self.emissionprob_)[1]
        return None

    def _check_X(self, X, fitting):
        Xa = _integer_data(X, "X", "CategoricalHMM needs symbols 0, 1, 2, ... "
                           "(encode them, e.g. with pandas.factorize)")
        if Xa.shape[1] != 1:
            raise ValueError(f"X must have one column of symbols, got {Xa.shape[1]}")
        M = self._n_symbols(fitting)
        if M is not None and Xa.max() >= M:
            unseen = np.unique(Xa[Xa >= M]).astype(int)
            raise ValueError(f"X contains symbol(s) {unseen[:10].tolist()} but the model "
                             f"emits only symbols 0..{M - 1} (n_features={M})")
        if fitting:
            self._symbols = M if M is not None else int(Xa.max()) + 1
        return Xa.astype(np.intp).ravel()

    def _init_emission(self, X, rng):
        if self._needs_init("e", "emissionprob_"):
            probs = rng.random((self.n_components, self._symbols))
            self.emissionprob_ = probs / probs.sum(axis=1, keepdims=True)

    def _check_emission(self):
        if not hasattr(self, "emissionprob_"):
            raise ValueError("this CategoricalHMM has no emissionprob_; fit it or set it")
        self.emissionprob_ = np.atleast_2d(np.array(self.emissionprob_, dtype=np.float64))
        M = self.n_features if self.n_features is not None else self.emissionprob_.shape[1]
        if self.emissionprob_.shape != (self.n_components, M):
            raise ValueError(f"emissionprob_ must have shape ({self.n_components}, {M}), got "
                             f"{self.emissionprob_.shape}")
        check_distribution(self.emissionprob_, "emissionprob_")

    def _emission_params(self):
        return {"emissionprob": self.emissionprob_}

    def _set_emission(self, em):
        self.emissionprob_ = em["emissionprob"]

    def _log_emission(self, symbols, em):
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(np.log(em["emissionprob"]).T[symbols])

    def _emission_stats(self, symbols, post, em):
        M = em["emissionprob"].shape[1]
        return np.stack([np.bincount(symbols, weights=post[:, k], minlength=M)
                         for k in range(self.n_components)])

    def _emission_mstep(self, counts, old):
        if "e" not in self.params:
            return old
        # hmmlearn lets a prior above 1 revive a zero emission probability
        return {"emissionprob": dirichlet_mode(self.emissionprob_prior, counts,
                                               old["emissionprob"], keep_zeros=False)}

    def _emission_scalars(self):
        return {"e": self.n_components * (self.emissionprob_.shape[1] - 1)}

    def _map_priors(self):
        return bool(np.any(np.asarray(self.emissionprob_prior) != 1.0))

    def _draw_emissions(self, states, rng):
        cdf = np.cumsum(self.emissionprob_, axis=1)
        u = rng.random(states.size)
        symbols = (u[:, None] >= cdf[states]).sum(axis=1)
        return np.minimum(symbols, self.emissionprob_.shape[1] - 1)[:, None]
