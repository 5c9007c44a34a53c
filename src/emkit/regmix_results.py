"""Results of a mixture-of-regressions fit: estimates, standard errors,
information criteria, posteriors, predictions and flexmix-style summaries."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from .formula_design import case_weights, newdata_design
from .regmix_fit import RegmixEM, RegmixParams, StartRecord, log_softmax
from .regmix_information import observed_information, parameter_names

__all__ = ["FlexmixResults", "StepFlexmixResults"]

_POST_EPS = 1e-4   # flexmix's eps for "post > 0" in summaries


def _mean_response(family: str, eta: np.ndarray) -> np.ndarray:
    if family == "poisson":
        return np.exp(eta)
    if family == "binomial":
        return 1.0 / (1.0 + np.exp(-eta))
    return eta


def _coef_matrix(table: pd.DataFrame) -> str:
    """An R printCoefmat-like table with significance stars."""
    stars = pd.cut(table["Pr(>|z|)"], [-np.inf, 0.001, 0.01, 0.05, 0.1, np.inf],
                   labels=["***", "**", "*", ".", " "], right=False).astype(str)
    shown = pd.DataFrame({
        "Estimate": [f"{v:.6g}" for v in table["Estimate"]],
        "Std. Error": [f"{v:.6g}" for v in table["Std. Error"]],
        "z value": [f"{v:.3f}" for v in table["z value"]],
        "Pr(>|z|)": [f"{v:.4g}" if v >= 2.2e-16 else "< 2.2e-16" for v in table["Pr(>|z|)"]],
        "": stars.to_numpy(),
    }, index=table.index)
    return shown.to_string()


class FlexmixResults:
    """A fitted finite mixture of regressions (see :func:`emkit.flexmix`).

    Components are numbered by increasing mean linear predictor over the
    fitted rows (the component with the lowest average fitted value on the
    link scale is ``Comp.1``); the numbering does not depend on the start.

    Attributes
    ----------
    loglik, df, nobs, aic, bic, icl : float
        Log-likelihood at the maximum; flexmix's parameter count
        k (p + dispersion) + (k - 1) q; the number of rows (the sum of the
        weights when weighted); AIC, BIC and ICL, smaller is better, as in
        flexmix.
    n_iter, converged, loglik_trace : EM's record for the best start.
    starts : list of StartRecord, one per start.
    prior, weights : Series, the mixing proportions (averaged over units with
        a concomitant model); ``weights`` is scikit-learn's name for them.
    coef : DataFrame (terms x components); ``sigma`` : Series (Gaussian, ML).
    bse : DataFrame of standard errors, ``tvalues``, ``pvalues`` likewise.
    concomitant_coef, concomitant_bse : DataFrame (concomitant terms x components
        2..k), the multinomial logits relative to component 1.
    posterior : DataFrame (rows x components) indexed like the data.
    cluster : Series of the most probable component (1-based).
    small_components : list of components whose prior is below ``minprior``.
    """

    def __init__(self, model: RegmixEM, params: RegmixParams, em, starts: list[StartRecord],
                 formula: str, concomitant: str | None, minprior: float,
                 post: np.ndarray, unit_post: np.ndarray, loglik: float):
        d = model.d
        self.model, self.params, self.formula = model, params, formula
        self.concomitant_formula = concomitant
        self.family, self.k = d.family, model.K
        self.loglik = float(loglik)
        self.n_iter, self.converged = em.n_iter, em.converged
        self.loglik_trace = em.loglik_trace
        self.starts = starts
        self.minprior = minprior
        K, p, q = model.K, model.p, model.q
        self.df = K * (p + (1 if model.gaussian else 0)) + (K - 1) * q
        self.nobs = float(d.w.sum()) if d.weighted else d.n
        self.n_dropped = d.n_dropped
        self.aic = -2.0 * self.loglik + 2.0 * self.df
        self.bic = -2.0 * self.loglik + np.log(self.nobs) * self.df
        # ICL: the classification log-likelihood, every unit in its most probable component
        hard = unit_post[np.arange(len(unit_post)), unit_post.argmax(axis=1)]
        with np.errstate(divide="ignore"):
            self.icl = self.bic - 2.0 * float(d.unit_w @ np.log(hard))
        names = [f"Comp.{j + 1}" for j in range(K)]
        self._names = names
        self.posterior = pd.DataFrame(post, index=d.index, columns=names)
        self.cluster = pd.Series(post.argmax(axis=1) + 1, index=d.index, name="cluster")
        prior_u = np.exp(model.log_prior(params))
        prior_u = np.broadcast_to(prior_u, unit_post.shape)
        self.prior = pd.Series(d.unit_w @ prior_u / d.unit_w.sum(), index=names, name="prior")
        self.coef = pd.DataFrame(params.beta.T, index=d.terms, columns=names)
        self.sigma = pd.Series(params.sigma, index=names, name="sigma") if model.gaussian \
            else None
        self.small_components = [j + 1 for j in range(K) if self.prior.iloc[j] < minprior]

        info = observed_information(model, params, unit_post)
        self._param_names = parameter_names(model, d.terms, d.concomitant_terms)
        try:
            cov = np.linalg.inv(info)
            if not np.all(np.diag(cov) > 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            cov = np.full(info.shape, np.nan)
        self._cov = pd.DataFrame(cov, index=self._param_names, columns=self._param_names)
        se = np.sqrt(np.diag(cov))
        per = p + (1 if model.gaussian else 0)
        self.bse = pd.DataFrame(np.column_stack([se[k * per:k * per + p] for k in range(K)]),
                                index=d.terms, columns=names)
        self.tvalues = self.coef / self.bse
        self.pvalues = pd.DataFrame(2.0 * st.norm.sf(np.abs(self.tvalues.to_numpy())),
                                    index=d.terms, columns=names)
        self.sigma_bse = None
        if model.gaussian:
            log_se = np.array([se[k * per + p] for k in range(K)])
            self.sigma_bse = pd.Series(params.sigma * log_se, index=names, name="sigma_se")
        zt = d.concomitant_terms or ["alpha"]
        self.concomitant_coef = pd.DataFrame(params.gamma[:, 1:], index=zt, columns=names[1:])
        self.concomitant_bse = pd.DataFrame(
            se[K * per:].reshape(K - 1, q).T if K > 1 else np.empty((q, 0)),
            index=zt, columns=names[1:])

    @property
    def weights(self) -> pd.Series:
        """The mixing proportions, ``prior`` (scikit-learn's name)."""
        return self.prior

    # ---- tables ------------------------------------------------------------
    def cov_params(self) -> pd.DataFrame:
        """Covariance of the estimates (inverse observed information), in the
        parameterisation of flexmix's refit(): per component beta and
        log(sigma), then the prior logits of components 2..k."""
        return self._cov.copy()

    def coef_table(self, component: int) -> pd.DataFrame:
        """Estimate, Std. Error, z value and Pr(>|z|) of one component (1-based)."""
        if component not in range(1, self.k + 1):
            raise ValueError(f"component must be 1..{self.k}, got {component!r}")
        c = self._names[component - 1]
        return pd.DataFrame({"Estimate": self.coef[c], "Std. Error": self.bse[c],
                             "z value": self.tvalues[c], "Pr(>|z|)": self.pvalues[c]})

    def concomitant_table(self) -> pd.DataFrame:
        """The prior logits (relative to Comp.1) with SEs, one row per (component, term)."""
        rows = []
        for c in self.concomitant_coef.columns:
            for t in self.concomitant_coef.index:
                b, s = self.concomitant_coef.loc[t, c], self.concomitant_bse.loc[t, c]
                rows.append((f"{c}:{t}", b, s, b / s, 2.0 * st.norm.sf(abs(b / s))))
        return pd.DataFrame(rows, columns=["term", "Estimate", "Std. Error", "z value",
                                           "Pr(>|z|)"]).set_index("term")

    def component_sizes(self) -> pd.DataFrame:
        """flexmix's table: prior, size (rows assigned), post>0 (rows with
        posterior above 1e-4) and their ratio."""
        sizes = self.cluster.value_counts().reindex(range(1, self.k + 1), fill_value=0)
        post_pos = (self.posterior.to_numpy() > _POST_EPS).sum(axis=0)
        return pd.DataFrame({"prior": self.prior.to_numpy(), "size": sizes.to_numpy(),
                             "post>0": post_pos,
                             "ratio": sizes.to_numpy() / np.maximum(post_pos, 1)},
                            index=self._names)

    def summary(self) -> str:
        """flexmix's summary() and refit() tables in one: sizes, fit
        statistics, and each component's coefficients with standard errors."""
        d = self.model.d
        lines = [f"Mixture of {self.family} regressions: {self.formula}"]
        if self.concomitant_formula:
            lines.append(f"Concomitant model: multinomial logit {self.concomitant_formula}")
        if d.group_codes is not None:
            lines.append(f"Grouped: {d.n_units} groups, each wholly in one component")
        ok = sum(r.error is None for r in self.starts)
        lines.append(f"n = {d.n} rows"
                     + (f" ({self.n_dropped} dropped for missing values)" if self.n_dropped
                        else "")
                     + f", k = {self.k}; EM from {len(self.starts)} starts ({ok} ran to the end), "
                     f"best: {self.n_iter} iterations, "
                     + ("converged" if self.converged else "NOT converged"))
        lines += ["", self.component_sizes().to_string(
            formatters={"prior": "{:.3f}".format, "ratio": "{:.3f}".format}), ""]
        lines.append(f"'log Lik.' {self.loglik:.7g} (df={self.df})")
        lines.append(f"AIC: {self.aic:.7g}   BIC: {self.bic:.7g}   ICL: {self.icl:.7g}")
        for j, c in enumerate(self._names):
            lines += ["", f"${c}"]
            table = self.coef_table(j + 1)
            lines.append(_coef_matrix(table))
            if self.sigma is not None:
                lines.append(f"sigma: {self.sigma[c]:.6g} (std. error {self.sigma_bse[c]:.3g})")
        if self.k > 1:
            lines += ["", "Prior logits relative to Comp.1"
                      + (" (concomitant model)" if self.concomitant_formula else "")]
            lines.append(_coef_matrix(self.concomitant_table()))
        lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1",
                  "Standard errors: observed information at the maximum (Louis' identity)."]
        if self.sigma is not None:
            lines.append("sigma is the maximum-likelihood estimate; flexmix reports "
                         "sigma * sqrt(n / (n - p)) and so stops short of the maximum.")
        if self.small_components:
            lines.append(f"Warning: component(s) {self.small_components} have prior below "
                         f"minprior = {self.minprior}; flexmix would have dropped them.")
        return "\n".join(lines)

    def __repr__(self):
        return (f"<FlexmixResults {self.family}, k={self.k}: loglik {self.loglik:.6g}, "
                f"df {self.df}, BIC {self.bic:.6g}>")

    # ---- prediction --------------------------------------------------------
    def predict(self, newdata=None, *, offset=None, aggregate: bool = False):
        """Each component's mean response (flexmix's predict), or with
        ``aggregate=True`` their prior-weighted average.

        Parameters
        ----------
        newdata : DataFrame, optional
            Rows to predict for (default: the fitted rows).  Rows with missing
            values give NaN.  With a concomitant model and ``aggregate=True``
            it must hold the concomitant variables too.
        offset : column name or array, optional
            The offset for newdata's rows (zero when not given).
        aggregate : bool
            Average the components with the (per-row, under a concomitant
            model) mixing proportions.

        Returns
        -------
        DataFrame (rows x components), or a Series when ``aggregate``.
        """
        d = self.model.d
        beta = self.params.beta
        if newdata is None:
            X, rows, index = d.X, np.arange(d.n), d.index
            off = d.offset
            Z = None if d.Z is None else (d.Z[d.group_codes] if d.group_codes is not None
                                          else d.Z)
            n_out = d.n
        else:
            extra = [d.concomitant_info] if (aggregate and d.Z is not None) else []
            built, rows, frame = newdata_design(d.design_info, newdata, *extra)
            X, Z = (built[0], built[1]) if extra else (built, None)
            index, n_out = newdata.index, len(newdata)
            off = None
            if offset is not None:
                off = case_weights(offset, frame, "offset")[rows]
        eta = X @ beta.T
        if off is not None:
            eta = eta + off[:, None]
        mu = _mean_response(self.family, eta)
        if aggregate:
            if d.Z is None:
                pi = np.exp(log_softmax(self.params.gamma[:1]))
            else:
                pi = np.exp(log_softmax(Z @ self.params.gamma))
            values = (mu * pi).sum(axis=1)
            out = np.full(n_out, np.nan)
            out[rows] = values
            return pd.Series(out, index=index, name="mean")
        out = np.full((n_out, self.k), np.nan)
        out[rows] = mu
        return pd.DataFrame(out, index=index, columns=self._names)


class StepFlexmixResults:
    """Fits over a range of k (see :func:`emkit.stepflexmix`).

    Attributes
    ----------
    table : DataFrame, one row per k: loglik, df, AIC, BIC, ICL, iterations,
        converged, failed starts and, where no start succeeded, the reason
        (those rows have NaN criteria).
    models : dict k -> FlexmixResults.
    """

    def __init__(self, table: pd.DataFrame, models: dict):
        self.table, self.models = table, models

    def best(self, criterion: str = "bic") -> FlexmixResults:
        """The model with the smallest AIC, BIC or ICL."""
        column = {"aic": "AIC", "bic": "BIC", "icl": "ICL"}.get(str(criterion).lower())
        if column is None:
            raise ValueError(f"criterion must be 'aic', 'bic' or 'icl', got {criterion!r}")
        values = self.table[column]
        if values.isna().all():
            raise ValueError("no k was fitted successfully")
        return self.models[int(self.table.loc[values.idxmin(), "k"])]

    def __repr__(self):
        shown = self.table.drop(columns=[c for c in ("reason",)
                                         if self.table[c].isna().all()])
        text = shown.to_string(index=False)
        try:
            text += f"\nBest by BIC: k = {self.best('bic').k}"
        except ValueError:
            text += "\nNo k was fitted successfully"
        return text
