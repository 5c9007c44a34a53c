"""``GaussianHMM`` and ``GMMHMM``: Gaussian emissions through the Gaussian
mixture's own density and statistics kernels (``GaussianMixtureModel``)."""
from __future__ import annotations

import numpy as np

from . import gaussian
from ._validation import check_data, check_int
from .engine import DegenerateFitError
from .hmm_base import COMMON_DOC, BaseHMM, check_distribution
from .kmeans import kmeans

COVARIANCE_TYPES = gaussian.COVARIANCE_TYPES


def _covariance_layout(ct, K, d):
    return {"spherical": (K,), "diag": (K, d), "full": (K, d, d), "tied": (d, d)}[ct]


def _full_covariances(covars, ct, K, d):
    """(K, d, d) matrices from any layout."""
    if ct == "spherical":
        return covars[:, None, None] * np.eye(d)
    if ct == "diag":
        return np.einsum("kj,ij->kij", covars, np.eye(d))
    if ct == "tied":
        return np.repeat(covars[None], K, axis=0)
    return covars.copy()


def _check_covariances(covars, ct, shape, name):
    if covars.shape != shape:
        raise ValueError(f"{name} must have shape {shape} for covariance_type={ct!r}, "
                         f"got {covars.shape}")
    if not np.all(np.isfinite(covars)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if ct in ("spherical", "diag"):
        if np.any(covars <= 0):
            raise ValueError(f"{name} must be positive")
        return
    for idx, mat in zip(np.ndindex(covars.shape[:-2]), covars.reshape(-1, *covars.shape[-2:])):
        where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        if not np.allclose(mat, mat.T, rtol=1e-10, atol=0):
            raise ValueError(f"{where} is not symmetric")
        if np.linalg.eigvalsh(mat).min() <= 0:
            raise ValueError(f"{where} is not positive definite")


def _data_covariance(X, min_covar):
    cv = np.atleast_2d(np.cov(X.T)) if X.shape[0] > 1 else np.zeros((X.shape[1],) * 2)
    return cv + min_covar * np.eye(X.shape[1])


def _factored(data, em, factor):
    """The kernel parameters the density pass made for ``em``, or new ones."""
    cached = getattr(data, "factored", None)
    return cached[1] if cached is not None and cached[0] is em else factor(em)


def _kernel_params(weights, means, covs, ct):
    """GaussianParams for the kernels; a singular covariance names the state."""
    try:
        return gaussian.make_params(weights, means, covs, ct)
    except DegenerateFitError as err:
        raise DegenerateFitError(
            f"{err} -- in an HMM: a state has collapsed; use covars_prior > 0, fewer "
            "states or other starting values") from None


class _GaussianEmissions(BaseHMM):
    """What the two Gaussian classes share: data checks and prepared rows."""

    def _check_X(self, X, fitting):
        Xa, _ = check_data(X, "X")
        if fitting:
            self.n_features = Xa.shape[1]
        elif Xa.shape[1] != self._n_features():
            raise ValueError(f"X has {Xa.shape[1]} features, but the model has "
                             f"{self._n_features()}")
        return Xa

    def _n_features(self):
        return getattr(self, "n_features", None) or np.shape(self.means_)[-1]

    def _emission_data(self, X):
        return gaussian.prepare(X)


class GaussianHMM(_GaussianEmissions):
    __doc__ = """Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``).

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    covariance_type : {"diag", "full", "spherical", "tied"}, default "diag"
    min_covar : float, default 1e-3
        Added to the diagonal of the data covariance that starts the covariances.
    means_prior, means_weight : float or array
        Normal prior on the means: mean and weight (0: no prior).
    covars_prior, covars_weight : float or array
        Inverse-gamma (diag, spherical) or inverse-Wishart (full, tied) prior
        on the covariances, in hmmlearn's parameterisation.  The default
        ``covars_prior=1e-2`` is hmmlearn's; ``covars_prior=0`` (with the other
        defaults) gives plain maximum likelihood.""" + COMMON_DOC + """
    Attributes
    ----------
    startprob_ : (n_components,); transmat_ : (n_components, n_components)
    means_ : (n_components, n_features)
    covars_ : (n_components, n_features, n_features), the full matrices whatever
        the type (set it in the layout of the type: (K,) spherical, (K, d)
        diag, (K, d, d) full, (d, d) tied).
    monitor_ : ConvergenceMonitor, with the log-likelihood history.
    n_features : int

    Examples
    --------
    >>> import numpy as np, emkit
    >>> X = np.r_[np.random.default_rng(0).normal(0, 1, (200, 1)),
    ...           np.random.default_rng(1).normal(5, 1, (200, 1))]
    >>> model = emkit.GaussianHMM(2, random_state=0).fit(X)
    >>> model.predict(X)[:3]  # doctest: +SKIP
    """
    _emission_letters = "mc"

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3,
                 startprob_prior=1.0, transmat_prior=1.0, means_prior=0, means_weight=0,
                 covars_prior=1e-2, covars_weight=1, algorithm="viterbi", random_state=None,
                 n_iter=100, tol=1e-2, verbose=False, params="stmc", init_params="stmc",
                 implementation="log", n_threads=None):
        self._set_common(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation, n_threads)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    @property
    def covars_(self):
        """The covariance matrices, (n_components, n_features, n_features)."""
        K, d = self.n_components, self._n_features()
        return _full_covariances(self._covars_, self.covariance_type, K, d)

    @covars_.setter
    def covars_(self, covars):
        self._covars_ = np.array(covars, dtype=np.float64)

    def _check_settings(self):
        super()._check_settings()
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, "
                             f"got {self.covariance_type!r}")

    def _init_emission(self, X, rng):
        K = self.n_components
        if self._needs_init("m", "means_"):
            self.means_ = kmeans(X, K, rng)[1]
        if self._needs_init("c", "_covars_"):
            cv = _data_covariance(X, self.min_covar)
            self._covars_ = {"spherical": np.full(K, np.diag(cv).mean()),
                             "diag": np.tile(np.diag(cv), (K, 1)),
                             "full": np.tile(cv, (K, 1, 1)), "tied": cv}[self.covariance_type]

    def _check_emission(self):
        K, ct = self.n_components, self.covariance_type
        if not hasattr(self, "means_") or not hasattr(self, "_covars_"):
            raise ValueError(f"this {type(self).__name__} has no means_/covars_; fit it "
                             "or set them")
        self.means_ = np.array(self.means_, dtype=np.float64)
        if self.means_.ndim != 2 or self.means_.shape[0] != K:
            raise ValueError(f"means_ must have shape ({K}, n_features), got "
                             f"{self.means_.shape}")
        if not np.all(np.isfinite(self.means_)):
            raise ValueError("means_ contains NaN or infinite values")
        d = self.means_.shape[1]
        if getattr(self, "n_features", d) != d:
            raise ValueError(f"means_ has {d} features but the model was fitted with "
                             f"{self.n_features}")
        self.n_features = d
        _check_covariances(self._covars_, ct, _covariance_layout(ct, K, d), "covars_")

    def _emission_params(self):
        return {"means": self.means_, "covars": self._covars_}

    def _set_emission(self, em):
        self.means_, self._covars_ = em["means"], em["covars"]

    def _model(self):
        return gaussian.GaussianMixtureModel(self.n_components, self.covariance_type,
                                             n_threads=self.n_threads)

    def _gparams(self, em):
        return _kernel_params(np.ones(self.n_components), em["means"], em["covars"],
                              self.covariance_type)

    def _log_emission(self, data, em):
        data.factored = (em, self._gparams(em))  # the statistics pass reuses the factors
        out = np.empty((data.X.shape[0], self.n_components))
        return self._model().log_densities(data, data.factored[1], out)

    def _emission_stats(self, data, post, em):
        return self._model().stats_given(data, _factored(data, em, self._gparams), post)

    def _emission_mstep(self, stats, old):
        ct, d = self.covariance_type, stats.S1.shape[1]
        N = stats.N
        # a state no row can be in (occupancy exactly 0) keeps its parameters
        empty = N <= 0
        mw = np.broadcast_to(np.asarray(self.means_weight, dtype=np.float64),
                             N.shape)[:, None]
        mp = np.broadcast_to(np.asarray(self.means_prior, dtype=np.float64), stats.S1.shape)
        means = old["means"]
        if "m" in self.params:
            denom = mw + N[:, None]
            new = (mw * mp + stats.S1 + N[:, None] * stats.centres) / np.where(denom > 0,
                                                                                 denom, 1.0)
            means = np.where(denom > 0, new, old["means"])
        covars = old["covars"]
        if "c" in self.params:
            diff = means - mp
            cw = np.broadcast_to(np.asarray(self.covars_weight, dtype=np.float64), N.shape)
            scatter = gaussian.scatter_about(stats, means)
            if ct in ("spherical", "diag"):
                c_n = mw * diff**2 + scatter
                c_d = np.maximum(cw - 1.0, 0.0)[:, None] + N[:, None]
                covars = (self.covars_prior + c_n) / np.maximum(c_d, 1e-5)
                if ct == "spherical":
                    covars = covars.mean(axis=1)
            else:
                c_n = mw[:, :, None] * np.einsum("ki,kj->kij", diff, diff) + scatter
                cvweight = np.maximum(cw - d, 0.0)
                if ct == "tied":
                    covars = (self.covars_prior + c_n.sum(0)) / (cvweight.mean() + N.sum())
                else:
                    covars = (self.covars_prior + c_n) / np.where(
                        cvweight + N > 0, cvweight + N, 1.0)[:, None, None]
            if ct != "tied" and empty.any():
                covars = np.where(empty.reshape((-1,) + (1,) * (covars.ndim - 1)),
                                  old["covars"], covars)
        return {"means": means, "covars": covars}

    def _emission_scalars(self):
        K, d = self.n_components, self._n_features()
        cov = {"spherical": K, "diag": K * d, "full": K * d * (d + 1) // 2,
               "tied": d * (d + 1) // 2}[self.covariance_type]
        return {"m": K * d, "c": cov}

    def _map_priors(self):
        d = self._n_features()
        floor = 1.0 if self.covariance_type in ("spherical", "diag") else d
        return bool(np.any(np.asarray(self.means_weight) != 0)
                    or np.any(np.asarray(self.covars_prior) != 0)
                    or np.any(np.asarray(self.covars_weight) > floor))

    def _draw_emissions(self, states, rng):
        covs = self.covars_
        X = np.empty((states.size, self._n_features()))
        for k in range(self.n_components):
            rows = np.flatnonzero(states == k)
            X[rows] = rng.multivariate_normal(self.means_[k], covs[k], rows.size)
        return X


class GMMHMM(_GaussianEmissions):
    __doc__ = """Hidden Markov model whose emissions are Gaussian mixtures (hmmlearn's ``GMMHMM``).

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    n_mix : int
        Gaussian components in each state's mixture.
    min_covar : float, default 1e-3
        Added to the diagonal of the data covariance that starts the covariances.
    weights_prior : float or array
        Dirichlet prior on each state's mixture weights (1: none).
    means_prior, means_weight, covars_prior, covars_weight
        Priors in hmmlearn's parameterisation.  ``covars_prior`` and
        ``covars_weight`` default to the values that make the M-step plain
        maximum likelihood (for "spherical" too, where hmmlearn's defaults do not).
    covariance_type : {"diag", "full", "spherical", "tied"}, default "diag"
        "tied": one covariance per state, shared by its mixture components.""" + \
        COMMON_DOC + """
    Attributes
    ----------
    weights_ : (n_components, n_mix)
    means_ : (n_components, n_mix, n_features)
    covars_ : (n_components, n_mix) spherical, (n_components, n_mix, n_features)
        diag, (n_components, n_mix, n_features, n_features) full,
        (n_components, n_features, n_features) tied.

    Notes
    -----
    The covariance update is the exact EM (or MAP) step: scatter about the
    new means.  hmmlearn 0.3 takes the scatter about the previous means, so
    its fits can differ (and its likelihood can fall).
    """
    _emission_letters = "mcw"

    def __init__(self, n_components=1, n_mix=1, min_covar=1e-3, startprob_prior=1.0,
                 transmat_prior=1.0, weights_prior=1.0, means_prior=0.0, means_weight=0.0,
                 covars_prior=None, covars_weight=None, algorithm="viterbi",
                 covariance_type="diag", random_state=None, n_iter=100, tol=1e-2,
                 verbose=False, params="stmcw", init_params="stmcw", implementation="log",
                 n_threads=None):
        self._set_common(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation, n_threads)
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.covariance_type = covariance_type

    def _check_settings(self):
        super()._check_settings()
        check_int(self.n_mix, "n_mix", 1)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, "
                             f"got {self.covariance_type!r}")

    def _covars_layout(self, d):
        K, M, ct = self.n_components, self.n_mix, self.covariance_type
        return {"spherical": (K, M), "diag": (K, M, d), "full": (K, M, d, d),
                "tied": (K, d, d)}[ct]

    def _init_emission(self, X, rng):
        K, M, d = self.n_components, self.n_mix, X.shape[1]
        if self._needs_init("m", "means_"):
            labels, centres = kmeans(X, K, rng)
            means = np.empty((K, M, d))
            for k in range(K):
                members = X[labels == k]
                if members.shape[0] >= M:
                    means[k] = kmeans(members, M, rng)[1]
                else:  # too few rows to split: spread around the state's centre
                    spread = np.sqrt(np.diag(_data_covariance(X, self.min_covar)))
                    means[k] = centres[k] + 0.1 * spread * rng.standard_normal((M, d))
            self.means_ = means
        if self._needs_init("w", "weights_"):
            self.weights_ = np.full((K, M), 1.0 / M)
        if self._needs_init("c", "covars_"):
            cv = _data_covariance(X, self.min_covar)
            shape = self._covars_layout(d)
            base = {"spherical": np.diag(cv).mean(), "diag": np.diag(cv), "full": cv,
                    "tied": cv}[self.covariance_type]
            self.covars_ = np.broadcast_to(base, shape).copy()

    def _check_emission(self):
        K, M = self.n_components, self.n_mix
        for name in ("weights_", "means_", "covars_"):
            if not hasattr(self, name):
                raise ValueError(f"this GMMHMM has no {name}; fit it or set it")
        self.weights_ = np.array(self.weights_, dtype=np.float64)
        self.means_ = np.array(self.means_, dtype=np.float64)
        self.covars_ = np.array(self.covars_, dtype=np.float64)
        if self.weights_.shape != (K, M):
            raise ValueError(f"weights_ must have shape ({K}, {M}), got {self.weights_.shape}")
        check_distribution(self.weights_, "weights_")
        if self.means_.ndim != 3 or self.means_.shape[:2] != (K, M):
            raise ValueError(f"means_ must have shape ({K}, {M}, n_features), got "
                             f"{self.means_.shape}")
        if not np.all(np.isfinite(self.means_)):
            raise ValueError("means_ contains NaN or infinite values")
        d = self.means_.shape[2]
        self.n_features = d
        _check_covariances(self.covars_, self.covariance_type, self._covars_layout(d),
                           "covars_")

    def _emission_params(self):
        return {"weights": self.weights_, "means": self.means_, "covars": self.covars_}

    def _set_emission(self, em):
        self.weights_, self.means_, self.covars_ = em["weights"], em["means"], em["covars"]

    # the K x M components, flattened, are one Gaussian mixture for the kernels
    def _flat(self, em):
        K, M = self.n_components, self.n_mix
        d = em["means"].shape[2]
        ct = self.covariance_type
        covs = em["covars"]
        if ct == "tied":
            covs, ct = np.repeat(covs, M, axis=0), "full"
        else:
            covs = covs.reshape((K * M,) + covs.shape[2:])
        with np.errstate(divide="ignore"):
            params = _kernel_params(em["weights"].ravel(), em["means"].reshape(K * M, d),
                                    covs, ct)
        return gaussian.GaussianMixtureModel(K * M, ct, n_threads=self.n_threads), params

    def _log_emission(self, data, em):
        K, M = self.n_components, self.n_mix
        data.factored = (em, self._flat(em))
        model, params = data.factored[1]
        n = data.X.shape[0]
        L = model.log_densities(data, params, np.empty((n, K * M))).reshape(n, K, M)
        top = L.max(axis=2)
        safe = np.where(np.isfinite(top), top, 0.0)
        within = np.exp(L - safe[:, :, None])
        total = within.sum(axis=2)
        with np.errstate(divide="ignore"):
            logB = safe + np.log(total)
        within /= np.where(total > 0, total, 1.0)[:, :, None]
        data.within = within  # the mixture posteriors within each state, for the stats
        return np.ascontiguousarray(logB)

    def _emission_stats(self, data, post, em):
        K, M = self.n_components, self.n_mix
        model, params = _factored(data, em, self._flat)
        resp = (data.within * post[:, :, None]).reshape(-1, K * M)
        return model.stats_given(data, params, np.ascontiguousarray(resp))

    def _priors(self, d):
        """(covars_prior, covars_weight) with the plain-likelihood defaults."""
        M, ct = self.n_mix, self.covariance_type
        default = {"full": (0.0, -(d + 2.0)), "tied": (0.0, -(M + d + 1.0)),
                   "diag": (-1.5, 0.0), "spherical": (-(d + 2.0) / 2.0, 0.0)}[ct]
        prior = default[0] if self.covars_prior is None else self.covars_prior
        weight = default[1] if self.covars_weight is None else self.covars_weight
        return np.asarray(prior, dtype=np.float64), np.asarray(weight, dtype=np.float64)

    def _emission_mstep(self, stats, old):
        # an empty component's 0/0 values are replaced by its old parameters below
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._mixture_mstep(stats, old)

    def _mixture_mstep(self, stats, old):
        K, M, ct = self.n_components, self.n_mix, self.covariance_type
        d = stats.S1.shape[1]
        N = stats.N.reshape(K, M)
        weights, means, covars = old["weights"], old["means"], old["covars"]
        wp = np.broadcast_to(np.asarray(self.weights_prior, dtype=np.float64), (K, M))
        if "w" in self.params:
            w_d = (N.sum(1) + (wp - 1.0).sum(1))[:, None]
            weights = np.where(w_d > 0, (N + wp - 1.0) / np.where(w_d > 0, w_d, 1.0), weights)
        lam = np.broadcast_to(np.asarray(self.means_weight, dtype=np.float64), (K, M))
        mu0 = np.broadcast_to(np.asarray(self.means_prior, dtype=np.float64), (K, M, d))
        if "m" in self.params:
            sums = (stats.S1 + stats.N[:, None] * stats.centres).reshape(K, M, d)
            m_d = (N + lam)[:, :, None]
            means = np.where(m_d > 0, (lam[:, :, None] * mu0 + sums) / np.where(m_d > 0, m_d,
                                                                                1.0), means)
        if "c" in self.params:
            psi, nu = self._priors(d)
            diff = means - mu0
            scatter = gaussian.scatter_about(stats, means.reshape(K * M, d))
            if ct == "full":
                c_n = (np.broadcast_to(psi, (K, M, d, d)).transpose(0, 1, 3, 2)
                       + lam[:, :, None, None] * np.einsum("kmi,kmj->kmij", diff, diff)
                       + scatter.reshape(K, M, d, d))
                covars = c_n / (N + 1.0 + nu + d + 1.0)[:, :, None, None]
            elif ct == "tied":
                c_n = (np.einsum("km,kmi,kmj->kij", lam, diff, diff)
                       + np.broadcast_to(psi, (K, d, d)).transpose(0, 2, 1)
                       + scatter.reshape(K, M, d, d).sum(1))
                covars = c_n / (N.sum(1) + M + nu + d + 1.0)[:, None, None]
            elif ct == "diag":
                c_n = lam[:, :, None] * diff**2 + 2.0 * nu + scatter.reshape(K, M, d)
                covars = c_n / (N[:, :, None] + 1.0 + 2.0 * (psi + 1.0))
            else:
                c_n = (lam * np.einsum("kmi,kmi->km", diff, diff) + 2.0 * nu
                       + scatter.reshape(K, M, d).sum(2))
                covars = c_n / (d * (N + 1.0) + 2.0 * (psi + 1.0))
            # a component no row can be in keeps its covariance
            empty = (N <= 0) if ct != "tied" else (N.sum(1) <= 0)
            covars = np.where(empty.reshape(empty.shape + (1,) * (covars.ndim - empty.ndim)),
                              old["covars"], covars)
        return {"weights": weights, "means": means, "covars": covars}

    def _emission_scalars(self):
        K, M, d = self.n_components, self.n_mix, self._n_features()
        cov = {"spherical": K * M, "diag": K * M * d, "full": K * M * d * (d + 1) // 2,
               "tied": K * d * (d + 1) // 2}[self.covariance_type]
        return {"m": K * M * d, "c": cov, "w": K * (M - 1)}

    def _map_priors(self):
        d = self._n_features()
        psi, nu = self._priors(d)
        default_psi, default_nu = GMMHMM(self.n_components, self.n_mix,
                                         covariance_type=self.covariance_type)._priors(d)
        return bool(np.any(np.asarray(self.weights_prior) != 1.0)
                    or np.any(np.asarray(self.means_weight) != 0)
                    or np.any(psi != default_psi) or np.any(nu != default_nu))

    def _full_covars(self):
        K, M, d = self.n_components, self.n_mix, self._n_features()
        ct = self.covariance_type
        if ct == "tied":
            return np.repeat(self.covars_[:, None], M, axis=1)
        flat = self.covars_.reshape((K * M,) + self.covars_.shape[2:])
        return _full_covariances(flat, ct, K * M, d).reshape(K, M, d, d)

    def _draw_emissions(self, states, rng):
        covs = self._full_covars()
        X = np.empty((states.size, self._n_features()))
        for k in range(self.n_components):
            rows = np.flatnonzero(states == k)
            mix = rng.choice(self.n_mix, size=rows.size, p=self.weights_[k])
            for m in range(self.n_mix):
                sel = rows[mix == m]
                X[sel] = rng.multivariate_normal(self.means_[k, m], covs[k, m], sel.size)
        return X
