"""Observed information of a mixture of regressions at its maximum.

Louis' identity: the observed information is the expected complete-data
information minus the covariance, under the posteriors, of the complete-data
scores:

    J = sum_u w_u [ sum_k tau_uk (-d2 a_uk) - sum_k tau_uk (d a_uk - abar_u)(d a_uk - abar_u)' ]

where a_uk = log pi_uk + sum_{i in u} log f_ik is the unit's (row's or
group's) complete-data log-likelihood in component k and abar_u its
posterior mean gradient.  Parameters, per component k: beta_k, then log
sigma_k (Gaussian); then the prior logits gamma_j (concomitant coefficients,
or log(pi_j / pi_1) without a concomitant model) for components 2..K,
relative to component 1 -- flexmix's refit() parameterisation.  Units are
processed in chunks, so memory stays O(chunk x parameters x K).
"""
from __future__ import annotations

import numpy as np

from .regmix_fit import RegmixEM, RegmixParams, multinomial_information

__all__ = ["observed_information", "parameter_names"]

_CHUNK_UNITS = 4096


def parameter_names(model: RegmixEM, terms: list, concomitant_terms: list) -> list:
    names = []
    for k in range(model.K):
        names += [f"Comp.{k + 1}:{t}" for t in terms]
        if model.gaussian:
            names.append(f"Comp.{k + 1}:log(sigma)")
    zt = concomitant_terms or ["alpha"]
    for j in range(1, model.K):
        names += [f"Comp.{j + 1}:prior:{t}" for t in zt]
    return names


def _scores(model: RegmixEM, params: RegmixParams, rows: np.ndarray):
    """Per row and component: d log f / d eta and, for the Gaussian,
    the standardised residual r / sigma (else None)."""
    d = model.d
    X = d.X[rows]
    eta = X @ params.beta.T
    if d.offset is not None:
        eta += d.offset[rows, None]
    y = d.y[rows, None]
    if model.gaussian:
        z = (y - eta) / params.sigma
        return X, z / params.sigma, z
    if d.family == "poisson":
        return X, y - np.exp(eta), None
    return X, y - d.trials[rows, None] / (1.0 + np.exp(-eta)), None


def observed_information(model: RegmixEM, params: RegmixParams,
                         unit_post: np.ndarray) -> np.ndarray:
    d = model.d
    K, p, q = model.K, model.p, model.q
    per = p + (1 if model.gaussian else 0)
    P = K * per + (K - 1) * q
    J = np.zeros((P, P))
    # the complete-data information: each component's block from the
    # kernel's sums at params (sum c x x', sum c r x, sum c r^2 with c = w tau)
    stats, _ = model.estep(None, params)
    for k in range(K):
        at = k * per
        if model.gaussian:
            s2 = params.sigma[k] ** 2
            J[at:at + p, at:at + p] = stats.H[k] / s2
            J[at:at + p, at + p] = J[at + p, at:at + p] = 2.0 * stats.g[k] / s2
            J[at + p, at + p] = 2.0 * stats.S[k] / s2
        else:
            J[at:at + p, at:at + p] = stats.H[k]
    Z = np.ones((d.n_units, 1)) if d.Z is None else d.Z
    pi = np.broadcast_to(np.exp(model.log_prior(params)), unit_post.shape)
    J[K * per:, K * per:] = multinomial_information(Z, pi, d.unit_w)
    # minus the posterior covariance of the complete-data scores, by chunks of units
    if model.grouped:
        order, starts = model.order, np.r_[model.starts, d.n]
    for u0 in range(0, d.n_units, _CHUNK_UNITS):
        u1 = min(d.n_units, u0 + _CHUNK_UNITS)
        if model.grouped:
            rows = order[starts[u0]:starts[u1]]
            local = starts[u0:u1] - starts[u0]
        else:
            rows, local = np.arange(u0, u1), None
        X, s, z = _scores(model, params, rows)

        def unit_sum(a):
            return a if local is None else np.add.reduceat(a, local, axis=0)

        G = np.zeros((K, u1 - u0, P))
        for k in range(K):
            at = k * per
            G[k, :, at:at + p] = unit_sum(s[:, k, None] * X)
            if model.gaussian:
                G[k, :, at + p] = unit_sum(z[:, k] ** 2 - 1.0)
            for j in range(1, K):
                b = K * per + (j - 1) * q
                G[k, :, b:b + q] = Z[u0:u1] * ((k == j) - pi[u0:u1, j])[:, None]
        tau, w = unit_post[u0:u1], d.unit_w[u0:u1]
        mean = np.einsum("uk,kup->up", tau, G)
        for k in range(K):
            D = G[k] - mean
            J -= (D * (w * tau[:, k])[:, None]).T @ D
    return 0.5 * (J + J.T)
