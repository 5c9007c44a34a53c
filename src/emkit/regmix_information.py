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

from .regmix_fit import RegmixEM, RegmixParams

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


def _row_pieces(model: RegmixEM, params: RegmixParams, rows: np.ndarray):
    """Per row and component: score weight s (d log f / d eta), variance
    weight v (-d2 log f / d eta2) and, for the Gaussian, r / sigma."""
    d = model.d
    X = d.X[rows]
    eta = X @ params.beta.T
    if d.offset is not None:
        eta += d.offset[rows, None]
    y = d.y[rows, None]
    if model.gaussian:
        z = (y - eta) / params.sigma
        return X, z / params.sigma, np.broadcast_to(1.0 / params.sigma ** 2, eta.shape), z
    if d.family == "poisson":
        mu = np.exp(eta)
        return X, y - mu, mu, None
    pr = 1.0 / (1.0 + np.exp(-eta))
    m = d.trials[rows, None]
    return X, y - m * pr, m * pr * (1.0 - pr), None


def observed_information(model: RegmixEM, params: RegmixParams,
                         unit_post: np.ndarray) -> np.ndarray:
    d = model.d
    K, p, q = model.K, model.p, model.q
    per = p + (1 if model.gaussian else 0)
    P = K * per + (K - 1) * q
    J = np.zeros((P, P))
    if model.grouped:
        order, starts = model.order, np.r_[model.starts, d.n]
    else:
        order, starts = None, None
    logprior = model.log_prior(params)
    for u0 in range(0, d.n_units, _CHUNK_UNITS):
        u1 = min(d.n_units, u0 + _CHUNK_UNITS)
        if order is None:
            rows = np.arange(u0, u1)
            local = None
        else:
            rows = order[starts[u0]:starts[u1]]
            local = starts[u0:u1] - starts[u0]
        X, s, v, z = _row_pieces(model, params, rows)
        tau_u = unit_post[u0:u1]
        tau_r = tau_u if local is None else tau_u[np.searchsorted(local, np.arange(len(rows)),
                                                                  side="right") - 1]
        w_u = d.unit_w[u0:u1]
        w_r = d.w[rows]
        pi = np.exp(logprior if logprior.shape[0] == 1 else logprior[u0:u1])
        pi = np.broadcast_to(pi, tau_u.shape)
        Zu = np.ones((u1 - u0, 1)) if d.Z is None else d.Z[u0:u1]

        def unit_sum(a):
            return a if local is None else np.add.reduceat(a, local, axis=0)

        G = np.zeros((K, u1 - u0, P))
        for k in range(K):
            at = k * per
            G[k, :, at:at + p] = unit_sum(s[:, k, None] * X)
            # complete-data information of component k's own parameters
            c = w_r * tau_r[:, k]
            J[at:at + p, at:at + p] += (X * (c * v[:, k])[:, None]).T @ X
            if model.gaussian:
                G[k, :, at + p] = unit_sum(z[:, k] ** 2 - 1.0)
                cross = (X * (2.0 * c * z[:, k] / params.sigma[k])[:, None]).sum(axis=0)
                J[at:at + p, at + p] += cross
                J[at + p, at:at + p] += cross
                J[at + p, at + p] += 2.0 * c @ z[:, k] ** 2
            for j in range(1, K):
                b = K * per + (j - 1) * q
                G[k, :, b:b + q] = Zu * ((k == j) - pi[:, j])[:, None]
        # the prior's information: sum_u w_u Z Z' pi_j (delta_jl - pi_l)
        for j in range(1, K):
            for l in range(1, K):
                c = w_u * pi[:, j] * ((j == l) - pi[:, l])
                bj, bl = K * per + (j - 1) * q, K * per + (l - 1) * q
                J[bj:bj + q, bl:bl + q] += (Zu * c[:, None]).T @ Zu
        mean = np.einsum("uk,kup->up", tau_u, G)
        for k in range(K):
            D = G[k] - mean
            J -= (D * (w_u * tau_u[:, k])[:, None]).T @ D
    return 0.5 * (J + J.T)
