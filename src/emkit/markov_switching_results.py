"""Results of :func:`emkit.markov_switching`, with statsmodels' names and layout.

Standard errors come from the observed information: the score is exact (the
Fisher identity: the smoothed expectation of the complete-data score, from
one forward-backward pass), and its Jacobian is taken by central differences.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats

from ._smformat import Summary, coefficient_table, header
from .markov_switching import MarkovSwitchingEM, MSParams, stationary
from .regmix_fit import GIVEN


class MarkovSwitchingResults:
    """A fitted Markov-switching regression.

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        In statsmodels' order and names: transition probabilities
        ``p[i->j]`` (from regime i to j, for j < k_regimes - 1), then each
        coefficient per regime ``name[k]``, then ``sigma2[k]`` (or ``sigma2``).
    llf, aic, bic, hqic : float
    nobs : int; k_params : int (parameters counted in AIC/BIC, including an
        estimated initial distribution, which has no standard error)
    transition_matrix : DataFrame, row-stochastic (rows: from, columns: to)
    regime_transition : ndarray (k, k, 1), statsmodels' convention
        ``regime_transition[j, i, 0] = P(s_t = j | s_{t-1} = i)``.
    initial_probabilities : ndarray (k,)
    expected_durations : ndarray (k,), 1 / (1 - p_kk)
    smoothed_marginal_probabilities, filtered_marginal_probabilities,
    predicted_marginal_probabilities : DataFrame (rows like the data)
    regime_params : DataFrame, coefficients and sigma2 by regime
    n_iter, converged, loglik_trace : the EM run
    """

    def __init__(self, model: MarkovSwitchingEM, result):
        self.model = model
        design = model.reg.d
        p = _order(model, result.params)
        self._p = p
        K = model.K
        self.k_regimes = K
        self.nobs = design.n
        self.terms = list(design.terms)
        self.response = design.response
        self.index = design.index
        self.n_dropped = design.n_dropped
        self.n_iter, self.converged = result.n_iter, result.converged
        self.loglik_trace = result.loglik_trace
        self.switching_variance = model.switching_variance
        names, theta = self._natural(p)
        self.llf, post, _, _ = model.smooth(p)
        # an estimated initial distribution is K - 1 more parameters (as hmmlearn counts)
        self.k_params = len(theta) + (K - 1 if model.estimated else 0)
        cov = _observed_information_inverse(self, theta)
        self.params = pd.Series(theta, index=names)
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        self.bse = pd.Series(np.sqrt(np.clip(np.diag(cov), 0, None)), index=names)
        self.tvalues = self.params / self.bse
        self.pvalues = pd.Series(2 * scipy.stats.norm.sf(np.abs(self.tvalues)), index=names)
        self.cov_type = "observed information (exact score, differenced)"
        self.aic = -2 * self.llf + 2 * self.k_params
        self.bic = -2 * self.llf + self.k_params * np.log(self.nobs)
        self.hqic = -2 * self.llf + 2 * self.k_params * np.log(np.log(self.nobs))
        regimes = list(range(K))
        self.transition_matrix = pd.DataFrame(p.transmat, index=pd.Index(regimes, name="from"),
                                              columns=pd.Index(regimes, name="to"))
        self.regime_transition = p.transmat.T[:, :, None].copy()
        self.initial_probabilities = p.startprob.copy()
        self.expected_durations = 1.0 / (1.0 - np.diag(p.transmat))
        frame = lambda a: pd.DataFrame(a, index=self.index, columns=regimes)  # noqa: E731
        self.smoothed_marginal_probabilities = frame(post.copy())
        filtered = model.filtered(p)
        self.filtered_marginal_probabilities = frame(filtered)
        predicted = np.vstack([p.startprob, filtered[:-1] @ p.transmat])
        self.predicted_marginal_probabilities = frame(predicted)
        rows = self.terms + ["sigma2"]
        self.regime_params = pd.DataFrame(np.vstack([p.beta.T, p.sigma**2]), index=rows,
                                          columns=pd.Index(regimes, name="regime"))

    # ---- parameters in statsmodels' order ---------------------------------------
    def _natural(self, p: MSParams):
        K = self.k_regimes
        names, values = [], []
        for j in range(K - 1):
            for i in range(K):
                names.append(f"p[{i}->{j}]")
                values.append(p.transmat[i, j])
        for t, term in enumerate(self.terms):
            for k in range(K):
                names.append(f"{term}[{k}]")
                values.append(p.beta[k, t])
        if self.switching_variance:
            names += [f"sigma2[{k}]" for k in range(K)]
            values += list(p.sigma**2)
        else:
            names.append("sigma2")
            values.append(p.sigma[0] ** 2)
        return names, np.array(values)

    def _from_natural(self, theta) -> MSParams:
        K, p = self.k_regimes, len(self.terms)
        P = np.empty((K, K))
        P[:, :-1] = theta[:K * (K - 1)].reshape(K - 1, K).T
        P[:, -1] = 1.0 - P[:, :-1].sum(axis=1)
        at = K * (K - 1)
        beta = theta[at:at + K * p].reshape(p, K).T.copy()
        at += K * p
        sigma2 = theta[at:] if self.switching_variance else np.full(K, theta[at])
        return MSParams(beta, np.sqrt(sigma2), P,
                        self.model.initial_probs(P, self._p.startprob))

    def score(self, theta=None) -> np.ndarray:
        """The gradient of the log-likelihood in the natural parameters (at the
        estimate by default), by the Fisher identity."""
        model, K = self.model, self.k_regimes
        p = self._p if theta is None else self._from_natural(np.asarray(theta, dtype=float))
        _, post, xi, start = model.smooth(p)
        _, N, _, S, g, _ = model.reg.kernel(model._reg_params(p), GIVEN, post)
        P = p.transmat
        grad_P = xi[:, :-1] / P[:, :-1] - (xi[:, -1] / P[:, -1])[:, None]
        if model.steady_state:
            pi = stationary(P)
            Z = np.linalg.inv(np.eye(K) - P + np.outer(np.ones(K), pi))
            w = start / pi
            # d pi / d P[i, j] (with P[i, K-1] taking up the change) = pi_i (Z[j] - Z[K-1])
            grad_P += np.outer(pi, (Z[:-1] - Z[-1]) @ w)
        var = p.sigma**2
        grad_beta = (g / var[:, None]).T.ravel()
        grad_var = -N / (2 * var) + S / (2 * var**2)
        if not self.switching_variance:
            grad_var = np.array([grad_var.sum()])
        return np.concatenate([grad_P.T.ravel(), grad_beta, grad_var])

    # ---- statsmodels' interface ---------------------------------------------------
    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (inverse observed information)."""
        return self._cov.copy()

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals, columns 0 (lower) and 1 (upper)."""
        z = scipy.stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - z * self.bse, 1: self.params + z * self.bse})

    def summary(self, alpha: float = 0.05) -> Summary:
        """Estimates in statsmodels' MarkovRegression layout: a table per regime,
        then the transition probabilities."""
        K = self.k_regimes
        namew = max(10, max(len(t) for t in self.terms + ["sigma2"]) + 1)
        width = max(78, namew + 68)
        first, last = (_label(self.index[0]), _label(self.index[-1]))
        left = [("Dep. Variable:", self.response), ("Model:", "MarkovRegression"),
                ("Method:", "EM (SQUAREM)"), ("Initial regime:", self._initial_label()),
                ("Sample:", first), ("", f"- {last}"), ("Covariance Type:", "observed info")]
        right = [("No. Observations:", str(self.nobs)),
                 ("Log Likelihood", f"{self.llf:.3f}"), ("AIC", f"{self.aic:.3f}"),
                 ("BIC", f"{self.bic:.3f}"), ("HQIC", f"{self.hqic:.3f}"),
                 ("EM iterations", str(self.n_iter))]
        lines = header("Markov Switching Model Results", left, right, width)
        ci = self.conf_int(alpha)
        cols = (self.params, self.bse, self.tvalues, self.pvalues, ci, alpha, namew, width)
        for k in range(K):
            names = [(f"{t}[{k}]", t) for t in self.terms]
            if self.switching_variance:
                names.append((f"sigma2[{k}]", "sigma2"))
            lines += [f"Regime {k} parameters".center(width), "=" * width]
            lines += coefficient_table(names, *cols)
        if not self.switching_variance:
            lines += ["Non-switching parameters".center(width), "=" * width]
            lines += coefficient_table([("sigma2", "sigma2")], *cols)
        lines += ["Regime transition parameters".center(width), "=" * width]
        lines += coefficient_table([(n, n) for n in self.params.index if n.startswith("p[")],
                                   *cols)
        lines.append("=" * width)
        lines.append("p[i->j] = P(regime j at t | regime i at t-1).  Expected durations: "
                     + ", ".join(f"{d:.3g}" for d in self.expected_durations) + ".")
        if self.n_dropped:
            lines.append(f"{self.n_dropped} row(s) with missing values at the ends were dropped.")
        if not self.converged:
            lines.append("Warning: EM did not converge.")
        return Summary("\n".join(lines))

    def _initial_label(self) -> str:
        init = self.model.initial
        return init if isinstance(init, str) else "fixed"

    def plot_probabilities(self, which: str = "smoothed", regime: int | None = None, ax=None):
        """Plot the regime probabilities over the rows (matplotlib); returns the Axes."""
        import matplotlib.pyplot as plt

        frames = {"smoothed": self.smoothed_marginal_probabilities,
                  "filtered": self.filtered_marginal_probabilities,
                  "predicted": self.predicted_marginal_probabilities}
        if which not in frames:
            raise ValueError(f"which must be one of {list(frames)}, got {which!r}")
        ax = ax or plt.subplots(figsize=(9, 3))[1]
        frame = frames[which]
        for k in (frame.columns if regime is None else [regime]):
            ax.plot(frame.index, frame[k], lw=1, label=f"regime {k}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(f"{which} probability")
        ax.legend(loc="upper right", frameon=False)
        return ax

    def __repr__(self) -> str:
        return (f"<MarkovSwitchingResults: {self.response} ~ {len(self.terms)} terms, "
                f"{self.k_regimes} regimes, nobs={self.nobs}, llf={self.llf:.6f}>")


def _label(value) -> str:
    """A row label for the summary: dates without a midnight time."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


def _order(model: MarkovSwitchingEM, p: MSParams) -> MSParams:
    """Regimes by increasing mean fitted value (labels are otherwise arbitrary)."""
    fitted = model.reg.d.X.mean(axis=0) @ p.beta.T
    o = np.argsort(fitted, kind="stable")
    return MSParams(p.beta[o], p.sigma[o], p.transmat[np.ix_(o, o)], p.startprob[o])


def _observed_information_inverse(res: MarkovSwitchingResults, theta: np.ndarray):
    """Inverse of minus the central-difference Jacobian of the exact score."""
    m = theta.size
    J = np.empty((m, m))
    for j in range(m):
        h = 1e-5 * max(abs(theta[j]), 1e-2)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        J[:, j] = (res.score(up) - res.score(down)) / (2 * h)
    info = -(J + J.T) / 2
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full((m, m), np.nan)
