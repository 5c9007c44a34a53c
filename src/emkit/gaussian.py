"""The Gaussian mixture as an EM model: E-step through the fused kernel,
M-step from the kernel's sufficient statistics (no second pass over the data).

Parameters follow scikit-learn's conventions (``covariance_type`` full, tied,
diag or spherical; ``precisions_cholesky`` is the upper-triangular factor U
with precision = U U'), so that the estimator class is a thin shell.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from . import _gaussian
from .engine import DegenerateFitError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_LOG_2PI = np.log(2.0 * np.pi)
_SINGULAR = 10.0 * np.sqrt(np.finfo(float).eps)


@dataclass
class GaussianParams:
    """Mixture parameters in scikit-learn's layout for one covariance type."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str

    def vector(self) -> np.ndarray:
        """All free parameters in one vector (for the parameter-change rule)."""
        return np.concatenate([self.weights, self.means.ravel(), self.covariances.ravel()])

    @property
    def precisions(self) -> np.ndarray:
        pc = self.precisions_cholesky
        if self.covariance_type == "full":
            return np.einsum("kij,klj->kil", pc, pc)
        if self.covariance_type == "tied":
            return pc @ pc.T
        return pc**2


@dataclass
class GaussianStats:
    """Weighted sufficient statistics of each component about its own centre.

    N (K,), S1 (K, d), S2 (K, d, d) or (K, d) for diagonal models, all of
    x - centres[k]; centres (K, d) are the means the E-step was run at.
    """

    N: np.ndarray
    S1: np.ndarray
    S2: np.ndarray
    centres: np.ndarray


@functools.lru_cache(maxsize=64)
def _vech_positions(d: int) -> np.ndarray:
    """For each entry of a d x d matrix, its position in the row-by-row upper triangle."""
    iu, ju = np.triu_indices(d)
    pos = np.empty((d, d), dtype=np.intp)
    pos[iu, ju] = pos[ju, iu] = np.arange(iu.size)
    return pos


def _unvech(v: np.ndarray, d: int) -> np.ndarray:
    """(K, d(d+1)/2) upper triangles, row by row, to (K, d, d) symmetric matrices."""
    return v[:, _vech_positions(d)]


@dataclass
class GaussianData:
    """Rows ready for the kernel: C-contiguous float64, weights, centring point,
    and the weighted column variances."""

    X: np.ndarray
    w: np.ndarray
    shift: np.ndarray
    variances: np.ndarray

    @property
    def total_weight(self) -> float:
        return float(self.w.sum())


def prepare(X: np.ndarray, w: np.ndarray | None = None) -> GaussianData:
    """Wrap validated data; the centring point is the weighted column mean."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if w is None else np.ascontiguousarray(w, dtype=np.float64)
    total = w.sum()
    # einsum's own loops, not BLAS: a fixed summation order whatever the threads
    shift = np.ascontiguousarray(np.einsum("i,ij->j", w, X) / total)
    variances = np.array([np.einsum("i,i,i->", w, X[:, j] - shift[j], X[:, j] - shift[j])
                          for j in range(X.shape[1])]) / total
    return GaussianData(X, w, shift, variances)


def cholesky_precisions(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper Cholesky factors of the precisions; DegenerateFitError names a singular component.

    Uses LAPACK's unblocked potrf/trtri directly: on d x d matrices they are
    microseconds and, unlike solve_triangular, never wake BLAS threads that
    would compete with the kernel's OpenMP threads.
    """
    if covariance_type in ("full", "tied"):
        covs = covariances[None] if covariance_type == "tied" else covariances
        out = np.empty_like(covs)
        for k, cov in enumerate(covs):
            chol, out[k], info = _factor(cov)
            # chol[j, j]^2 / cov[j, j] = 1 - R^2 of column j on the earlier ones:
            # at ~100 eps it is a linear combination of them to round-off
            # (a test that, unlike the condition number, ignores column scales)
            if info != 0 or not np.all(np.isfinite(chol)) or np.min(
                    np.diag(chol) / np.sqrt(np.diag(cov))) <= _SINGULAR:
                what = "the tied covariance" if covariance_type == "tied" else f"component {k}"
                raise DegenerateFitError(
                    f"{what} has a singular covariance matrix (too few points for it, or "
                    "collinear columns); increase reg_covar, use fewer components, or drop "
                    "redundant columns"
                )
        return out[0] if covariance_type == "tied" else out
    per_component = covariances.reshape(covariances.shape[0], -1)
    if not np.all(np.isfinite(per_component)):
        bad = np.flatnonzero(~np.isfinite(per_component).all(1)).tolist()
        raise DegenerateFitError(f"component(s) {bad} have non-finite variances (the data's "
                                 "squares overflow?); rescale the data")
    bad = np.flatnonzero((per_component <= 0.0).any(1))
    if bad.size:
        raise DegenerateFitError(
            f"component(s) {bad.tolist()} have a zero or negative variance (collapsed); "
            "increase reg_covar, use fewer components or rescale the data"
        )
    return 1.0 / np.sqrt(covariances)


def _factor(cov: np.ndarray):
    """(lower Cholesky factor L of cov, upper factor U = L^-T of its inverse, LAPACK info)."""
    chol, info = lapack.dpotrf(cov, lower=1, clean=1)
    inv = chol
    if info == 0:
        inv, info = lapack.dtrtri(chol, lower=1)
    return chol, inv.T, info


def precision_factors(covariances: np.ndarray) -> np.ndarray:
    """Upper factors U_k (precision_k = U_k U_k') of (K, d, d) covariances that the
    caller has already found non-singular by its own test."""
    out = np.empty_like(covariances)
    for k, cov in enumerate(covariances):
        _, out[k], info = _factor(cov)
        if info != 0:
            raise DegenerateFitError(f"component {k} has a singular covariance matrix")
    return out


def scatter_matrices(stats: GaussianStats, nk: np.ndarray) -> np.ndarray:
    """Each component's weighted scatter about its new mean centre_k + S1_k / nk_k:
    (K, d, d), or (K, d) diagonals when the statistics are diagonal."""
    return scatter_about(stats, stats.centres + stats.S1 / nk[:, None])


def scatter_about(stats: GaussianStats, means: np.ndarray) -> np.ndarray:
    """sum_i w_i r_ik (x_i - m_k)(x_i - m_k)' from statistics about the centres,
    (K, d, d), or the (K, d) diagonals for diagonal statistics."""
    m = means - stats.centres
    if stats.S2.ndim == 3:
        S1m = np.einsum("ki,kj->kij", stats.S1, m)
        return (stats.S2 - S1m - S1m.transpose(0, 2, 1)
                + stats.N[:, None, None] * np.einsum("ki,kj->kij", m, m))
    return stats.S2 - 2.0 * m * stats.S1 + stats.N[:, None] * m**2


def singular_components(params: GaussianParams, reg_covar: float, data_var: np.ndarray,
                        rtol: float = 1e-8) -> list[int]:
    """Components whose covariance, less ``reg_covar``, is (nearly) singular.

    Measured in units of the data's own variances, so that a column's scale
    does not matter: such a component sits on a point or a line (a spike in the
    likelihood held up by ``reg_covar`` alone), not on a cluster.  Columns with
    variance 0 are left out.
    """
    ct, K = params.covariance_type, params.means.shape[0]
    keep = np.flatnonzero(data_var > 0)
    if keep.size == 0:
        return []
    scale = 1.0 / np.sqrt(data_var[keep])
    cov = params.covariances
    if ct in ("full", "tied"):
        covs = (cov[None] if ct == "tied" else cov)[:, keep[:, None], keep]
        covs = (covs - reg_covar * np.eye(keep.size)) * scale[:, None] * scale[None, :]
        low = np.linalg.eigvalsh(covs).min(axis=1)
        low = np.repeat(low, K) if ct == "tied" else low
    elif ct == "diag":
        low = ((cov[:, keep] - reg_covar) * scale**2).min(axis=1)
    else:
        low = (cov - reg_covar) * (scale**2).min()
    return np.flatnonzero(low <= rtol).tolist()


def make_params(weights, means, covariances, covariance_type) -> GaussianParams:
    covariances = np.asarray(covariances, dtype=np.float64)
    return GaussianParams(
        np.asarray(weights, dtype=np.float64),
        np.asarray(means, dtype=np.float64),
        covariances,
        cholesky_precisions(covariances, covariance_type),
        covariance_type,
    )


def params_from_precisions(weights, means, precisions, covariance_type) -> GaussianParams:
    """Parameters from user-supplied precisions, factored as scikit-learn does
    (lower Cholesky factor of the precision: any P with P P' = precision serves)."""
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        pc = np.array([linalg.cholesky(p, lower=True) for p in precisions])
        cov = np.array([linalg.inv(p) for p in precisions])
    elif covariance_type == "tied":
        pc, cov = linalg.cholesky(precisions, lower=True), linalg.inv(precisions)
    else:
        pc, cov = np.sqrt(precisions), 1.0 / precisions
    return GaussianParams(np.asarray(weights, dtype=np.float64),
                          np.asarray(means, dtype=np.float64), cov, pc, covariance_type)


class GaussianMixtureModel:
    """E-step and M-step of a K-component Gaussian mixture for the EM engine."""

    def __init__(self, n_components: int, covariance_type: str = "full",
                 reg_covar: float = 1e-6, n_threads: int | None = None):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}"
            )
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_threads = n_threads or 0

    # -- E-step -------------------------------------------------------------
    def _kernel_args(self, params: GaussianParams, shift: np.ndarray):
        """Precision factors and centred means in the kernel's layouts."""
        ct = self.covariance_type
        K, d = params.means.shape
        pc = params.precisions_cholesky
        centred = params.means - shift
        if ct == "full":
            P = pc.transpose(1, 0, 2).reshape(d, K * d)  # U_1 ... U_K side by side
            mP = np.einsum("ka,kaj->kj", centred, pc)
            logdet = np.log(np.diagonal(pc, axis1=1, axis2=2)).sum(1)
        elif ct == "tied":
            P, mP = pc, centred @ pc
            logdet = np.full(K, np.log(np.diag(pc)).sum())
        else:
            # diagonal: the whitening factor is the vector of sqrt(precisions)
            P = pc if ct == "diag" else np.repeat(pc[:, None], d, axis=1)
            mP = P * centred
            logdet = np.log(P).sum(1)
        with np.errstate(divide="ignore"):
            cst = np.log(params.weights) + logdet - 0.5 * d * _LOG_2PI
        c = np.ascontiguousarray
        return ("diag" if ct == "spherical" else ct), c(P), c(mP), c(cst)

    def estep(self, data: GaussianData, params: GaussianParams, *, stats: bool = True,
              resp: np.ndarray | None = None, logprob: np.ndarray | None = None):
        """Return (GaussianStats or None, weighted log-likelihood).

        ``resp`` (n, K) and ``logprob`` (n,) are filled in when given.
        """
        density, P, mP, cst = self._kernel_args(params, data.shift)
        moments = self._moments() if stats else "none"
        S, centres = self._statistics_buffers(params, data.shift, moments)
        ll = _gaussian.estep(data.X, data.w, data.shift, density, P, mP, cst, moments,
                             S, centres, resp, logprob, self.n_threads)
        return (self._unpack(S, params) if stats else None), ll

    def log_densities(self, data: GaussianData, params: GaussianParams,
                      out: np.ndarray) -> np.ndarray:
        """out (n, K) = log weights_k + log N(x_i; mean_k, cov_k), for models
        whose responsibilities are more than a mixture's (hidden Markov models)."""
        density, P, mP, cst = self._kernel_args(params, data.shift)
        _gaussian.estep(data.X, data.w, data.shift, density, P, mP, cst, "none", None, None,
                        out, None, self.n_threads, "densities")
        return out

    def stats_given(self, data: GaussianData, params: GaussianParams,
                    resp: np.ndarray) -> GaussianStats:
        """The statistics of the E-step for responsibilities found elsewhere
        (``resp`` (n, K)), about the means in ``params``."""
        density, P, mP, cst = self._kernel_args(params, data.shift)
        moments = self._moments()
        S, centres = self._statistics_buffers(params, data.shift, moments)
        _gaussian.estep(data.X, data.w, data.shift, density, P, mP, cst, moments, S, centres,
                        resp, None, self.n_threads, "given")
        return self._unpack(S, params)

    def _moments(self) -> str:
        return "diag" if self.covariance_type in ("diag", "spherical") else "full"

    @staticmethod
    def _statistics_buffers(params: GaussianParams, shift: np.ndarray, moments: str):
        if moments == "none":
            return None, None
        K, d = params.means.shape
        return (np.empty((K, _gaussian.n_statistics(d, moments))),
                np.ascontiguousarray(params.means - shift))

    def _unpack(self, S: np.ndarray, params: GaussianParams) -> GaussianStats:
        d = params.means.shape[1]
        N, S1, S2 = S[:, 0], S[:, 1:d + 1], S[:, d + 1:]
        if self._moments() == "full":
            S2 = _unvech(S2, d)
        return GaussianStats(N, S1, S2, params.means)

    # -- M-step: scikit-learn's estimators, on per-component centred statistics
    def mstep(self, stats: GaussianStats) -> GaussianParams:
        ct, reg = self.covariance_type, self.reg_covar
        N_raw = stats.N
        nk = N_raw + 10 * np.finfo(float).eps
        d = stats.S1.shape[1]
        scatter = scatter_matrices(stats, nk)
        if ct in ("full", "tied"):
            if ct == "full":
                cov = scatter / nk[:, None, None]
                cov[:, np.arange(d), np.arange(d)] += reg
            else:
                cov = scatter.sum(0) / nk.sum()
                cov.flat[:: d + 1] += reg
        else:
            cov = scatter / nk[:, None] + reg
            if ct == "spherical":
                cov = cov.mean(1)
        # a component with no weight keeps scikit-learn's mean, S1 / nk ~ 0
        means = (stats.S1 + N_raw[:, None] * stats.centres) / nk[:, None]
        return make_params(nk / nk.sum(), means, cov, ct)

    def n_parameters(self, d: int) -> int:
        K, ct = self.n_components, self.covariance_type
        cov = {"full": K * d * (d + 1) // 2, "tied": d * (d + 1) // 2,
               "diag": K * d, "spherical": K}[ct]
        return cov + K * d + K - 1

    def param_vector(self, params: GaussianParams) -> np.ndarray:
        return params.vector()


def stats_from_resp(data: GaussianData, resp: np.ndarray, covariance_type: str,
                    chunk: int = 16384) -> GaussianStats:
    """Statistics for given responsibilities (for starting values only: the
    kernel computes them during EM without an (n, K) weight matrix).  Two
    passes: the means, then the moments about them; rows go in chunks so the
    temporaries stay small whatever n is."""
    K, d = resp.shape[1], data.X.shape[1]
    N, S1 = np.zeros(K), np.zeros((K, d))
    for rows in _chunks(data.X.shape[0], chunk):
        R = resp[rows] * data.w[rows, None]
        N += R.sum(0)
        S1 += R.T @ data.X[rows]
    centres = S1 / np.maximum(N, np.finfo(float).tiny)[:, None]
    S1 = np.zeros((K, d))
    S2 = np.zeros((K, d, d) if covariance_type in ("full", "tied") else (K, d))
    for rows in _chunks(data.X.shape[0], chunk):
        R = resp[rows] * data.w[rows, None]
        for k in range(K):
            Xc = data.X[rows] - centres[k]
            S1[k] += R[:, k] @ Xc
            S2[k] += (Xc.T * R[:, k]) @ Xc if S2.ndim == 3 else R[:, k] @ (Xc * Xc)
    return GaussianStats(N, S1, S2, centres)


def _chunks(n: int, size: int):
    return (slice(start, start + size) for start in range(0, n, size))


def first_moments(data: GaussianData, resp: np.ndarray, n_threads: int = 0):
    """(N_k, sum_i w_i r_ik x_i) for responsibilities ``resp`` (n, K): the E-step
    statistics of emission models whose only statistic is the mean (Poisson)."""
    K, d = resp.shape[1], data.X.shape[1]
    S = np.empty((K, 1 + d))
    unused = np.zeros((K, d))
    _gaussian.estep(data.X, data.w, np.zeros(d), "diag", unused, unused, np.zeros(K), "mean",
                    S, np.zeros((K, d)), resp, None, n_threads, "given")
    return S[:, 0], S[:, 1:]
