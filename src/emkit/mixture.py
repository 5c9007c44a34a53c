"""``GaussianMixture``: a drop-in for ``sklearn.mixture.GaussianMixture``.

Same constructor arguments, fitted attributes and methods; fitting runs the
shared EM engine over the compiled fused E-step.  Extras: case weights in
``fit(X, sample_weight=...)``, ``n_threads``, the log-likelihood trace and the
rule that stopped EM.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import gaussian
from ._estimator import EstimatorParams, NotFittedError
from ._threads import single_threaded_blas
from ._validation import check_data, check_int, check_number, check_weights
from .engine import StoppingRules, check_random_state, run_em_restarts, warn_about
from .kmeans import kmeans, kmeans_plusplus

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


class GaussianMixture(EstimatorParams):
    """Gaussian mixture fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default 1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        Covariance structure, as in scikit-learn.
    tol : float, default 1e-3
        Stop when the mean log-likelihood per (unit-weight) row changes by at
        most ``tol``; ``tol=0`` runs exactly ``max_iter`` iterations.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance estimate.
    max_iter : int, default 100
        Maximum number of EM iterations per start.
    n_init : int, default 1
        Number of starts; the one with the highest log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        How starting responsibilities are drawn.
    weights_init, means_init, precisions_init : array-like, optional
        User-supplied starting values (shapes as in scikit-learn).
    random_state : None, int, RandomState or Generator
        Seed for the starting values and for ``sample``.
    warm_start : bool, default False
        Start a new ``fit`` from the previous solution.
    n_threads : int, optional
        OpenMP threads for the kernels (default: ``OMP_NUM_THREADS`` or all
        cores).  Results do not depend on it.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        Fitted parameters in scikit-learn's layout.
    converged_ : bool
    n_iter_ : int
        EM iterations of the best start.
    lower_bound_ : float
        Mean log-likelihood per row at the last convergence check (scikit-learn's
        definition); ``lower_bounds_`` holds the whole sequence.
    loglik_ : float
        Total (weighted) log-likelihood at the fitted parameters.
    loglik_trace_ : ndarray
        Total log-likelihood after each M-step, starting from the initial values.
    stop_reason_ : str
        "atol" (tol was met) or "max_iter".
    n_features_in_ : int; feature_names_in_ : ndarray (for DataFrame input).

    Notes
    -----
    ``bic`` and ``aic`` follow scikit-learn's sign (smaller is better), unlike
    mclust's BIC = 2 loglik - df log n (larger is better).

    Examples
    --------
    >>> import emkit
    >>> X = emkit.datasets.load_faithful()
    >>> gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    >>> gm.predict(X)[:5]  # doctest: +SKIP
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False,
                 n_threads=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False))

    # -- fitting -----------------------------------------------------------
    def _check_settings(self):
        check_int(self.n_components, "n_components", 1)
        check_int(self.n_init, "n_init", 1)
        check_int(self.max_iter, "max_iter", 1)
        check_number(self.tol, "tol")
        check_number(self.reg_covar, "reg_covar")
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", 1)
        if self.covariance_type not in gaussian.COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {gaussian.COVARIANCE_TYPES}, "
                             f"got {self.covariance_type!r}")
        if self.init_params not in INIT_PARAMS:
            raise ValueError(f"init_params must be one of {INIT_PARAMS}, "
                             f"got {self.init_params!r}")

    def _check_inits(self, d):
        K, ct = self.n_components, self.covariance_type
        out = {}
        if self.weights_init is not None:
            w = _numeric(self.weights_init, "weights_init")
            if w.shape != (K,):
                raise ValueError(f"weights_init must have shape ({K},), got {w.shape}")
            if np.any(w < 0) or np.any(w > 1):
                raise ValueError("weights_init must lie in [0, 1]")
            if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(f"weights_init must sum to 1, got {w.sum():.6g}")
            out["weights"] = w
        if self.means_init is not None:
            m = _numeric(self.means_init, "means_init")
            if m.shape != (K, d):
                raise ValueError(f"means_init must have shape ({K}, {d}), got {m.shape}")
            out["means"] = m
        if self.precisions_init is not None:
            p = _numeric(self.precisions_init, "precisions_init")
            shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}[ct]
            if p.shape != shape:
                raise ValueError(f"precisions_init must have shape {shape} for "
                                 f"covariance_type={ct!r}, got {p.shape}")
            if ct in ("full", "tied"):
                for k, mat in enumerate(p.reshape(-1, d, d)):
                    if not np.allclose(mat, mat.T) or np.any(np.linalg.eigvalsh(mat) <= 0):
                        raise ValueError(f"precisions_init[{k}] is not symmetric positive "
                                         "definite" if ct == "full" else
                                         "precisions_init is not symmetric positive definite")
            elif np.any(p <= 0):
                raise ValueError("precisions_init must be positive")
            out["precisions"] = p
        return out

    def _initial_params(self, model, data, rng, inits):
        ct, K = self.covariance_type, self.n_components
        if not {"weights", "means", "precisions"} <= inits.keys():
            resp = _initial_resp(self.init_params, data, K, rng)
            start = model.mstep(gaussian.stats_from_resp(data, resp, ct))
        else:
            start = None
        weights = inits.get("weights", start.weights if start else None)
        means = inits.get("means", start.means if start else None)
        if "precisions" in inits:
            return gaussian.params_from_precisions(weights, means, inits["precisions"], ct)
        return gaussian.GaussianParams(weights, means, start.covariances,
                                       start.precisions_cholesky, ct)

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like, shape (n_samples,), optional
            Case weights (e.g. frequencies or bootstrap weights).

        Returns
        -------
        self
        """
        self._check_settings()
        Xa, columns = check_data(X, "X")
        w = check_weights(sample_weight, Xa.shape[0])
        if w is not None and np.any(w == 0):
            # a row of weight 0 is absent: not a start, not an overflow risk
            Xa, w = Xa[w > 0], w[w > 0]
        if Xa.shape[0] < self.n_components:
            raise ValueError(f"X has {Xa.shape[0]} rows of positive weight but "
                             f"n_components={self.n_components}: need at least one row "
                             "per component")
        constant = _check_constant_columns(Xa, columns, self.reg_covar)
        inits = self._check_inits(Xa.shape[1])
        model = gaussian.GaussianMixtureModel(self.n_components, self.covariance_type,
                                              self.reg_covar, self.n_threads)
        data = gaussian.prepare(Xa, w)
        total = data.total_weight
        rules = StoppingRules(rtol=0.0, atol=self.tol * total, max_iter=self.max_iter)
        if self.warm_start and hasattr(self, "weights_"):
            previous = self._params()
            if previous.means.shape != (self.n_components, Xa.shape[1]):
                raise ValueError(
                    f"warm_start: the previous fit has {previous.means.shape[0]} components "
                    f"and {previous.means.shape[1]} features, this one asks for "
                    f"{self.n_components} and has {Xa.shape[1]}; set warm_start=False")
            init, n_init = (lambda rng: previous), 1
        else:
            init, n_init = (lambda rng: self._initial_params(model, data, rng, inits)), self.n_init
        with single_threaded_blas():
            result = run_em_restarts(model, data, init, n_init, self.random_state, rules,
                                     final_mstep=True, warn=False)
        warn_about(result, stacklevel=3)
        p = result.params
        self.weights_, self.means_ = p.weights, p.means
        self.covariances_, self.precisions_cholesky_ = p.covariances, p.precisions_cholesky
        self.precisions_ = p.precisions
        self.converged_, self.n_iter_ = result.converged, result.n_iter
        self.lower_bounds_ = result.loglik_trace[:-1] / total
        self.lower_bound_ = float(self.lower_bounds_[-1])
        self.loglik_, self.loglik_trace_ = result.loglik, result.loglik_trace
        self.stop_reason_ = result.stop_reason
        self.n_features_in_ = Xa.shape[1]
        self._fitted_covariance_type = self.covariance_type
        if columns is not None:
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.degenerate_components_ = _degenerate(result, self.reg_covar, data.variances,
                                                  constant)
        for k, why in self.degenerate_components_.items():
            warnings.warn(f"component {k} {why}; use fewer components, other starting "
                          "values (n_init, random_state) or rescale the data",
                          DegenerateComponentWarning, stacklevel=2)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most probable component of every row."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- using a fitted mixture ----------------------------------------------
    def _params(self):
        if not hasattr(self, "weights_"):
            raise NotFittedError("this GaussianMixture is not fitted yet; call fit first")
        if self.covariance_type != self._fitted_covariance_type:
            raise ValueError(f"covariance_type was changed to {self.covariance_type!r} after "
                             f"fitting with {self._fitted_covariance_type!r}; fit again")
        return gaussian.GaussianParams(self.weights_, self.means_, self.covariances_,
                                       self.precisions_cholesky_, self.covariance_type)

    def _score(self, X, resp=False):
        params = self._params()
        Xa, columns = check_data(X, "X")
        if Xa.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {Xa.shape[1]} features, but this GaussianMixture was "
                             f"fitted with {self.n_features_in_}")
        names = getattr(self, "feature_names_in_", None)
        if columns is not None and names is not None and list(names) != columns:
            raise ValueError(f"X's columns {columns} differ from those seen in fit "
                             f"{list(names)}")
        K = params.means.shape[0]
        model = gaussian.GaussianMixtureModel(K, self.covariance_type, self.reg_covar,
                                              self.n_threads)
        logprob = np.empty(Xa.shape[0])
        r = np.empty((Xa.shape[0], K)) if resp else None
        with single_threaded_blas():
            model.estep(gaussian.prepare(Xa), params, stats=False, resp=r, logprob=logprob)
        return logprob, r

    def score_samples(self, X):
        """Log-density of every row under the fitted mixture."""
        return self._score(X)[0]

    def score(self, X, y=None):
        """Mean log-density per row."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Posterior probability of each component for every row, shape (n, K)."""
        return self._score(X, resp=True)[1]

    def predict(self, X):
        """Most probable component of every row."""
        return self.predict_proba(X).argmax(axis=1)

    def sample(self, n_samples=1):
        """Draw ``n_samples`` rows; returns (X, component labels)."""
        check_int(n_samples, "n_samples", 1)
        params = self._params()
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, params.weights)
        ct, d = self.covariance_type, self.means_.shape[1]
        draws = []
        for k, (mean, count) in enumerate(zip(self.means_, counts)):
            if ct == "full":
                cov = self.covariances_[k]
            elif ct == "tied":
                cov = self.covariances_
            elif ct == "diag":
                cov = np.diag(self.covariances_[k])
            else:
                cov = self.covariances_[k] * np.eye(d)
            draws.append(rng.multivariate_normal(mean, cov, int(count)))
        labels = np.repeat(np.arange(len(counts)), counts)
        return np.vstack(draws), labels

    def _n_parameters(self):
        params = self._params()
        model = gaussian.GaussianMixtureModel(params.means.shape[0], self.covariance_type)
        return model.n_parameters(params.means.shape[1])

    def bic(self, X):
        """Bayesian information criterion, scikit-learn's sign: smaller is better."""
        n = np.asarray(X).shape[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion (smaller is better)."""
        n = np.asarray(X).shape[0]
        return -2.0 * self.score(X) * n + 2.0 * self._n_parameters()


class DegenerateComponentWarning(UserWarning):
    """A fitted component is empty or has collapsed onto a point or a line."""


def _degenerate(result, reg_covar, variances, constant) -> dict:
    """{component: reason} for components that are empty or singular.

    Constant columns are left out of the singularity check: they were
    reported when the fit started."""
    out = {}
    total = result.stats.N.sum()
    variances = variances.copy()
    variances[constant] = 0.0
    for k in gaussian.singular_components(result.params, reg_covar, variances):
        out[k] = ("has a singular covariance: it collapsed onto a point or a line, and "
                  "only reg_covar keeps it invertible")
    for k in np.flatnonzero(result.stats.N < 1e-8 * total):
        out[int(k)] = "holds no observations"
    return dict(sorted(out.items()))


def _numeric(value, name):
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _initial_resp(method, data, K, rng):
    n = data.X.shape[0]
    if method == "random":
        resp = rng.uniform(size=(n, K))
        resp /= resp.sum(axis=1, keepdims=True)
        return resp
    resp = np.zeros((n, K))
    if method == "kmeans":
        labels, _ = kmeans(data.X, K, rng, data.w, data.shift)
        resp[np.arange(n), labels] = 1.0
    elif method == "k-means++":
        resp[kmeans_plusplus(data.X, K, rng, data.w, data.shift), np.arange(K)] = 1.0
    else:
        resp[rng.choice(n, size=K, replace=False), np.arange(K)] = 1.0
    return resp


def _check_constant_columns(X, columns, reg_covar):
    """Indices of constant columns: an error without regularisation, else a warning."""
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if not constant.size:
        return constant
    names = [columns[c] if columns else f"column {c}" for c in constant]
    msg = f"X has constant column(s) {names}: their variance is zero"
    if reg_covar == 0:
        raise ValueError(msg + "; drop them or set reg_covar > 0")
    warnings.warn(msg + ", so reg_covar alone sets it and dominates the likelihood; "
                  "drop them", UserWarning, stacklevel=3)
    return constant
