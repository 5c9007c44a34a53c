"""What :func:`emkit.tobit` returns: estimates with statsmodels' names, a
summary table in statsmodels' layout, predictions and marginal effects."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

from ._smformat import Summary, coefficient_table, header
from ._tobit import interval_moments
from .censored_design import limit_values
from .formula_design import newdata_design

_METHODS = {"em-newton": "EM + Newton", "em": "EM (SQUAREM)"}
COV_TYPE = "observed information (analytic Hessian)"
PREDICTIONS = ("latent", "observed", "conditional", "prob_uncensored")


def _standardised_limits(eta, sigma, L, R):
    a = (L - eta) / sigma
    b = (R - eta) / sigma
    return np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(b, dtype=float)


def _prediction(which: str, eta, sigma, L, R) -> np.ndarray:
    """The prediction ``which`` for linear predictors eta and limits L < R."""
    if which == "latent":
        return eta.copy()
    a, b = _standardised_limits(eta, sigma, L, R)
    logp, m1 = interval_moments(a, b)[:2]
    prob = np.exp(logp)
    if which == "prob_uncensored":
        return prob
    if which == "conditional":
        return eta + sigma * m1
    # observed = L P(y* <= L) + R P(y* >= R) + P(uncensored) E[y* | uncensored]
    with np.errstate(invalid="ignore"):
        below = np.where(np.isfinite(L), L * scipy.special.ndtr(a), 0.0)
        above = np.where(np.isfinite(R), R * scipy.special.ndtr(-b), 0.0)
    return below + above + prob * (eta + sigma * m1)


def _slope_factor(which: str, eta, sigma, L, R) -> np.ndarray:
    """d prediction / d eta, row by row: a marginal effect is beta_j times this."""
    if which == "latent":
        return np.ones_like(eta)
    a, b = _standardised_limits(eta, sigma, L, R)
    logp, m1, _, delta = interval_moments(a, b)[:4]
    prob = np.exp(logp)
    if which == "observed":
        return prob
    if which == "conditional":
        return 1.0 - delta
    return prob * m1 / sigma   # d P / d eta = (phi(a) - phi(b)) / sigma


class TobitResults:
    """A fitted censored / truncated normal regression (see :func:`emkit.tobit`).

    Attributes
    ----------
    params, bse, tvalues, pvalues : Series
        Estimates, standard errors, z statistics and two-sided normal p-values,
        indexed by the design's column names and ``Log(scale)`` last (AER's
        parameterisation).
    llf : float
        The maximised log-likelihood (weighted by the case weights).
    aic, bic : float
        -2 llf + 2 k and -2 llf + k log(nobs), k = number of parameters
        (smaller is better).  nobs counts rows, as R does, also with weights.
    nobs : int
        Rows fitted.  ``n_left``, ``n_uncensored``, ``n_right``,
        ``n_interval`` count them by censoring; ``n_dropped`` counts rows
        dropped for missing values.
    scale : float
        sigma = exp(Log(scale)).
    n_iter, n_newton : int
        EM steps (M-steps) and Newton steps taken; ``converged`` says whether
        the stopping rule was met.
    loglik_trace : ndarray
        EM's log-likelihood at the start and after each SQUAREM cycle (two
        M-steps and, when it helps, an extrapolation), so it has about
        n_iter / 2 + 1 entries; it never decreases.
    cov_type : str
        How the covariance was computed.
    """

    def __init__(self, design, theta, llf, hessian, em, n_newton, converged, method):
        self.model = design
        names = design.terms + ["Log(scale)"]
        self.params = pd.Series(theta, index=names, name="coef")
        try:
            cov = np.linalg.inv(-hessian)
        except np.linalg.LinAlgError:
            cov = np.full_like(hessian, np.nan)
        cov = 0.5 * (cov + cov.T)
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        with np.errstate(invalid="ignore"):
            self.bse = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std err")
        self.tvalues = (self.params / self.bse).rename("z")
        self.pvalues = pd.Series(2 * scipy.stats.norm.sf(np.abs(self.tvalues)), index=names,
                                 name="P>|z|")
        self.llf = float(llf)
        self.nobs = int(design.X.shape[0])
        self.k_params = len(names)
        self.aic = -2 * self.llf + 2 * self.k_params
        self.bic = -2 * self.llf + np.log(self.nobs) * self.k_params
        kind = design.kind
        self.n_left, self.n_uncensored, self.n_right, self.n_interval = (
            int(np.sum(kind == k)) for k in (0, 1, 2, 3))
        self.n_dropped = design.n_dropped
        self.scale = float(np.exp(theta[-1]))
        self.n_iter = em.n_iter
        self.n_newton = n_newton
        self.converged = bool(converged)
        self.loglik_trace = em.loglik_trace
        self.method = method
        self.cov_type = COV_TYPE
        self.df_model = len(self._slopes())

    # -- statsmodels' accessors -------------------------------------------------
    def cov_params(self) -> pd.DataFrame:
        """The estimated covariance of the parameters (inverse observed information)."""
        return self._cov.copy()

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals: columns 0 (lower) and 1 (upper)."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        q = scipy.stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})

    def _slopes(self) -> list:
        """Design columns other than the intercept."""
        info = self.model.design_info
        slopes = []
        for term, columns in info.term_name_slices.items():
            if term != "Intercept":
                slopes += info.column_names[columns]
        return slopes

    def wald_test_slopes(self) -> tuple[float, int, float]:
        """Wald chi-square test that every slope (all but the intercept and
        Log(scale)) is zero, as AER's summary prints: (statistic, df, p-value)."""
        slopes = self._slopes()
        if not slopes:
            return np.nan, 0, np.nan
        b = self.params[slopes].to_numpy()
        V = self._cov.loc[slopes, slopes].to_numpy()
        stat = float(b @ np.linalg.solve(V, b))
        return stat, len(slopes), float(scipy.stats.chi2.sf(stat, len(slopes)))

    # -- predictions ------------------------------------------------------------
    def _rows(self, newdata, limits_needed: bool = True):
        """Design matrix, censoring limits and row positions for the rows of
        newdata without missing values (or for the fitted rows)."""
        design = self.model
        if newdata is None:
            X = design.X
            frame, rows = None, np.arange(design.X.shape[0])
        else:
            X, rows, frame = newdata_design(design.design_info, newdata)
        limits = design.limits
        if "left" not in limits or not limits_needed:
            L = np.full(len(rows), -np.inf)
            R = np.full(len(rows), np.inf)
        elif frame is None:
            L, R = design.limit_arrays["left"], design.limit_arrays["right"]
        else:
            L = limit_values(limits["left"], "left", frame, rows)
            R = limit_values(limits["right"], "right", frame, rows)
            known = ~(np.isnan(L) | np.isnan(R))
            X, L, R, rows = X[known], L[known], R[known], rows[known]
        return X, L, R, rows

    def predict(self, newdata=None, which: str = "latent") -> pd.Series:
        """Predictions for newdata (default: the fitted rows).

        Parameters
        ----------
        newdata : DataFrame, optional
            Must hold the formula's variables and (except for "latent") any
            limit columns; rows with missing values get NaN.
        which : str
            "latent": x'beta, the mean of the latent y*.  "observed": E[y],
            the mean of the censored response (y* clipped to [left, right]).
            "conditional": E[y* | left < y* < right].  "prob_uncensored":
            P(left < y* < right).  For interval-censored fits there are no
            censoring limits, so all but "latent" are trivial.  Predictions
            are for the population model: a truncation window is ignored.
        """
        if which not in PREDICTIONS:
            raise ValueError(f"which must be one of {PREDICTIONS}, got {which!r}")
        X, L, R, rows = self._rows(newdata, limits_needed=which != "latent")
        values = _prediction(which, X @ self.params.to_numpy()[:-1], self.scale, L, R)
        if newdata is None:
            return pd.Series(values, index=self.model.index, name=which)
        out = np.full(len(newdata), np.nan)
        out[rows] = values
        return pd.Series(out, index=newdata.index, name=which)

    def _evaluation_rows(self, at: str):
        """(X, L, R, w) of the fitted rows, or of their weighted mean row."""
        if at not in ("overall", "mean"):
            raise ValueError(f"at must be 'overall' or 'mean', got {at!r}")
        X, L, R, _ = self._rows(None)
        w = self.model.w
        if at == "mean":
            return ((w @ X)[None, :] / w.sum(), np.atleast_1d(np.average(L, weights=w)),
                    np.atleast_1d(np.average(R, weights=w)), np.ones(1))
        return X, L, R, w

    def mcdonald_moffitt(self, at: str = "overall") -> pd.DataFrame:
        """McDonald & Moffitt's (1980) decomposition of the effects on E[y].

        dE[y]/dx_j = P(uncensored) dE[y* | uncensored]/dx_j
        + E[y* | uncensored] dP(uncensored)/dx_j
        + L dP(y* <= L)/dx_j + R dP(y* >= R)/dx_j: the change among
        uncensored rows, the change in the chance of being uncensored, and
        (only for nonzero finite limits) the moving masses at the limits.

        Parameters
        ----------
        at : {"overall", "mean"}
            Average over the fitted rows (each part averaged; they still add
            up), or evaluate at the mean regressors.

        Returns
        -------
        DataFrame
            Rows the slopes; columns ``dE[y]/dx`` (= ``get_margeff()``'s),
            ``uncensored mean``, ``P(uncensored)``, ``limit masses`` and
            ``share uncensored mean`` (the first part's share of the total).
        """
        X, L, R, w = self._evaluation_rows(at)
        beta = self.params.to_numpy()[:-1]
        eta, sigma = X @ beta, self.scale
        prob = _prediction("prob_uncensored", eta, sigma, L, R)
        cond = _prediction("conditional", eta, sigma, L, R)
        a, b = _standardised_limits(eta, sigma, L, R)
        with np.errstate(invalid="ignore"):
            masses = (np.where(np.isfinite(L), -L * scipy.stats.norm.pdf(a), 0.0)
                      + np.where(np.isfinite(R), R * scipy.stats.norm.pdf(b), 0.0)) / sigma
        parts = np.array([np.average(prob * _slope_factor("conditional", eta, sigma, L, R),
                                     weights=w),
                          np.average(cond * _slope_factor("prob_uncensored", eta, sigma, L, R),
                                     weights=w),
                          np.average(masses, weights=w)])
        slopes = self._slopes()
        b_s = self.params[slopes].to_numpy()[:, None]
        table = pd.DataFrame(b_s * parts[None, :], index=slopes,
                             columns=["uncensored mean", "P(uncensored)", "limit masses"])
        table.insert(0, "dE[y]/dx", table.sum(axis=1))
        table["share uncensored mean"] = parts[0] / parts.sum()
        return table

    def get_margeff(self, at: str = "overall", which: str = "observed") -> pd.DataFrame:
        """Marginal effects of each regressor, with delta-method standard errors.

        Every marginal effect is beta_j times a factor s(x'beta) that depends on
        ``which`` (see :meth:`predict`): 1 for "latent", P(uncensored) for
        "observed", Var(z | uncensored) for "conditional" and
        (phi(a) - phi(b)) / sigma for "prob_uncensored".  For the
        McDonald-Moffitt decomposition of the "observed" effects see
        :meth:`mcdonald_moffitt`.

        Parameters
        ----------
        at : {"overall", "mean"}
            Average the effect over the fitted rows (average marginal effects,
            statsmodels' default), or evaluate it at the mean regressors.
        which : str
            One of "observed" (default), "conditional", "prob_uncensored", "latent".

        Returns
        -------
        DataFrame
            Rows the slopes; columns ``dy/dx``, ``Std. Err.``, ``z``,
            ``Pr(>|z|)``, ``Conf. Int. Low``, ``Conf. Int. Hi.`` (statsmodels'
            names).  Derivatives are taken for every design column, dummies
            included.
        """
        if which not in PREDICTIONS:
            raise ValueError(f"which must be one of {PREDICTIONS}, got {which!r}")
        X, L, R, w = self._evaluation_rows(at)
        theta = self.params.to_numpy()
        p = X.shape[1]
        slopes = self._slopes()
        cols = [self.model.terms.index(s) for s in slopes]

        def mean_factor(beta, log_sigma):
            return np.average(_slope_factor(which, X @ beta, np.exp(log_sigma), L, R), weights=w)

        beta, ls = theta[:p], theta[p]
        sbar = mean_factor(beta, ls)
        effects = beta[cols] * sbar
        # gradient of the mean factor: numerically in the two scalars it depends on
        eta = X @ beta
        h = 1e-6 * max(1.0, np.max(np.abs(eta)))
        sig = np.exp(ls)
        d_eta = (_slope_factor(which, eta + h, sig, L, R)
                 - _slope_factor(which, eta - h, sig, L, R)) / (2 * h)
        grad_beta = (w * d_eta) @ X / w.sum()
        grad_ls = (mean_factor(beta, ls + 1e-6) - mean_factor(beta, ls - 1e-6)) / 2e-6
        J = np.zeros((len(cols), p + 1))
        for r, j in enumerate(cols):
            J[r, j] += sbar
            J[r, :p] += beta[j] * grad_beta
            J[r, p] = beta[j] * grad_ls
        V = J @ self._cov.to_numpy() @ J.T
        se = np.sqrt(np.diag(V))
        z = effects / se
        q = scipy.stats.norm.ppf(0.975)
        return pd.DataFrame({"dy/dx": effects, "Std. Err.": se, "z": z,
                             "Pr(>|z|)": 2 * scipy.stats.norm.sf(np.abs(z)),
                             "Conf. Int. Low": effects - q * se,
                             "Conf. Int. Hi.": effects + q * se}, index=slopes)

    # -- printing -----------------------------------------------------------------
    def _censoring_lines(self):
        lim = self.model.limits
        if "left" not in lim:
            return [("Left-censored:", self.n_left), ("Uncensored:", self.n_uncensored),
                    ("Right-censored:", self.n_right), ("Interval-censored:", self.n_interval)]

        def label(key, text, op):
            spec = lim[key]
            if isinstance(spec, str):
                return f"{text} (at {spec}):"
            return f"{text} ({op} {spec:g}):" if np.isfinite(spec) else f"{text}:"

        return [(label("left", "Left-censored", "<="), self.n_left),
                ("Uncensored:", self.n_uncensored),
                (label("right", "Right-censored", ">="), self.n_right)]

    def _truncation_text(self) -> str:
        lim = self.model.limits
        if "truncation_lower" not in lim:
            return ""

        def end(spec, inf):
            return spec if isinstance(spec, str) else ("-inf" if inf < 0 else "inf") \
                if np.isinf(spec) else f"{spec:g}"

        return (f"({end(lim['truncation_lower'], -1)}, "
                f"{end(lim['truncation_upper'], 1)})")

    def summary(self, alpha: float = 0.05) -> Summary:
        """The estimates table in statsmodels' layout, with the censoring counts,
        scale, log-likelihood, AIC/BIC, the Wald test of the slopes and how the
        standard errors were computed."""
        namew = max(14, max(len(s) for s in self.params.index) + 1)
        width = max(78, namew + 67)
        title = ("Truncated Regression Results" if self.model.tlo is not None
                 else "Tobit Regression Results")
        wald, wdf, wp = self.wald_test_slopes()
        model = "Truncated" if self.model.tlo is not None else "Tobit"
        left = [("Dep. Variable:", self.model.response), ("Model:", model),
                ("Method:", _METHODS[self.method]), ("Distribution:", "Gaussian"),
                ("Scale:", f"{self.scale:.5g}"), ("Log-Likelihood:", f"{self.llf:.6g}"),
                ("Converged:", str(self.converged)),
                ("EM / Newton steps:", f"{self.n_iter} / {self.n_newton}")]
        right = [("No. Observations:", str(self.nobs))]
        right += [(k, str(v)) for k, v in self._censoring_lines()]
        trunc = self._truncation_text()
        if trunc:
            right.append(("Truncation:", trunc))
        if self.n_dropped:
            right.append(("Dropped (missing):", str(self.n_dropped)))
        if self.model.weighted:
            right.append(("Sum of weights:", f"{self.model.w.sum():.6g}"))
        right += [("Df Model:", str(self.df_model)), ("AIC:", f"{self.aic:.6g}"),
                  ("BIC:", f"{self.bic:.6g}")]
        lines = header(title, left, right, width)
        lines.append(f"{'Covariance Type:':<20}{COV_TYPE:>{width - 20}}")
        lines.append("=" * width)
        names = [(name, name) for name in self.params.index]
        lines += coefficient_table(names, self.params, self.bse, self.tvalues, self.pvalues,
                                   self.conf_int(alpha), alpha, namew, width)
        lines.append("=" * width)
        if wdf:
            lines.append(f"Wald test of all slopes = 0: chi2({wdf}) = {wald:.4f}, "
                         f"P > chi2 = {wp:.4g}")
        if self.n_dropped:
            lines.append(f"{self.n_dropped} row(s) with missing values were dropped.")
        if not self.converged:
            lines.append("Warning: the fit did not converge.")
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return (f"<TobitResults: {self.model.response} ~ {len(self.model.terms)} terms, "
                f"nobs={self.nobs}, llf={self.llf:.6f}>")
