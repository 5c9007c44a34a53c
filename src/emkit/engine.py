"""The EM engine shared by every model.

A model supplies ``estep(data, params) -> (stats, loglik)`` and
``mstep(stats) -> params`` (and ``param_vector(params)`` for the
parameter-change rule).  The engine owns the loop, the stopping rules, the
log-likelihood trace, the monotonicity check and restarts.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = [
    "ConvergenceWarning",
    "DegenerateFitError",
    "EMResult",
    "LikelihoodDecreaseWarning",
    "StoppingRules",
    "check_random_state",
    "run_em",
    "run_em_restarts",
    "run_squarem",
]


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before any convergence rule was met."""


class LikelihoodDecreaseWarning(UserWarning):
    """The log-likelihood went down by more than round-off: EM should never do that."""


class DegenerateFitError(ValueError):
    """The fit degenerated (a singular covariance, a collapsed component, a NaN likelihood)."""


@dataclass(frozen=True)
class StoppingRules:
    """When to stop EM; a rule whose tolerance is 0 is switched off.

    Parameters
    ----------
    rtol : float
        Stop when ``|l_t - l_{t-1}| / (1 + |l_t|) <= rtol`` (mclust's rule; default 1e-5).
    atol : float
        Stop when ``|l_t - l_{t-1}| <= atol``.
    ptol : float
        Stop when ``max|theta_t - theta_{t-1}| / (1 + max|theta_{t-1}|) <= ptol``.
    max_iter : int
        At most this many M-steps; with every tolerance 0, exactly this many.
    """

    rtol: float = 1e-5
    atol: float = 0.0
    ptol: float = 0.0
    max_iter: int = 100

    def __post_init__(self):
        for name in ("rtol", "atol", "ptol"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if int(self.max_iter) != self.max_iter or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")

    def reason_to_stop(self, ll_prev, ll, theta_prev, theta) -> str | None:
        change = abs(ll - ll_prev)
        if self.rtol > 0 and change / (1.0 + abs(ll)) <= self.rtol:
            return "rtol"
        if self.atol > 0 and change <= self.atol:
            return "atol"
        if self.ptol > 0 and theta is not None:
            scale = 1.0 + np.max(np.abs(theta_prev))
            if np.max(np.abs(theta - theta_prev)) / scale <= self.ptol:
                return "ptol"
        return None


@dataclass
class EMResult:
    """The outcome of one EM run.

    Attributes
    ----------
    params : the fitted parameters (the model's container).
    loglik : float, the log-likelihood at ``params``.
    loglik_trace : ndarray, ``loglik_trace[t]`` is the log-likelihood after t
        M-steps; its last entry is ``loglik``.
    n_iter : int, the number of M-steps taken.
    converged : bool; ``stop_reason`` is "rtol", "atol", "ptol" or "max_iter".
    decreases : list of (iteration, amount) where the log-likelihood fell
        beyond round-off.
    """

    params: Any
    loglik: float
    loglik_trace: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    decreases: list = field(default_factory=list)
    stats: Any = None


def _roundoff(ll: float) -> float:
    return 1e-10 * (1.0 + abs(ll))


def run_em(model, data, params, rules: StoppingRules = StoppingRules(), *,
           final_mstep: bool = False, warn: bool = True,
           callback: Callable[[int, float], None] | None = None) -> EMResult:
    """Run EM from ``params`` until a stopping rule holds.

    Each iteration is an M-step followed by an E-step, so that every trace
    entry is the log-likelihood of a parameter set actually held and the
    result ends on an E-step (its ``stats`` are those of ``params``).

    Parameters
    ----------
    model : object with ``estep``, ``mstep`` and ``param_vector``.
    data : whatever the model's E-step reads.
    params : starting parameters.
    rules : StoppingRules.
    final_mstep : bool
        After convergence, take one more M-step (and an E-step for its
        log-likelihood), as scikit-learn and mclust do; never beyond
        ``max_iter`` M-steps in all.  When the rule is met on the last allowed
        iteration the run counts as not converged (scikit-learn's reading).
    warn : bool
        Issue ConvergenceWarning / LikelihoodDecreaseWarning.
    callback : called as ``callback(t, loglik)`` for every trace entry (progress
        reports).
    """
    report = callback or (lambda t, ll: None)
    stats, ll = model.estep(data, params)
    _check_finite(ll, 0)
    report(0, ll)
    trace = [ll]
    decreases = []
    theta = model.param_vector(params) if rules.ptol > 0 else None
    reason = None
    n_iter = 0
    while n_iter < rules.max_iter:
        params = model.mstep(stats)
        stats, ll_new = model.estep(data, params)
        n_iter += 1
        _check_finite(ll_new, n_iter)
        report(n_iter, ll_new)
        trace.append(ll_new)
        if ll_new < ll - _roundoff(ll):
            decreases.append((n_iter, ll - ll_new))
        theta_new = model.param_vector(params) if rules.ptol > 0 else None
        reason = rules.reason_to_stop(ll, ll_new, theta, theta_new)
        ll, theta = ll_new, theta_new
        if reason is not None:
            break
    if final_mstep and n_iter == rules.max_iter:
        reason = None  # no room for the step that convergence calls for
    converged = reason is not None
    if converged and final_mstep:
        params = model.mstep(stats)
        stats, ll = model.estep(data, params)
        n_iter += 1
        _check_finite(ll, n_iter)
        report(n_iter, ll)
        if ll < trace[-1] - _roundoff(trace[-1]):
            decreases.append((n_iter, trace[-1] - ll))
        trace.append(ll)
    result = EMResult(params, ll, np.asarray(trace), n_iter, converged,
                      reason or "max_iter", decreases, stats)
    if warn:
        warn_about(result)
    return result


def run_squarem(model, data, params, rules: StoppingRules = StoppingRules(), *,
                warn: bool = True) -> EMResult:
    """EM accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3), kept monotone.

    A cycle takes two EM steps, theta1 = M(theta0) and theta2 = M(theta1), and
    jumps to theta0 - 2 a r + a^2 v with r = theta1 - theta0, v = theta2 -
    2 theta1 + theta0 and a = -|r|/|v| (at most -1; a = -1 is theta2).  The
    jump is kept only when its log-likelihood is at least theta2's, so the
    trace never goes down.  The model also needs ``params_from_vector``, which
    may raise ValueError for a jump outside the parameter space.

    ``n_iter`` counts M-steps (EM map evaluations); the trace has one entry per
    cycle.  The stopping rules compare successive cycles.
    """
    stats, ll = model.estep(data, params)
    _check_finite(ll, 0)
    trace, decreases = [ll], []
    theta = model.param_vector(params)
    reason, n_iter = None, 0
    while n_iter + 2 <= rules.max_iter:
        p1 = model.mstep(stats)
        s1, ll1 = model.estep(data, p1)
        p2 = model.mstep(s1)
        s2, ll2 = model.estep(data, p2)
        n_iter += 2
        _check_finite(ll2, n_iter)
        theta1, theta2 = model.param_vector(p1), model.param_vector(p2)
        r = theta1 - theta
        v = theta2 - theta1 - r
        new = (p2, s2, ll2, theta2)
        nv = np.linalg.norm(v)
        if nv > 0:
            a = min(-np.linalg.norm(r) / nv, -1.0)
            if a < -1.0:
                try:
                    pj = model.params_from_vector(theta - 2 * a * r + a * a * v)
                    sj, llj = model.estep(data, pj)
                except (ValueError, DegenerateFitError, FloatingPointError):
                    llj = -np.inf
                if np.isfinite(llj) and llj >= ll2:
                    new = (pj, sj, llj, model.param_vector(pj))
        params, stats, ll_new, theta_new = new
        trace.append(ll_new)
        if ll_new < ll - _roundoff(ll):
            decreases.append((n_iter, ll - ll_new))
        reason = rules.reason_to_stop(ll, ll_new, theta, theta_new)
        ll, theta = ll_new, theta_new
        if reason is not None:
            break
    result = EMResult(params, ll, np.asarray(trace), n_iter, reason is not None,
                      reason or "max_iter", decreases, stats)
    if warn:
        warn_about(result)
    return result


def warn_about(result: EMResult, stacklevel: int = 3) -> None:
    """The warnings a finished run deserves."""
    if result.decreases:
        it, amount = max(result.decreases, key=lambda p: p[1])
        warnings.warn(
            f"the log-likelihood decreased {len(result.decreases)} time(s) "
            f"(by up to {amount:.3g} at iteration {it}); EM should never do that, "
            "so the fit may be numerically unstable: rescale the data or raise reg_covar",
            LikelihoodDecreaseWarning, stacklevel=stacklevel,
        )
    if not result.converged:
        warnings.warn(
            f"EM did not converge in {result.n_iter} iterations; raise max_iter, loosen "
            "the tolerance, or try other starting values",
            ConvergenceWarning, stacklevel=stacklevel,
        )


def _check_finite(ll: float, iteration: int) -> None:
    if not np.isfinite(ll):
        raise DegenerateFitError(
            f"the log-likelihood is {ll} at iteration {iteration}: the fit degenerated"
        )


def run_em_restarts(model, data, init: Callable[[np.random.Generator], Any], n_init: int,
                    random_state=None, rules: StoppingRules = StoppingRules(), *,
                    final_mstep: bool = False, warn: bool = True) -> EMResult:
    """Run EM from ``n_init`` starts drawn by ``init(rng)``; keep the highest log-likelihood.

    A start that degenerates is skipped; if all do, the last error is raised.
    Ties keep the earliest start, so the result depends only on ``random_state``.
    """
    if int(n_init) != n_init or n_init < 1:
        raise ValueError(f"n_init must be an integer >= 1, got {n_init!r}")
    rng = check_random_state(random_state)
    best, failures = None, []
    for _ in range(int(n_init)):
        try:
            result = run_em(model, data, init(rng), rules, final_mstep=final_mstep,
                            warn=False)
        except DegenerateFitError as err:
            failures.append(err)
            continue
        if best is None or result.loglik > best.loglik:
            best = result
    if best is None:
        raise failures[-1]
    if failures:
        warnings.warn(f"{len(failures)} of {n_init} starts degenerated and were skipped "
                      f"(last: {failures[-1]})", UserWarning, stacklevel=3)
    if warn:
        warn_about(best)
    return best


def check_random_state(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int, a SeedSequence, a RandomState or a Generator."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be None, an int, a RandomState or a Generator, "
                    f"got {type(random_state).__name__}")
