"""What :func:`emkit.mclust` and friends return: the BIC/ICL table and the
chosen model, printed in mclust's layouts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _rformat as rf
from . import covariance_models as cm
from ._validation import check_data
from .gaussian import prepare
from .mclust_fit import MclustEM, pick_order, single_component_name

_TITLE = "Gaussian finite mixture model fitted by EM algorithm"


class MclustBIC:
    """A table of BIC (or ICL) values, one row per G and one column per model,
    as mclust's ``mclustBIC``/``mclustICL``.

    Attributes
    ----------
    table : DataFrame
        Index ``G``, columns model codes; NaN where the fit failed.
    reasons : dict
        ``(G, model) -> why`` for each NaN cell (a singular covariance, a
        vanishing component).
    criterion : {"BIC", "ICL"}
    n, d : int
        Rows and columns of the data.
    loglik, iterations : DataFrame
        Each cell's log-likelihood and number of EM iterations (NaN / 0 where
        it failed).
    """

    def __init__(self, table: pd.DataFrame, reasons: dict, criterion: str, n: int, d: int,
                 loglik: pd.DataFrame | None = None, iterations: pd.DataFrame | None = None):
        self.table = table
        self.reasons = reasons
        self.criterion = criterion
        self.n, self.d = n, d
        self.loglik = loglik
        self.iterations = iterations

    @classmethod
    def from_cells(cls, cells: dict, problem, criterion: str) -> "MclustBIC":
        def grid(attr):
            out = pd.DataFrame(np.nan, index=pd.Index(problem.Gs, name="G"),
                               columns=list(problem.models))
            for (g, m), cell in cells.items():
                out.at[g, m] = getattr(cell, attr)
            return out

        reasons = {key: cell.reason for key, cell in cells.items() if cell.reason}
        return cls(grid(criterion.lower()), reasons, criterion, problem.n, problem.d,
                   grid("loglik"), grid("n_iter").astype(int))

    def top(self, k: int = 3) -> pd.Series:
        """The k best cells by mclust's pickBIC rule, as a Series named "MODEL,G"."""
        picked = [(g, m) for g, m in pick_order(self.table)
                  if np.isfinite(self.table.at[g, m])][:k]
        return pd.Series([self.table.at[g, m] for g, m in picked],
                         index=[f"{m},{g}" for g, m in picked], name=self.criterion)

    def best(self):
        """(G, model) of the best cell, or None when every cell failed."""
        top = self.top(1)
        if top.empty:
            return None
        m, g = top.index[0].split(",")
        return int(g), m

    def summary(self, k: int = 3) -> str:
        """mclust's ``summary(mclustBIC(...))``: the best k values and their
        differences from the best."""
        top = self.top(k)
        c = self.criterion
        if top.empty:
            return f"Best {c} values: none (every model failed; see .reasons)"
        body = rf.matrix([c, f"{c} diff"], top.index,
                         [[v, v - top.iloc[0]] for v in top.to_numpy()])
        return f"Best {c} values:\n{body}"

    def plot(self, **kwargs):
        """BIC (or ICL) against G for each model (see :func:`emkit.mclust_plots.plot_bic`)."""
        from .mclust_plots import plot_bic

        return plot_bic(self.table, **kwargs)

    def __str__(self) -> str:
        name = ("Bayesian Information Criterion (BIC)" if self.criterion == "BIC"
                else "Integrated Complete-data Likelihood (ICL) criterion")
        body = rf.matrix(self.table.index, self.table.columns,
                         [self.table[m].to_numpy() for m in self.table.columns])
        top = self.top(3)
        lines = [f"{name}: ", body, ""]
        if top.empty:
            lines.append("None of the models could be fitted.")
        else:
            lines += [f"Top 3 models based on the {self.criterion} criterion: ",
                      rf.named_vector(top.index, top.to_numpy())]
        if self.reasons:
            lines += ["", f"{len(self.reasons)} fit(s) failed (NA); .reasons says why"]
        return "\n".join(lines)

    __repr__ = __str__


@dataclass
class MclustParameters:
    """Fitted parameters in mclust's terms.

    Attributes
    ----------
    pro : Series (G,)
        Mixing proportions, indexed 1..G.
    mean : DataFrame (d, G)
        Component means, one column per component (mclust's layout).
    variance : covariance_models.Variance
        ``sigma`` (G, d, d) and mclust's decomposition ``scale``, ``shape``,
        ``orientation`` (Sigma_k = scale_k * D_k diag(shape_k) D_k').
    """

    pro: pd.Series
    mean: pd.DataFrame
    variance: object


@dataclass
class Prediction:
    """``classification`` (Series of 1..G) and ``z`` (DataFrame of probabilities)."""

    classification: pd.Series
    z: pd.DataFrame


class MclustResult:
    """The model chosen by BIC, as mclust's ``Mclust`` object.

    Attributes
    ----------
    model_name : str
        mclust's code (XII/XXI/XXX or X when G = 1, as mclust).
    G, n, d, df : int
    loglik, bic, icl : float
        BIC = 2 loglik - df log n and ICL = BIC + 2 sum log z_map (larger is better).
    BIC : MclustBIC
        The whole sweep; ``bic_table`` is its DataFrame.
    parameters : MclustParameters
    z : DataFrame (n, G)
        Conditional probabilities, indexed like the data.
    classification : Series
        MAP class 1..G of each row.
    uncertainty : Series
        1 - max z of each row.
    n_iter : int
        EM iterations of the chosen fit.
    data : DataFrame
        A copy of the data that was fitted.
    """

    def __init__(self, problem, bic: MclustBIC, cell, params, z: np.ndarray):
        self._params = params
        self._n_threads = problem.n_threads
        self.data = problem.frame.copy()
        self.n, self.d = problem.n, problem.d
        self.G = cell.G
        self.model_name = single_component_name(cell.model_name) if cell.G == 1 \
            else cell.model_name
        self.BIC = bic
        self.loglik, self.df, self.bic, self.icl = cell.loglik, cell.df, cell.bic, cell.icl
        self.n_iter = cell.n_iter
        components = pd.RangeIndex(1, self.G + 1, name="component")
        columns = list(problem.frame.columns)
        self.parameters = MclustParameters(
            pd.Series(params.weights, index=components, name="pro"),
            pd.DataFrame(params.means.T, index=columns, columns=components),
            params.variance,
        )
        index = problem.frame.index
        self.z = pd.DataFrame(z, index=index, columns=components)
        self.classification = pd.Series(z.argmax(axis=1) + 1, index=index,
                                        name="classification")
        self.uncertainty = pd.Series(1.0 - z.max(axis=1), index=index, name="uncertainty")

    @property
    def bic_table(self) -> pd.DataFrame:
        """The BIC of every (G, model) cell: index G, columns models, NaN for failures."""
        return self.BIC.table

    def predict(self, newdata=None) -> Prediction:
        """Classification and conditional probabilities of new rows (mclust's
        ``predict.Mclust``).

        ``newdata``: a DataFrame with the fitted columns (others are ignored),
        an array (rows x fitted columns), one row, or for one-column fits a
        Series or a vector; by default the fitted data.
        """
        if newdata is None:
            newdata = self.data
        columns = list(self.data.columns)
        if isinstance(newdata, pd.Series) and self.d == 1:
            frame = newdata.to_frame(columns[0])
        elif isinstance(newdata, pd.Series):
            frame = newdata.to_frame().T  # one row, indexed by column names
        elif isinstance(newdata, pd.DataFrame):
            frame = newdata
        else:
            arr = np.asarray(newdata)
            arr = arr.reshape(-1, 1) if self.d == 1 and arr.ndim <= 1 else np.atleast_2d(arr)
            if arr.ndim != 2 or arr.shape[1] != self.d:
                raise ValueError(f"newdata must have the {self.d} fitted columns {columns}; "
                                 f"got shape {np.shape(newdata)}")
            frame = pd.DataFrame(arr, columns=columns)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"newdata lacks the fitted column(s) {missing}")
        X, _ = check_data(frame.loc[:, columns], "newdata")
        if X.shape[1] != self.d:
            raise ValueError(f"newdata has duplicate columns among {columns}")
        model = MclustEM(self._params.variance.model_name, self.G, self._n_threads)
        z = np.empty((X.shape[0], self.G))
        model.estep(prepare(X), self._params, stats=False, resp=z)
        components = pd.RangeIndex(1, self.G + 1, name="component")
        return Prediction(pd.Series(z.argmax(axis=1) + 1, index=frame.index,
                                    name="classification"),
                          pd.DataFrame(z, index=frame.index, columns=components))

    def summary(self, parameters: bool = False, classification: bool = True) -> "MclustSummary":
        """mclust's ``summary(Mclust(...), parameters=)``; print it."""
        return MclustSummary(self, parameters, classification)

    def plot(self, what: str = "BIC", **kwargs):
        """mclust's plots: "BIC", "classification", "uncertainty" or "density"."""
        from . import mclust_plots as mp

        sigma = self.parameters.variance.sigma
        means = self._params.means
        if what == "BIC":
            return mp.plot_bic(self.bic_table, **kwargs)
        if what == "classification":
            return mp.plot_classification(self.data, self.classification.to_numpy(), means,
                                          sigma, **kwargs)
        if what == "uncertainty":
            return mp.plot_uncertainty(self.data, self.classification.to_numpy(),
                                       self.uncertainty.to_numpy(), means, sigma, **kwargs)
        if what == "density":
            return mp.plot_density(self.data, self._params.weights, means, sigma, **kwargs)
        raise ValueError(f"what must be 'BIC', 'classification', 'uncertainty' or "
                         f"'density', got {what!r}")

    def __repr__(self) -> str:
        return (f"<MclustResult ({self.model_name},{self.G}): loglik {self.loglik:.3f}, "
                f"BIC {self.bic:.3f}; .summary() for more>")


class MclustSummary:
    """The text of mclust's ``summary.Mclust``."""

    def __init__(self, result: MclustResult, parameters: bool, classification: bool):
        self.result, self.parameters, self.classification = result, parameters, classification

    def __str__(self) -> str:
        r = self.result
        rule = "-" * len(_TITLE)
        plural = " components" if r.G > 1 else " component"
        out = [rf.wrap(rule), rf.wrap(_TITLE), rf.wrap(rule), "",
               rf.wrap(f"Mclust {r.model_name} ({cm.DESCRIPTIONS[r.model_name]}) model with "
                       f"{r.G}{plural}:"), "",
               rf.one_row_frame(["log-likelihood", "n", "df", "BIC", "ICL"],
                                [r.loglik, int(r.n), int(r.df), r.bic, r.icl])]
        if self.classification:
            counts = np.bincount(r.classification.to_numpy(), minlength=r.G + 1)[1:]
            out += ["", "Clustering table:",
                    rf.named_vector(range(1, r.G + 1), [int(c) for c in counts])]
        if self.parameters:
            p = r.parameters
            out += ["", "Mixing probabilities:", rf.named_vector(p.pro.index, p.pro.to_numpy()),
                    "", "Means:"]
            sigma = p.variance.sigma
            if r.d == 1:
                out += [_univariate(p.pro.index, p.mean.to_numpy()[0]), "", "Variances:",
                        _univariate(p.pro.index, sigma[:, 0, 0])]
            else:
                out.append(rf.matrix(p.mean.index, [f"[,{g}]" for g in p.mean.columns],
                                     [p.mean[g].to_numpy() for g in p.mean.columns]))
                out += ["", "Variances:"]
                for g in range(r.G):
                    out.append(f"[,,{g + 1}]")
                    out.append(rf.matrix(p.mean.index, p.mean.index, list(sigma[g].T)))
        return "\n".join(out)

    __repr__ = __str__


def _univariate(names, values) -> str:
    """A univariate fit's means or variances: named by component, except that
    mclust's one-component fit (X) returns unnamed numbers."""
    if len(values) > 1:
        return rf.named_vector(names, values)
    return "[1] " + rf.format_numbers(values)[0]
