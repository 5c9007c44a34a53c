"""Censored (Tobit), interval-censored and truncated normal regression by EM.

The complete data are y* ~ N(x'beta, sigma^2) for every row, plus, under
truncation, the draws that fell outside the window and were never sampled.
The E-step (``_ext/_tobit.pyx``) completes the sufficient statistics with the
moments of the truncated normal; the M-step is weighted least squares on them.
SQUAREM accelerates EM into the basin of the maximum and Newton steps on the
observed-data log-likelihood finish it; the standard errors come from the
analytic Hessian of that log-likelihood at the optimum.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import patsy
import scipy.linalg

from . import engine
from ._threads import single_threaded_blas
from ._tobit import tobit_pass
from ._validation import check_int, check_number
from .censored_design import AER_LEFT, CensoredDesign, build_design

__all__ = ["tobit", "TobitEM", "newton_polish"]

WANT_EM, WANT_GRAM, WANT_NEWTON = 1, 2, 4


@dataclass
class _Kernel:
    """The arrays the kernel reads, and a pass over them."""

    design: CensoredDesign
    n_threads: int

    def run(self, theta: np.ndarray, want: int, vec=None, mat=None) -> float:
        d = self.design
        with single_threaded_blas():
            return tobit_pass(d.X, d.lo, d.hi, d.tlo, d.thi, d.w, theta[:-1],
                              float(np.exp(theta[-1])), want, vec, mat, self.n_threads)


class TobitEM:
    """EM for the censored and truncated normal regression, for :mod:`emkit.engine`.

    Parameters are theta = (beta, log sigma).  The E-step's statistics are
    taken about the current fit (residual moments), so the M-step solves for
    the change in beta without cancellation.
    """

    def __init__(self, kernel: _Kernel, gram_factor):
        self.kernel = kernel
        self.p = kernel.design.X.shape[1]
        self.truncated = kernel.design.tlo is not None
        self.gram_factor = gram_factor   # Cholesky of sum w x x' (fixed without truncation)

    def estep(self, data, theta):
        vec = np.empty(self.p + 2)
        mat = np.empty((self.p, self.p)) if self.truncated else None
        want = WANT_EM | (WANT_GRAM if self.truncated else 0)
        ll = self.kernel.run(theta, want, vec, mat)
        return (theta, vec, mat), ll

    def mstep(self, stats):
        theta, vec, mat = stats
        p = self.p
        try:
            factor = scipy.linalg.cho_factor(mat) if mat is not None else self.gram_factor
        except (np.linalg.LinAlgError, ValueError):
            # 1/P draws never sampled per row: a window with almost no probability
            raise engine.DegenerateFitError(
                "EM's completed statistics are not usable: a row's truncation window holds "
                "almost none of its probability") from None
        step = scipy.linalg.cho_solve(factor, vec[:p])
        rss = vec[p] - step @ vec[:p]
        if not rss > 0:
            raise engine.DegenerateFitError("the residual variance vanished: the scale went to 0")
        return np.concatenate([theta[:p] + step, [0.5 * np.log(rss / vec[p + 1])]])

    @staticmethod
    def param_vector(theta):
        return theta

    @staticmethod
    def params_from_vector(vec):
        if not np.all(np.isfinite(vec)):
            raise ValueError("non-finite parameters")
        return vec


def newton_polish(kernel: _Kernel, theta: np.ndarray, ll: float, *, max_steps: int = 50,
                  xtol: float = 1e-10):
    """Newton steps with step halving on the observed-data log-likelihood.

    Stops once a full step changes no parameter by more than ``xtol`` relative
    (that step is taken: the error left is of the order of its square).
    Returns theta, log-likelihood, the Hessian at the last point where one
    was formed, the number of steps and whether the criterion was met.
    """
    q = theta.shape[0]
    grad = np.empty(q)
    hess = np.empty((q, q))
    for step_no in range(1, max_steps + 1):
        ll_here = kernel.run(theta, WANT_NEWTON, grad, hess)
        try:
            factor = scipy.linalg.cho_factor(-hess)
            step = scipy.linalg.cho_solve(factor, grad)
        except (np.linalg.LinAlgError, ValueError):
            # not concave here: a gradient step of modest length instead
            step = grad / max(1.0, np.max(np.abs(np.diag(hess))))
        small = np.max(np.abs(step) / (1.0 + np.abs(theta))) <= xtol
        t = 1.0
        while True:
            trial = theta + t * step
            ll_trial = kernel.run(trial, 0) if np.all(np.isfinite(trial)) else -np.inf
            if ll_trial >= ll_here - 1e-12 * (1 + abs(ll_here)) or t < 1e-10:
                break
            t *= 0.5
        if t < 1e-10:
            return theta, ll_here, hess, step_no, small
        theta, ll = trial, ll_trial
        if small:
            return theta, ll, hess, step_no, True
    return theta, ll, hess, max_steps, False


def _check_design(design: CensoredDesign, kernel: _Kernel):
    """The weighted Gram matrix, after checking that the design has full rank."""
    p = design.X.shape[1]
    gram = np.empty((p, p))
    plain = _Kernel(CensoredDesign(**{**design.__dict__, "tlo": None, "thi": None}),
                    kernel.n_threads)
    plain.run(np.zeros(p + 1), WANT_GRAM, None, gram)
    scale = np.sqrt(np.diag(gram))
    zero = [design.terms[j] for j in np.flatnonzero(scale == 0)]
    if zero:
        raise ValueError(f"the design column(s) {zero} are zero on every weighted row")
    # column j is collinear when 1 - R^2 of it on the earlier kept columns is
    # tiny; a Cholesky factor of the kept columns' correlations grows row by row
    corr = gram / np.outer(scale, scale)
    collinear, kept = [], []
    L = np.zeros((p, p))
    for j in range(p):
        k = len(kept)
        v = scipy.linalg.solve_triangular(L[:k, :k], corr[kept, j], lower=True) if k else []
        resid = 1.0 - float(np.dot(v, v))
        if resid <= 1e-10:
            collinear.append(j)
            continue
        L[k, :k] = v
        L[k, k] = np.sqrt(resid)
        kept.append(j)
    if collinear:
        names = [design.terms[j] for j in collinear]
        raise ValueError(f"the design is singular: column(s) {names} are linear combinations "
                         "of earlier columns (collinear); drop them from the formula")
    return gram


def _check_identified(design: CensoredDesign):
    kind = design.kind
    if not np.any(design.w[kind == 1] > 0) and not np.any(design.w[kind == 3] > 0):
        sides = {0: "left", 2: "right"}
        seen = sorted({sides[k] for k in np.unique(kind[design.w > 0])})
        if len(seen) == 1:
            raise ValueError(f"every row is {seen[0]}-censored: there is no uncensored row, "
                             "so the regression is not identified")


def _start(design: CensoredDesign, gram: np.ndarray) -> np.ndarray:
    """Least squares on each row's observed value (its finite limit when censored)."""
    lo, hi = design.lo, design.hi
    y = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi),
                 np.where(np.isfinite(lo), lo, hi))
    w = design.w
    beta = np.linalg.solve(gram, design.X.T @ (w * y))
    resid = y - design.X @ beta
    var = float(w @ resid ** 2 / w.sum())
    if not var > 0:
        var = float(w @ (y - np.average(y, weights=w)) ** 2 / w.sum()) or 1.0
    return np.concatenate([beta, [0.5 * np.log(var)]])


def tobit(formula: str, data, left=AER_LEFT, right=np.inf, *, lower=None, upper=None,
          truncation=None, weights=None, missing: str = "drop", method: str = "em-newton",
          tol: float = 1e-8, max_iter: int = 1000, n_threads: int | None = None):
    """Censored, interval-censored or truncated normal regression (Tobit), fitted by EM.

    The latent response is y* = x'beta + sigma * e with e ~ N(0, 1).  AER's
    ``tobit()`` in R fits the same model with the same parameterisation
    (``Log(scale)`` = log sigma).

    Parameters
    ----------
    formula : str
        A patsy formula over ``data``: ``"y ~ x1 + C(g) + I(x2**2) + x1:x3"``.
        For interval data (``lower=``/``upper=``) the formula has no
        response: ``"~ x1 + x2"``.
    data : pandas.DataFrame
        The data; never modified.
    left, right : float, None or str
        Censoring limits: rows with y <= left are left-censored at left and
        rows with y >= right right-censored at right.  A number, ``None`` or
        -inf/inf for no limit, or the name of a column holding a limit per
        row.  The default (left = 0, right = inf) is AER's; with
        ``truncation`` the default is no censoring.
    lower, upper : str
        Interval-censored data instead: columns holding each row's interval;
        the response is only known to lie in [lower, upper]; lower == upper
        means observed exactly, -inf / inf an open end (NaN means missing).
    truncation : (lower, upper), optional
        Rows were sampled only when y* lay inside this window: each end a
        number, None/inf for none, or a column name.
    weights : str or array-like, optional
        Case (frequency) weights, a column name or one value per row of data.
    missing : {"drop", "raise"}
        Rows with a missing value in any variable used are dropped (and
        counted in the summary), or an error is raised.
    method : {"em-newton", "em"}
        "em-newton" (default): SQUAREM-accelerated EM until the relative
        log-likelihood change is below 1e-4, then Newton steps on the
        observed-data log-likelihood until no parameter moves by more than
        1e-10 relative.  "em": EM alone (SQUAREM-accelerated) until the
        relative change is below ``tol``.
    tol : float
        The EM stopping tolerance for method "em".
    max_iter : int
        At most this many EM steps.
    n_threads : int, optional
        OpenMP threads for the kernel (default: all cores).  Results are
        identical whatever the count.

    Returns
    -------
    TobitResults
        ``params``, ``bse``, ``summary()``, ``predict()``, ``get_margeff()`` ...

    Examples
    --------
    >>> res = emkit.tobit("affairs ~ age + yearsmarried + religiousness + occupation"
    ...                   " + rating", data=affairs, left=0)
    >>> print(res.summary())
    """
    from .tobit_results import TobitResults

    if method not in ("em-newton", "em"):
        raise ValueError(f"method must be 'em-newton' or 'em', got {method!r}")
    tol = check_number(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", 2)
    threads = 0 if n_threads is None else check_int(n_threads, "n_threads", 1)
    design = build_design(formula, data, left=left, right=right, lower=lower, upper=upper,
                          truncation=truncation, weights=weights, missing=missing,
                          eval_env=patsy.EvalEnvironment.capture(1))
    _check_identified(design)
    kernel = _Kernel(design, threads)
    gram = _check_design(design, kernel)
    model = TobitEM(kernel, scipy.linalg.cho_factor(gram))
    theta0 = _start(design, gram)
    em_tol = 1e-4 if method == "em-newton" else tol
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", engine.ConvergenceWarning)
            em = engine.run_squarem(model, None, theta0,
                                    engine.StoppingRules(rtol=em_tol, max_iter=max_iter))
    except engine.DegenerateFitError as err:
        if method == "em":
            raise engine.DegenerateFitError(f"{err}; method='em-newton' does not need EM's "
                                            "completed statistics to stay finite") from None
        # Newton on the observed-data likelihood does not need EM's statistics
        ll0 = kernel.run(theta0, 0)
        em = engine.EMResult(theta0, ll0, np.array([ll0]), 0, False, f"EM failed: {err}")
    theta, ll = em.params, em.loglik
    n_newton, converged = 0, em.converged
    if method == "em-newton":
        theta, ll, hess, n_newton, converged = newton_polish(kernel, theta, ll)
    else:
        grad, hess = np.empty(theta.size), np.empty((theta.size, theta.size))
        kernel.run(theta, WANT_NEWTON, grad, hess)
        # EM's rule stops on slow progress, which is not nearness to the maximum:
        # the Newton estimate of the gap to it must be small too
        try:
            gap = 0.5 * grad @ np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            gap = np.inf
        converged = converged and gap <= 1e3 * max(tol, 1e-15) * (1 + abs(ll))
    if not converged and kernel.run(theta - np.r_[np.zeros(theta.size - 1), 1.0], 0) >= ll:
        raise engine.DegenerateFitError(
            f"the likelihood keeps rising as the scale goes to 0 (sigma = "
            f"{np.exp(theta[-1]):.3g} now): a regression line passes through every row's "
            "interval, so the likelihood has no maximum")
    if not converged:
        warnings.warn(f"the Tobit fit did not converge ({em.n_iter} EM steps, {n_newton} "
                      "Newton steps); raise max_iter or check the model",
                      engine.ConvergenceWarning, stacklevel=2)
    return TobitResults(design, theta, ll, hess, em, n_newton, converged, method)
