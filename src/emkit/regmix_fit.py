"""Finite mixtures of regressions by EM, as R's flexmix fits them.

Component k is a GLM (Gaussian/identity, Poisson/log, binomial/logit) with
coefficients beta_k; the mixing proportions are constants or, with a
concomitant formula, a multinomial logit in covariates z (flexmix's
FLXPmultinom).  With ``groups`` every row of a group belongs to the same
component (flexmix's ``y ~ x | id``).

The E-step is one kernel pass (``_ext/_regmix.pyx``) giving the posteriors
and each component's weighted cross-products.  M-steps: Gaussian weighted
least squares with the maximum-likelihood sigma; Poisson and binomial Newton
(IRLS) steps, each checked to raise the component's Q function; the
concomitant logit by Newton.  SQUAREM accelerates EM and never lets the
log-likelihood go down.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from . import engine
from ._regmix import FAMILIES as KERNEL_FAMILIES, n_outputs, regmix_pass
from ._threads import single_threaded_blas
from .kmeans import kmeans, nearest
from .regmix_design import RegmixDesign

__all__ = ["RegmixEM", "RegmixParams", "StartRecord", "fit_components"]

FUSED, GIVEN, DENSITY = 0, 1, 2
_INNER_NEWTON = 25       # Newton steps per GLM M-step at most
_HALVINGS = 40
_KMEANS_ROWS = 10_000   # k-means starts run on a sample of this many units


@dataclass
class RegmixParams:
    beta: np.ndarray     # (K, p)
    sigma: np.ndarray    # (K,); ones for the Poisson and binomial
    gamma: np.ndarray    # (q, K) prior logits, column 0 zero (component 1 is the reference)


@dataclass
class RegmixStats:
    params: RegmixParams
    N: np.ndarray        # (K,) sum w tau
    Q: np.ndarray        # (K,) sum w tau log f
    S: np.ndarray        # (K,) sum w tau r^2 (Gaussian)
    g: np.ndarray        # (K, p)
    H: np.ndarray        # (K, p, p)
    post: np.ndarray | None       # (n, K) row posteriors, when kept
    unit_post: np.ndarray | None  # (units, K) posteriors of the units (rows or groups)


def log_sum_exp_rows(A: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp as an (m, 1) column (plain numpy: scipy's
    logsumexp costs more than an E-step on small problems)."""
    top = A.max(axis=1, keepdims=True)
    return top + np.log(np.exp(A - top).sum(axis=1, keepdims=True))


def log_softmax(A: np.ndarray) -> np.ndarray:
    return A - log_sum_exp_rows(A)


class RegmixEM:
    """The E- and M-steps for :mod:`emkit.engine`."""

    def __init__(self, design: RegmixDesign, K: int, n_threads: int = 0):
        self.d = design
        self.K = K
        self.p = design.X.shape[1]
        self.q = 1 if design.Z is None else design.Z.shape[1]
        self.code = KERNEL_FAMILIES[design.family]
        self.gaussian = design.family == "gaussian"
        self.grouped = design.group_codes is not None
        # the Gaussian M-step without groups or concomitant needs no posteriors
        self.keep_post = not self.gaussian or self.grouped or design.Z is not None
        self.n_threads = n_threads
        self.total_w = float(design.unit_w.sum())
        if self.gaussian:
            mean = np.average(design.y, weights=design.w)
            self.var_floor = 1e-12 * max(np.average((design.y - mean) ** 2, weights=design.w),
                                         np.finfo(float).tiny)
        if self.grouped:
            self.order = np.argsort(design.group_codes, kind="stable")
            codes = design.group_codes[self.order]
            self.starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])

    # ---- the kernel ----------------------------------------------------
    def kernel(self, params: RegmixParams, mode: int, post, logprior=None) -> tuple:
        d = self.d
        out = np.empty(n_outputs(self.K, self.p))
        lp = logprior if logprior is not None else np.zeros((1, self.K))
        with single_threaded_blas():
            value = regmix_pass(d.X, d.y, d.trials, d.yconst, d.offset, d.w, lp,
                                np.ascontiguousarray(params.beta), params.sigma, self.code,
                                mode, post, out, self.n_threads)
        K, p = self.K, self.p
        comp = out[3 * K:].reshape(K, p + p * p)
        return value, out[:K], out[K:2 * K], out[2 * K:3 * K], comp[:, :p], \
            comp[:, p:].reshape(K, p, p)

    def log_prior(self, params: RegmixParams) -> np.ndarray:
        """(units, K) with a concomitant model, else (1, K)."""
        if self.d.Z is None:
            return log_softmax(params.gamma[:1])
        return log_softmax(self.d.Z @ params.gamma)

    # ---- the engine's interface -----------------------------------------
    def estep(self, data, params: RegmixParams):
        lp = self.log_prior(params)
        n = self.d.n
        if not self.grouped:
            post = np.empty((n, self.K)) if self.keep_post else None
            ll, N, Q, S, g, H = self.kernel(params, FUSED, post, lp)
            unit_post = post
        else:
            post = np.empty((n, self.K))
            self.kernel(params, DENSITY, post)
            A = np.add.reduceat(post[self.order], self.starts, axis=0) + lp
            lse = log_sum_exp_rows(A)
            ll = float(self.d.unit_w @ lse[:, 0])
            unit_post = np.exp(A - lse)
            post = unit_post[self.d.group_codes]
            _, N, Q, S, g, H = self.kernel(params, GIVEN, post)
        return RegmixStats(params, N, Q, S, g, H, post, unit_post), ll

    def mstep(self, stats: RegmixStats) -> RegmixParams:
        for k in range(self.K):
            if not stats.N[k] > 1e-10 * self.total_w:
                raise engine.DegenerateFitError(f"component {k + 1} is empty: its weight "
                                                "collapsed to 0")
        if self.gaussian:
            beta, sigma = self.gaussian_mstep(stats)
        else:
            beta, sigma = self._glm_mstep(stats), np.ones(self.K)
        return RegmixParams(beta, sigma, self._prior_mstep(stats))

    def param_vector(self, params: RegmixParams) -> np.ndarray:
        parts = [params.beta.ravel()]
        if self.gaussian:
            parts.append(np.log(params.sigma))
        parts.append(params.gamma[:, 1:].ravel())
        return np.concatenate(parts)

    def params_from_vector(self, theta: np.ndarray) -> RegmixParams:
        K, p, q = self.K, self.p, self.q
        beta = theta[:K * p].reshape(K, p).copy()
        at = K * p
        sigma = np.ones(K)
        if self.gaussian:
            sigma = np.exp(theta[at:at + K])
            at += K
        gamma = np.zeros((q, K))
        gamma[:, 1:] = theta[at:].reshape(q, K - 1)
        if not (np.all(np.isfinite(beta)) and np.all(sigma > 0) and np.all(np.isfinite(gamma))):
            raise ValueError("parameters outside the parameter space")
        return RegmixParams(beta, sigma, gamma)

    # ---- M-step pieces --------------------------------------------------
    def _factor(self, H, k):
        try:
            return scipy.linalg.cho_factor(H)
        except (np.linalg.LinAlgError, ValueError):
            raise engine.DegenerateFitError(
                f"component {k + 1}'s design is singular: too few rows belong to it, or "
                "its covariates are collinear among them") from None

    def gaussian_mstep(self, stats: RegmixStats):
        """Weighted least squares per component and the ML residual scale."""
        beta = stats.params.beta.copy()
        sigma = np.empty(self.K)
        for k in range(self.K):
            step = scipy.linalg.cho_solve(self._factor(stats.H[k], k), stats.g[k])
            beta[k] += step
            var = (stats.S[k] - step @ stats.g[k]) / stats.N[k]
            if not var > self.var_floor:
                raise engine.DegenerateFitError(
                    f"component {k + 1}'s residual variance vanished: it fits its rows "
                    "exactly")
            sigma[k] = np.sqrt(var)
        return beta, sigma

    def _glm_mstep(self, stats: RegmixStats) -> np.ndarray:
        """Newton (IRLS) steps on each component's Q with the posteriors held
        fixed; a step that would lower Q is halved, so this is a generalised
        EM step at worst and the exact M-step when the steps converge."""
        beta, Q, g, H = stats.params.beta.copy(), stats.Q, stats.g, stats.H
        for _ in range(_INNER_NEWTON):
            steps = np.array([scipy.linalg.cho_solve(self._factor(H[k], k), g[k])
                              for k in range(self.K)])
            t = np.ones(self.K)
            for _ in range(_HALVINGS):
                cand = RegmixParams(beta + t[:, None] * steps, stats.params.sigma,
                                    stats.params.gamma)
                _, _, Qc, _, gc, Hc = self.kernel(cand, GIVEN, stats.post)
                ok = Qc >= Q - 1e-13 * np.abs(Q)
                if ok.all():
                    break
                t[~ok] *= 0.5
            else:
                break   # no step raises Q: beta is at Q's maximum to round-off
            gain = np.max(Qc - Q)
            beta, Q, g, H = cand.beta, Qc, gc, Hc
            if gain <= 1e-12 * (1.0 + np.max(np.abs(Q))):
                break
        return beta

    def _prior_mstep(self, stats: RegmixStats) -> np.ndarray:
        if self.d.Z is None:
            N = stats.N if not self.grouped else self.d.unit_w @ stats.unit_post
            gamma = np.zeros((1, self.K))
            gamma[0] = np.log(N) - np.log(N[0])
            return gamma
        return multinomial_logit(self.d.Z, stats.unit_post, self.d.unit_w,
                                 stats.params.gamma)

    # ---- starts ----------------------------------------------------------
    def from_partition(self, labels: np.ndarray) -> RegmixParams:
        """Parameters from one M-step on a hard partition of the units."""
        unit_post = np.zeros((self.d.n_units, self.K))
        unit_post[np.arange(self.d.n_units), labels] = 1.0
        post = unit_post[self.d.group_codes] if self.grouped else unit_post
        zero = RegmixParams(np.zeros((self.K, self.p)), np.ones(self.K),
                            np.zeros((self.q, self.K)))
        _, N, Q, S, g, H = self.kernel(zero, GIVEN, post)
        return self.mstep(RegmixStats(zero, N, Q, S, g, H, post, unit_post))

    def posteriors(self, params: RegmixParams):
        """(row posteriors, unit posteriors, log-likelihood) at ``params``."""
        stats, ll = self.estep(None, params)
        if stats.post is None:
            post = np.empty((self.d.n, self.K))
            ll = self.kernel(params, FUSED, post, self.log_prior(params))[0]
            return post, post, ll
        return stats.post, stats.unit_post, ll


def multinomial_logit(Z: np.ndarray, T: np.ndarray, w: np.ndarray, gamma0: np.ndarray,
                      max_iter: int = 50) -> np.ndarray:
    """Maximise sum_u w_u sum_k T_uk log softmax(Z_u gamma)_k over gamma (q x K,
    column 0 fixed at 0) by Newton with step halving."""
    q, K = gamma0.shape
    gamma = gamma0.copy()

    def objective(G):
        return float(w @ np.einsum("uk,uk->u", T, log_softmax(Z @ G)))

    f = objective(gamma)
    for _ in range(max_iter):
        P = np.exp(log_softmax(Z @ gamma))
        grad = (Z.T @ (w[:, None] * (T[:, 1:] - P[:, 1:]))).T.ravel()   # (K-1) blocks of q
        hess = multinomial_information(Z, P, w)
        try:
            step = scipy.linalg.solve(hess, grad, assume_a="pos")
        except (np.linalg.LinAlgError, ValueError):
            break
        t = 1.0
        for _ in range(_HALVINGS):
            cand = gamma.copy()
            cand[:, 1:] += t * step.reshape(K - 1, q).T
            fc = objective(cand)
            if fc >= f - 1e-13 * abs(f):
                break
            t *= 0.5
        else:
            break
        gain, gamma, f = fc - f, cand, fc
        if gain <= 1e-13 * (1.0 + abs(f)):
            break
    return gamma


def multinomial_information(Z: np.ndarray, P: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Minus the Hessian of sum_u w_u log softmax(Z_u gamma)_k in the logits of
    components 2..K ((K-1) blocks of q): blocks sum_u w_u Z Z' P_j (delta_jl - P_l).
    The same for every k, so it is also the prior's complete-data information."""
    q, K = Z.shape[1], P.shape[1]
    info = np.empty(((K - 1) * q, (K - 1) * q))
    for j in range(1, K):
        for l in range(j, K):
            c = w * P[:, j] * ((j == l) - P[:, l])
            block = (Z * c[:, None]).T @ Z
            info[(j - 1) * q:j * q, (l - 1) * q:l * q] = block
            info[(l - 1) * q:l * q, (j - 1) * q:j * q] = block.T
    return info


@dataclass
class StartRecord:
    """What became of one start."""

    start: str           # "kmeans" or "random"
    loglik: float        # NaN when the start degenerated
    n_iter: int
    converged: bool
    error: str | None


def _kmeans_labels(model: RegmixEM, rng) -> np.ndarray:
    """k-means on the standardised response and non-constant covariates, per unit."""
    d = model.d
    if d.family == "poisson":
        resp = np.log1p(d.y)
    elif d.family == "binomial":
        resp = d.y / np.maximum(d.trials, 1.0)
    else:
        resp = d.y
    F = np.column_stack([resp, d.X[:, np.ptp(d.X, axis=0) > 0]])
    if model.grouped:
        counts = np.bincount(d.group_codes)
        F = np.column_stack([np.bincount(d.group_codes, weights=f) / counts for f in F.T])
    sd = F.std(axis=0)
    F = (F - F.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if len(F) <= _KMEANS_ROWS:
        return kmeans(F, model.K, rng, w=d.unit_w)[0]
    # a start needs rough centres: find them on a sample, then place every unit
    sample = rng.choice(len(F), _KMEANS_ROWS, replace=False)
    centers = kmeans(F[sample], model.K, rng, w=d.unit_w[sample])[1]
    origin = np.zeros(F.shape[1])
    return nearest(F, centers, origin)[0]


def fit_components(model: RegmixEM, n_init: int, rng, rules: engine.StoppingRules,
                   accelerate: bool, progress=None):
    """Run EM from ``n_init`` starts (k-means first, then random partitions of
    the units, as flexmix draws them); return (best EMResult or None, records)."""
    best, records = None, []
    run = engine.run_squarem if accelerate else engine.run_em
    for s in range(n_init):
        kind = "kmeans" if s == 0 else "random"
        try:
            labels = _kmeans_labels(model, rng) if s == 0 else \
                rng.integers(0, model.K, model.d.n_units)
            result = run(model, None, model.from_partition(labels), rules, warn=False)
        except (engine.DegenerateFitError, FloatingPointError) as err:
            records.append(StartRecord(kind, np.nan, 0, False, str(err)))
        else:
            records.append(StartRecord(kind, result.loglik, result.n_iter, result.converged,
                                       None))
            if best is None or result.loglik > best.loglik:
                best = result
        if progress is not None:
            progress.update(1)
    return best, records


def order_components(model: RegmixEM, params: RegmixParams) -> np.ndarray:
    """Components by increasing mean linear predictor over the fitted rows
    (ties by decreasing prior): a rule that does not depend on the start."""
    mean_x = np.average(model.d.X, axis=0, weights=model.d.w)
    level = params.beta @ mean_x
    prior = np.exp(model.log_prior(params)).mean(axis=0)
    return np.lexsort((-prior, level))


def reorder(params: RegmixParams, order: np.ndarray) -> RegmixParams:
    gamma = params.gamma[:, order]
    return RegmixParams(params.beta[order].copy(), params.sigma[order].copy(),
                        gamma - gamma[:, :1])
