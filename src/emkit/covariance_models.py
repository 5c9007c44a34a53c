"""mclust's covariance models: their M-step, parameter counts and degeneracy tests.

mclust writes each component covariance as ``Sigma_k = lambda_k D_k A_k D_k'``
(volume ``lambda_k``, shape ``A_k`` diagonal with determinant 1, orientation
``D_k`` orthogonal) and names a model by which of the three are Equal across
components, Variable, or the Identity.  :func:`mstep_variance` reproduces what
the M-step inside mclust 6.0.0's Fortran EM routines (``me*``, which ``me()``,
``mclustBIC()`` and ``Mclust()`` call) computes from the weighted scatter
matrices, iteration for iteration where the M-step iterates, and raises
:class:`~emkit.engine.DegenerateFitError` exactly where those routines give up,
so that an EM built on it follows mclust's trajectory and fails where mclust's
BIC is NA.

Where mclust's routines iterate inside the M-step (VEI, VEV: the fixed point of
Celeux & Govaert 1995; VEE: a fixed point on the common matrix C; EVE, VVE: the
MM algorithms of Browne & McNicholas 2014), they stop when the relative change
(of the parameters for VEI and VEV, of the objective for the others) falls to
``tol = emControl()$tol[2] = sqrt(eps)``, and VEI, VEV, EVE and VVE start each
M-step from where the previous M-step of the same EM run ended (pass it as
``previous``); VEE restarts from unit volumes every time.  Without those warm
starts an EM run drifts from mclust's by up to 1e-3 in the log-likelihood.

Each routine has its own degeneracy tests (commented at each model below): a
component weight N_k <= sqrt(eps) ("mixing proportion fell below threshold"),
and variances, volumes or shape entries <= eps, Cholesky-based condition
estimates <= sqrt(eps), or scatter matrices that are not positive definite
("singular covariance"; "sigma-squared falls below threshold" for E, V, EII,
VII).  mclust's VVE routines leave the volumes out of the orientation update,
so their M-step, reproduced here, does not quite maximise the expected
complete-data log-likelihood.

An EM sweep calls :func:`mstep_variance` thousands of times on G tiny d x d
matrices, so the inner iterations run in the compiled ``emkit._mstep`` (one
call per M-step, LAPACK without numpy's per-call overhead), and the
closed-form models keep their numpy calls few.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _mstep
from .engine import ConvergenceWarning, DegenerateFitError

__all__ = [
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "DESCRIPTIONS",
    "DIAGONAL_MODELS",
    "LAPACK_FAILED",
    "MODEL_NAMES",
    "SIGMASQ",
    "SINGULAR",
    "UNIVARIATE_MODELS",
    "VANISHED",
    "WARM_STARTED_MODELS",
    "Variance",
    "mstep_variance",
    "n_parameters",
    "n_variance_parameters",
]

MODEL_NAMES = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
               "EEV", "VEV", "EVV", "VVV")
UNIVARIATE_MODELS = ("E", "V")
# mclustModelNames(); summary(Mclust(...)) prints these in its title line
DESCRIPTIONS = {
    "E": "univariate, equal variance",
    "V": "univariate, unequal variance",
    "EII": "spherical, equal volume",
    "VII": "spherical, varying volume",
    "EEI": "diagonal, equal volume and shape",
    "VEI": "diagonal, equal shape",
    "EVI": "diagonal, equal volume, varying shape",
    "VVI": "diagonal, varying volume and shape",
    "EEE": "ellipsoidal, equal volume, shape and orientation",
    "VEE": "ellipsoidal, equal shape and orientation",
    "EVE": "ellipsoidal, equal volume and orientation",
    "VVE": "ellipsoidal, equal orientation",
    "EEV": "ellipsoidal, equal volume and shape",
    "VEV": "ellipsoidal, equal shape",
    "EVV": "ellipsoidal, equal volume",
    "VVV": "ellipsoidal, varying volume, shape, and orientation",
    "X": "univariate normal",
    "XII": "spherical multivariate normal",
    "XXI": "diagonal multivariate normal",
    "XXX": "ellipsoidal multivariate normal",
}
DIAGONAL_MODELS = ("E", "V", "EII", "VII", "EEI", "VEI", "EVI", "VVI")
# whose inner iteration continues from the previous M-step's result
WARM_STARTED_MODELS = ("VEI", "VEV", "EVE", "VVE")
# mclust's names for the single-component models (G = 1)
_ALIASES = {"X": "E", "XII": "EII", "XXI": "EEI", "XXX": "EEE"}


def is_diagonal(model_name: str) -> bool:
    """Whether the model's covariances are diagonal (single-component names too)."""
    return _ALIASES.get(model_name, model_name) in DIAGONAL_MODELS

_EPS = float(np.finfo(float).eps)  # emControl()$eps
_RTEPS = float(np.sqrt(_EPS))
_FLMAX = float(np.finfo(float).max)
_BIGLOG, _SMALOG = 709.0, -708.0  # the Fortran's bounds on exp()
DEFAULT_TOL = _RTEPS  # emControl()$tol[2]
DEFAULT_MAX_ITER = 2**31 - 1  # emControl()$itmax[2] = .Machine$integer.max

# mclust's warnings; the BIC of a fit that ends with one of them is NA
SINGULAR = "singular covariance"
SIGMASQ = "sigma-squared falls below threshold"
VANISHED = "mixing proportion fell below threshold"
LAPACK_FAILED = "LAPACK fails to converge"

# the models whose routines (mclustaddson.f) test the component sizes after the
# covariance, and with < where the others (mclust.f) use <=
_SIZES_TESTED_LAST = ("VEE", "EVE", "VVE", "EVV")
_STRICT_SIZE_TEST = ("EEV", "VEV") + _SIZES_TESTED_LAST


@dataclass
class Variance:
    """One M-step's covariance parameters, laid out as mclust reports them.

    Attributes
    ----------
    model_name : str
    sigma : ndarray (G, d, d)
        The component covariances.
    scale : float, ndarray (G,) or None
        lambda (one for E** models, G for V** models); the variance for E, V,
        EII and VII; None for EEE and VVV, for which mclust reports none.
    shape : ndarray (d,) or (G, d), or None
        The diagonal of A (determinant 1), one row per component where it varies.
    orientation : ndarray (d, d) or (G, d, d), or None
        D, eigenvectors in columns; column signs are arbitrary except for EVE
        and VVE, whose D comes out of the MM iteration.
    n_inner : int
        Inner iterations taken (0 for the closed-form models).
    inner_error : float
        The inner iteration's last change (NaN for the closed-form models).
    """

    model_name: str
    sigma: np.ndarray
    scale: float | np.ndarray | None
    shape: np.ndarray | None
    orientation: np.ndarray | None
    n_inner: int = 0
    inner_error: float = float("nan")


def n_variance_parameters(model_name: str, d: int, G: int) -> int:
    """Free covariance parameters of a model, as mclust's ``nVarParams``."""
    m = _ALIASES.get(model_name, model_name)
    triangle = d * (d - 1) // 2  # an orientation's free parameters
    counts = {
        "E": 1, "V": G, "EII": 1, "VII": G,
        "EEI": d, "VEI": G + (d - 1), "EVI": 1 + G * (d - 1), "VVI": G * d,
        "EEE": d * (d + 1) // 2, "VEE": G + (d - 1) + triangle,
        "EVE": 1 + G * (d - 1) + triangle, "VVE": G + G * (d - 1) + triangle,
        "EEV": 1 + (d - 1) + G * triangle, "VEV": G + (d - 1) + G * triangle,
        "EVV": 1 - G + G * d * (d + 1) // 2, "VVV": G * d * (d + 1) // 2,
    }
    if m not in counts:
        raise ValueError(f"unknown model name {model_name!r}")
    return counts[m]


def n_parameters(model_name: str, d: int, G: int) -> int:
    """Free parameters of a G-component mixture (unequal proportions, no noise
    component): covariances, means and proportions, as mclust's ``nMclustParams``."""
    return n_variance_parameters(model_name, d, G) + G * d + (G - 1)


def mstep_variance(model_name: str, N, scatter, *, previous: Variance | None = None,
                   tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER) -> Variance:
    """The covariance half of mclust's M-step.

    Parameters
    ----------
    model_name : str
        One of :data:`MODEL_NAMES` (d > 1) or :data:`UNIVARIATE_MODELS` (d = 1).
    N : array_like (G,)
        ``sum_i z_ik``.
    scatter : array_like (G, d, d)
        ``W_k = sum_i z_ik (x_i - mu_k)(x_i - mu_k)'`` about the new means.
    previous : Variance, optional
        The previous M-step of the same EM run: the models in
        :data:`WARM_STARTED_MODELS` start their inner iteration from it, as
        mclust's ``me*`` routines do (the others ignore it).  None on a run's
        first M-step, which starts where mclust's does: A = I, D = I, lambda = 1
        (VEI, EVE, VVE) or the EEV estimate (VEV).
    tol, max_iter : float, int
        The inner iterations' tolerance and limit, mclust's ``emControl()$tol[2]``
        and ``emControl()$itmax[2]``.

    Returns
    -------
    Variance

    Raises
    ------
    DegenerateFitError
        Where mclust's EM gives up (its BIC is then NA).  The message names the
        component and the test; ``err.mclust_warning`` holds mclust's warning and
        ``err.component`` the component (0-based; messages count from 1) or None.

    Warns
    -----
    ConvergenceWarning
        When the inner iteration reached ``max_iter`` (mclust: "inner
        iteration limit reached"; the fit stands).
    """
    model = _ALIASES.get(model_name, model_name)
    N, W = _validate(model, N, scatter)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    start = _warm_start(model, previous, *W.shape[:2])
    if model not in _SIZES_TESTED_LAST:
        _check_sizes(model, N)
    if not _mstep.all_finite(W):
        bad = int(np.flatnonzero(~np.isfinite(W).all(axis=(1, 2)))[0])
        raise _degenerate(model, "its scatter matrix is not finite", component=bad)
    try:
        # (the kernels count iterations in 64 bits)
        var = _MSTEPS[model](model, N, W, start, tol, min(int(max_iter), 2**62))
    except np.linalg.LinAlgError as err:
        raise _degenerate(model, f"an eigen/singular value decomposition failed ({err})",
                          LAPACK_FAILED) from err
    if model in _SIZES_TESTED_LAST:
        _check_sizes(model, N)
    if not _mstep.all_finite(var.sigma, var.scale, var.shape, var.orientation):
        # mclust's R wrappers turn any NaN or overflow here into "singular covariance"
        raise _degenerate(model, "the covariance parameters are not finite (under/overflow)")
    if var.n_inner and var.n_inner >= max_iter:
        warnings.warn(f"{model} M-step: inner iteration limit ({max_iter}) reached "
                      f"(last change {var.inner_error:.3g})", ConvergenceWarning, stacklevel=2)
    return var


# ---------------------------------------------------------------- checks and helpers

def _validate(model, N, scatter):
    if model not in _MSTEPS:
        raise ValueError(f"unknown model name {model!r}; expected one of "
                         f"{MODEL_NAMES + UNIVARIATE_MODELS}")
    N = np.asarray(N, dtype=float)
    W = np.asarray(scatter, dtype=float)
    if W.ndim != 3 or W.shape[1] != W.shape[2] or N.shape != W.shape[:1] or not W.shape[0]:
        raise ValueError(f"expected N (G,) and scatter (G, d, d), got {N.shape} and {W.shape}")
    univariate = model in UNIVARIATE_MODELS
    if (W.shape[1] == 1) != univariate:
        raise ValueError(f"model {model!r} is for d {'=' if univariate else '>'} 1 but the "
                         f"scatter matrices are {W.shape[1]} x {W.shape[1]}; univariate data "
                         "take 'E' or 'V'")
    # the kernels in _mstep take C-contiguous arrays
    return np.ascontiguousarray(N), np.ascontiguousarray(W)


def _warm_start(model, previous, G, d):
    """(shape, scale-or-orientation) to continue from, or None for mclust's cold start.
    Not copied: the kernels that take them write their results elsewhere."""
    if previous is None or model not in WARM_STARTED_MODELS:
        return None
    if _ALIASES.get(previous.model_name, previous.model_name) != model:
        raise ValueError(f"previous is a {previous.model_name} fit, not {model}")
    shape = np.ascontiguousarray(previous.shape, dtype=float)
    if model in ("VEI", "VEV"):
        other = np.ascontiguousarray(previous.scale, dtype=float)
        ok = shape.shape == (d,) and other.shape == (G,)
    else:
        other = np.ascontiguousarray(previous.orientation, dtype=float)
        ok = shape.shape == (G, d) and other.shape == (d, d)
    if not ok:
        raise ValueError(f"previous has another number of components or variables "
                         f"than this M-step's G = {G}, d = {d}")
    return shape, other


def _degenerate(model, why, warning=SINGULAR, component=None):
    where = "" if component is None else f"component {component + 1}: "
    err = DegenerateFitError(f"{model} M-step: {where}{why}; mclust gives up here with "
                             f"\"{warning}\" (BIC NA)")
    err.mclust_warning = warning
    err.component = component
    return err


def _first(bad):
    """Index of the first True, or None."""
    return int(bad.argmax()) if bad.any() else None


def _first_not_above(values, bound):
    """Index of the first value not > bound (NaN included), or None: one
    reduction where all pass, as nearly all do."""
    if not values.size or values.min() > bound:  # min propagates NaN, which fails
        return None
    return int((~(values > bound)).argmax())


def _check_sizes(model, N):
    strict = model in _STRICT_SIZE_TEST
    for k, size in enumerate(N.tolist()):  # G Python floats: cheaper than numpy's calls
        if not (size >= _RTEPS if strict else size > _RTEPS) or size == math.inf:
            raise _degenerate(model, f"its weight N_k = {size:.3g} is below sqrt(eps) "
                              "(the component vanished)", VANISHED, k)


def _guarded_geomean(model, values, what, component=None):
    """Geometric mean of positive values the way mclust.f takes it: exp(mean(log)),
    giving up on overflow and flushing underflow to 0."""
    meanlog = float(np.log(values).sum()) / values.shape[-1]
    if meanlog > _BIGLOG:
        raise _degenerate(model, f"{what} overflows", component=component)
    return math.exp(meanlog) if meanlog > _SMALOG else 0.0


def _compose(scale, shape, orientation):
    """sigma_k = scale_k D_k diag(shape_k) D_k' for a scalar or (G,) scales, (d,) or
    (G, d) shapes and (d, d) or (G, d, d) orientations; G comes from whichever has it."""
    sigma = (orientation * shape[..., None, :]) @ orientation.swapaxes(-1, -2)
    sigma *= scale if np.isscalar(scale) else scale[:, None, None]
    return sigma


def _diagonal_sigma(variances, G):
    """(G, d, d) diagonal covariances from their (G, d) diagonals, or from one
    (d,) diagonal shared by all."""
    d = variances.shape[-1]
    sigma = np.zeros((G, d * d))
    sigma[:, ::d + 1] = variances
    return sigma.reshape(G, d, d)


def _diagonals(W):
    return np.diagonal(W, axis1=1, axis2=2).copy()


# ---------------------------------------------------------------- the models

def _univariate(model, N, W, start, tol, max_iter):
    # me1e / me1v
    w = W[:, 0, 0]
    sigsq = np.full(len(N), w.sum() / N.sum()) if model == "E" else w / N
    k = _first_not_above(sigsq, _EPS)
    if k is not None:
        raise _degenerate(model, f"its variance {sigsq[k]:.3g} is not above eps", SIGMASQ,
                          None if model == "E" else k)
    return Variance(model, sigsq.reshape(-1, 1, 1).copy(),
                    float(sigsq[0]) if model == "E" else sigsq, None, None)


def _spherical(model, N, W, start, tol, max_iter):
    # meeii / mevii: the mean of the variances over the variables
    G, d = W.shape[:2]
    trace = np.einsum("kii->k", W)
    sigsq = np.full(G, trace.sum() / (N.sum() * d)) if model == "EII" else trace / (N * d)
    k = _first_not_above(sigsq, _EPS)
    if k is not None:
        raise _degenerate(model, f"its variance {sigsq[k]:.3g} is not above eps", SIGMASQ,
                          None if model == "EII" else k)
    sigma = sigsq[:, None, None] * np.eye(d)
    return Variance(model, sigma, float(sigsq[0]) if model == "EII" else sigsq, None, None)


def _pooled(model, pooled, total, empty):
    """(scale, shape) from values pooled over components (EEI's diagonals, EEV's
    ranked eigenvalues): volume = their geometric mean, scale = volume / n."""
    if not pooled.min() > 0:
        raise _degenerate(model, empty)
    volume = _guarded_geomean(model, pooled, "the volume")
    if not volume > _EPS:
        raise _degenerate(model, f"the volume {volume:.3g} is not above eps")
    return volume / total, pooled / volume


def _eei(model, N, W, start, tol, max_iter):
    # meeei
    G = len(N)
    scale, shape = _pooled(model, _diagonals(W).sum(0), N.sum(),
                           "a variable has no pooled variance")
    if not (shape.min() > _EPS and scale > _EPS):
        raise _degenerate(model, "a variance is not above eps")
    return Variance(model, _diagonal_sigma(scale * shape, G), scale, shape, None)


def _vei(model, N, W, start, tol, max_iter):
    # mevei: the diagonal scatters' common shape and each component's volume
    G, d = W.shape[:2]
    shape, scale = (np.ones(d), np.ones(G)) if start is None else start
    shape, scale, inner, err = _common_shape(model, _diagonals(W), N, shape, scale, tol,
                                             max_iter)
    return Variance(model, _diagonal_sigma(scale[:, None] * shape, G), scale, shape, None,
                    inner, err)


_Failure = _mstep.Failure  # which of mclust's tests an iterative kernel stopped on

_COMMON_SHAPE_FAILURES = {
    _Failure.SHAPE_NOT_ABOVE_EPS: "a shape entry is not above eps",
    _Failure.DETERMINANT_OVERFLOWS: "the shape's determinant overflows",
    # (mevei hands this back as a log-likelihood of ~0, a bug: no fit stands here)
    _Failure.DETERMINANT_NOT_ABOVE_EPS: "the shape's determinant is not above eps",
    _Failure.FINAL_NOT_ABOVE_EPS: "a volume or shape entry is not above eps",
}


def _common_shape(model, X, N, shape, scale, tol, max_iter):
    """Celeux & Govaert's fixed point for varying volumes and a common shape, as
    mevei (X the diagonal scatters) and mevev (X the scatters' eigenvalues) run
    it: _mstep.common_shape."""
    fail, k, shape, scale, inner, err = _mstep.common_shape(X, N, shape, scale, tol, max_iter,
                                                           model == "VEI")
    if fail == _Failure.VOLUME_NOT_ABOVE_EPS:
        raise _degenerate(model, f"its volume {scale[k]:.3g} is not above eps", component=k)
    if fail:
        raise _degenerate(model, _COMMON_SHAPE_FAILURES[fail], component=None if k < 0 else k)
    return shape, scale, inner, err


def _evi_vvi(model, N, W, start, tol, max_iter):
    # meevi / mevvi: each component's diagonal scatter, split into volume and shape
    diag = _diagonals(W)
    positive = diag.min(1) > 0  # the others are left unnormalised: the tests below reject them
    with np.errstate(all="ignore"):
        meanlog = np.log(diag).sum(1) / diag.shape[1]
        volume = np.where(positive & (meanlog > _SMALOG), np.exp(meanlog), 0.0)
    # the geometric mean's overflow test, then the volume's (<= eps in mevvi, < in
    # meevi), component by component
    overflows = positive & (meanlog > _BIGLOG)
    small = positive & ((volume <= _EPS) if model == "VVI" else (volume < _EPS))
    k = _first(overflows | small)
    if k is not None:
        raise _degenerate(model, "its volume overflows" if overflows[k] else
                          f"its volume {volume[k]:.3g} is below eps", component=k)
    shape = np.divide(diag, volume[:, None], out=diag.copy(), where=positive[:, None])
    if model == "VVI":
        k = _first_not_above(np.minimum(diag.min(1), volume), _EPS)
        if k is not None:
            # mevvi reports a variance <= eps as a vanished component
            raise _degenerate(model, "a variance is not above eps", VANISHED, k)
        scale = volume / N
        k = _first_not_above(scale, _EPS)
    else:
        scale = volume.sum() / N.sum()
        k = None if scale > _EPS else 0
    if k is not None:
        raise _degenerate(model, "the volume is not above eps",
                          component=k if model == "VVI" else None)
    k = _first_not_above(shape.min(1), _EPS)
    if k is not None:
        raise _degenerate(model, "a shape entry is not above eps", component=k)
    variances = scale[:, None] * shape if model == "VVI" else scale * shape
    return Variance(model, _diagonal_sigma(variances, len(N)),
                    float(scale) if model == "EVI" else scale, shape, None)


def _eee(model, N, W, start, tol, max_iter):
    # meeee: the pooled covariance, accepted on its Cholesky factor's diagonal
    Sigma = W.sum(0) / N.sum()
    if not _mstep.cholesky_ratios(Sigma[None])[0] > _RTEPS:
        raise _degenerate(model, "the pooled covariance is singular (Cholesky diagonal "
                          "min/(1 + max) <= sqrt(eps))")
    return Variance(model, np.broadcast_to(Sigma, W.shape).copy(), None, None, None)


def _vvv(model, N, W, start, tol, max_iter):
    # mevvv: the same test on each component
    sigma = W / N[:, None, None]
    ratio = _mstep.cholesky_ratios(sigma)
    if not ratio.min() > _RTEPS:
        raise _degenerate(model, "its covariance is singular (Cholesky diagonal "
                          "min/(1 + max) <= sqrt(eps))", component=int(np.argmin(ratio)))
    return Variance(model, sigma, None, None, None)


def _eev(model, N, W, start, tol, max_iter):
    # meeev: each W_k's own eigenvectors, eigenvalues pooled by rank
    eig, D = _mstep.eigh(W)
    scale, shape = _pooled(model, eig.sum(0), N.sum(), "the pooled eigenvalues include 0")
    if not (shape.min() > _EPS and scale > _EPS and np.sqrt(scale * shape).min() > _RTEPS):
        raise _degenerate(model, "a shape entry or the volume is not above eps")
    return Variance(model, _compose(scale, shape, D), scale, shape, D)


def _vev(model, N, W, start, tol, max_iter):
    # mevev: as EEV for the orientations, then the common shape and the volumes
    G = len(N)
    eig, D = _mstep.eigh(W)
    if start is None:  # mevev's first EM iteration starts from the EEV estimate
        shape = eig.sum(0)
        if not shape.min() > 0:
            raise _degenerate(model, "the pooled eigenvalues include 0")
        volume = _guarded_geomean(model, shape, "the volume")
        scale = np.full(G, volume / N.sum())
        if not volume > _EPS:
            raise _degenerate(model, f"the volume {volume:.3g} is not above eps")
        shape = shape / volume
    else:
        shape, scale = start
    shape, scale, inner, err = _common_shape(model, eig, N, shape, scale, tol, max_iter)
    return Variance(model, _compose(scale, shape, D), scale, shape, D, inner, err)


def _evv(model, N, W, start, tol, max_iter):
    # meevv: closed form, C_k = W_k / det(W_k)^(1/d) and lambda = sum_k det(W_k)^(1/d) / n
    eig, D = _mstep.eigh(W)
    with np.errstate(all="ignore"):
        # det(W_k)^(1/d) as mclustaddson.f takes it, exp(sum(log))^(1/d): it
        # under- and overflows where mclust's does
        volume = np.exp(np.log(eig).sum(1)) ** (1.0 / eig.shape[1])
        shape = eig / volume[:, None]
        C = W / volume[:, None, None]
    scale = volume.sum() / N.sum()
    k = _first_not_above(shape.min(1), _RTEPS)
    if k is not None:
        raise _degenerate(model, "its shape has an entry <= sqrt(eps) (its scatter is "
                          "singular: its points lie in a hyperplane)", component=k)
    # meevv stores lambda over component 1's volume before testing all volumes
    # against sqrt(eps), so component 1's own volume escapes the test
    if not scale > _RTEPS:
        raise _degenerate(model, f"the volume {scale:.3g} is not above sqrt(eps)")
    k = _first_not_above(volume[1:], _RTEPS)
    if k is not None:
        raise _degenerate(model, "det(W_k)^(1/d) is not above sqrt(eps)", component=k + 1)
    return Variance(model, scale * C, scale, shape, D)


def _vee(model, N, W, start, tol, max_iter):
    # mevee: alternate C = sum_k W_k / lambda_k (normalised) and lambda_k =
    # tr(W_k C^-1)/(d N_k), from lambda = 1 every M-step (no warm start)
    fail, k, C, scale, eig, volume, inner, err = _mstep.vee(W, N, tol, max_iter)
    if fail == _Failure.SCATTER_NOT_PD:
        raise _degenerate(model, "its scatter matrix is not positive definite (its "
                          "weight sits on too few points)", component=k)
    if fail == _Failure.C_NOT_PD:
        raise _degenerate(model, "the common matrix C is not positive definite")
    shape = eig / volume
    if not (shape.min() > _RTEPS and scale.min() > _RTEPS):
        raise _degenerate(model, "a volume or shape entry is not above sqrt(eps)",
                          component=_first_not_above(scale, _RTEPS))
    # mclust reports D from svd(C); C's eigenvectors in the same (decreasing) order
    D = _mstep.eigh(C[None])[1][0]
    return Variance(model, scale[:, None, None] * C, scale, shape, D, inner, err)


def _eve_vve(model, N, W, start, tol, max_iter):
    # meeve / mevve: the common D by Browne & McNicholas's MM steps, then each
    # A_k (and for VVE lambda_k) given D: _mstep.eve_vve
    G, d = W.shape[:2]
    shape, D = (np.ones((G, d)), np.eye(d)) if start is None else start
    fail, k, shape, scale, D, inner, err, target = _mstep.eve_vve(W, N, shape, D, tol, max_iter,
                                                                 model == "VVE")
    if fail == _Failure.SMALL_EIGENVALUE:
        # note: an absolute threshold on the scatter itself, not on W_k / N_k
        raise _degenerate(model, "its scatter matrix has an eigenvalue below sqrt(eps)",
                          component=k)
    if fail:
        raise _degenerate(model, "its shape (or volume) fell below sqrt(eps)", component=k)
    if model == "EVE":
        scale = float(target / (N.sum() * d))
    return Variance(model, _compose(scale, shape, D), scale, shape, D, inner, err)


_MSTEPS = {
    "E": _univariate, "V": _univariate, "EII": _spherical, "VII": _spherical,
    "EEI": _eei, "VEI": _vei, "EVI": _evi_vvi, "VVI": _evi_vvi,
    "EEE": _eee, "VEE": _vee, "EVE": _eve_vve, "VVE": _eve_vve,
    "EEV": _eev, "VEV": _vev, "EVV": _evv, "VVV": _vvv,
}
