"""From a patsy formula and a DataFrame to float64 arrays, for every
formula front end (Tobit, mixtures of regressions).

Rows are matched by position, so duplicate or shuffled index labels are
fine; rows with missing values are dropped (and reported) or refused.
Formulas whose terms are bare numeric columns are built straight from the
data, which is many times faster than patsy on large data.  Nothing here
modifies the caller's data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

__all__ = ["FormulaArrays", "case_weights", "check_fitted_rows", "check_frame", "design_arrays",
           "newdata_design",
           "numeric_column", "parse_formula", "patsy_call"]


def check_frame(formula, data, missing: str) -> None:
    """The checks every formula front end starts with."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x1 + x2', got {formula!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if missing not in ("drop", "raise"):
        raise ValueError(f"missing must be 'drop' or 'raise', got {missing!r}")
    if len(data) == 0:
        raise ValueError("data has no rows")


def parse_formula(formula: str) -> patsy.ModelDesc:
    try:
        return patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as err:
        raise ValueError(f"cannot parse the formula {formula!r}: {err}") from None


def numeric_column(frame: pd.DataFrame, column: str, what: str, rows: np.ndarray) -> np.ndarray:
    """frame[column] at row positions ``rows``, as float64 with NaN for missing."""
    if column not in frame.columns:
        raise ValueError(f"{what}={column!r} names no column of the data")
    col = frame[column]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise TypeError(f"the {what} column {column!r} is not numeric")
    return col.to_numpy(dtype=np.float64, na_value=np.nan)[rows]


def case_weights(weights, data: pd.DataFrame, name: str = "weights") -> np.ndarray:
    """Per-row values for every row of data from a column name, a Series
    sharing data's index, or an array (ones when ``weights`` is None)."""
    if weights is None:
        return np.ones(len(data))
    if isinstance(weights, str):
        return numeric_column(data, weights, name, np.arange(len(data)))
    if isinstance(weights, pd.Series) and not weights.index.equals(data.index):
        raise ValueError(f"{name} is a Series whose index differs from data's; align it "
                         f"({name}.reindex(data.index)) or pass {name}.to_numpy()")
    warr = np.asarray(weights)
    if warr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {warr.dtype}")
    if warr.shape != (len(data),):
        raise ValueError(f"{name} must have one entry per row of data ({len(data)}), "
                         f"got shape {warr.shape}")
    return warr.astype(np.float64)


_NAME_ERROR = re.compile(r"NameError: name '([^']+)' is not defined")


def patsy_call(fn, *args, data_columns=None, **kwargs):
    """Run a patsy builder, turning its errors into ValueErrors that name the culprit."""
    try:
        return fn(*args, **kwargs)
    except patsy.PatsyError as err:
        text = str(err)
        missing = _NAME_ERROR.search(text)
        if missing:
            cols = ", ".join(map(str, list(data_columns)[:20])) if data_columns is not None else ""
            raise ValueError(f"the formula names {missing.group(1)!r}, which is not a column "
                             f"of data (columns: {cols})") from None
        if "missing values" in text or "NA" in text.split("\n")[0]:
            raise ValueError(f"missing values in the model's columns (missing='raise'): "
                             f"{text.splitlines()[0]}") from None
        raise ValueError(f"cannot build the design from the formula: {text}") from None


def _patsy_ready(data: pd.DataFrame) -> pd.DataFrame:
    """pandas' nullable numbers (Int64, Float64) as float64: patsy cannot test pd.NA."""
    nullable = {c: "float64" for c, t in data.dtypes.items()
                if isinstance(t, pd.api.extensions.ExtensionDtype)
                and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)}
    return data.astype(nullable) if nullable else data


def _plain_columns(desc, data: pd.DataFrame):
    """The formula's columns when every term is the intercept or a bare
    numeric column (then the design is those columns as they are), else None."""
    columns = []
    for term in desc.lhs_termlist + desc.rhs_termlist:
        if not term.factors:
            continue
        if len(term.factors) != 1:
            return None
        code = term.factors[0].code
        if code not in data.columns or code in columns:
            return None
        dtype = data[code].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype) \
                or pd.api.types.is_complex_dtype(dtype):
            return None
        columns.append(code)
    return columns


@dataclass
class FormulaArrays:
    """A formula evaluated on some rows of a DataFrame."""

    Y: np.ndarray | None          # (n, r) response columns, None for a one-sided formula
    response_names: list          # names of Y's columns
    X: np.ndarray                 # (n, p) design
    rows: np.ndarray              # positions (in the data given) of the rows kept
    design_info: patsy.DesignInfo


def _plain_arrays(formula, desc, data, plain, missing, eval_env):
    """FormulaArrays built straight from the data, or None when patsy's names
    for the design would differ from the bare columns'."""
    n_lhs = sum(1 for t in desc.lhs_termlist if t.factors)
    head = _patsy_ready(data.iloc[:50])
    built = patsy_call(patsy.dmatrices if n_lhs else patsy.dmatrix, formula, head,
                       NA_action="drop", return_type="matrix", eval_env=eval_env,
                       data_columns=data.columns)
    info = (built[1] if n_lhs else built).design_info
    rhs = plain[n_lhs:]
    names = (["Intercept"] if "Intercept" in info.column_names else []) + rhs
    if list(info.column_names) != names:
        return None
    values = [data[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in plain]
    bad = np.zeros(len(data), dtype=bool)
    for v in values:
        bad |= np.isnan(v)
    if bad.any() and missing == "raise":
        culprits = [c for c, v in zip(plain, values) if np.isnan(v).any()]
        raise ValueError(f"missing values in {culprits} (missing='raise')")
    keep = ~bad
    pick = (lambda v: v[keep]) if bad.any() else (lambda v: v)
    X = np.empty((int(keep.sum()), len(names)))
    j0 = 0
    if names and names[0] == "Intercept":
        X[:, 0] = 1.0
        j0 = 1
    for j, v in enumerate(values[n_lhs:]):
        X[:, j0 + j] = pick(v)
    Y = np.column_stack([pick(v) for v in values[:n_lhs]]) if n_lhs else None
    return FormulaArrays(Y, plain[:n_lhs], X, np.flatnonzero(keep), info)


def design_arrays(formula: str, desc, data: pd.DataFrame, missing: str,
                  eval_env) -> FormulaArrays:
    """Evaluate ``formula`` on ``data`` (rows with missing values dropped,
    or an error when ``missing == "raise"``).

    A response written ``a + b`` gives two columns of Y.  Formulas of bare
    numeric columns are built directly from the data; patsy still supplies
    the DesignInfo (from a few rows), and the column names are checked to agree.
    """
    plain = _plain_columns(desc, data)
    if plain is not None and len(data) > 1000:
        arrays = _plain_arrays(formula, desc, data, plain, missing, eval_env)
        if arrays is not None:
            return arrays
    na_action = "drop" if missing == "drop" else "raise"
    data = _patsy_ready(data.reset_index(drop=True))  # kept rows come back by position
    if desc.lhs_termlist:
        yf, Xf = patsy_call(patsy.dmatrices, formula, data, NA_action=na_action,
                            return_type="dataframe", eval_env=eval_env,
                            data_columns=data.columns)
        Y, names = yf.to_numpy(dtype=np.float64), [str(c) for c in yf.columns]
    else:
        Xf = patsy_call(patsy.dmatrix, formula, data, NA_action=na_action,
                        return_type="dataframe", eval_env=eval_env, data_columns=data.columns)
        Y, names = None, []
    return FormulaArrays(Y, names, Xf.to_numpy(dtype=np.float64), Xf.index.to_numpy(),
                         Xf.design_info)


def newdata_design(design_info: patsy.DesignInfo, newdata, *extra):
    """(X, row positions, frame) for the rows of newdata where the design
    has no missing values; ``frame`` is newdata indexed by position.
    ``extra`` design infos (e.g. a concomitant model's) are built on the
    same rows, and X is then a list of arrays."""
    if not isinstance(newdata, pd.DataFrame):
        raise TypeError("newdata must be a pandas DataFrame with the formula's columns")
    frame = newdata.reset_index(drop=True)   # rows by position
    try:
        built = patsy.build_design_matrices([design_info, *extra], frame, NA_action="drop",
                                            return_type="dataframe")
    except patsy.PatsyError as err:
        raise ValueError(f"cannot build the design for newdata: {err}") from None
    rows = built[0].index.to_numpy()
    arrays = [b.to_numpy(dtype=np.float64) for b in built]
    return (arrays if extra else arrays[0]), rows, frame


def check_fitted_rows(n_rows: int, design_info: patsy.DesignInfo, w: np.ndarray,
                      constant_only: str) -> None:
    """What every formula fit needs of its rows: some left after dropping
    missing values, at least one regressor, and usable case weights.
    ``constant_only`` is the formula to suggest for a model without regressors."""
    if n_rows == 0:
        raise ValueError("no rows left after dropping those with missing values")
    if not design_info.column_names:
        raise ValueError("the formula has no regressors (not even an intercept); "
                         f"write {constant_only!r} for a model with a constant only")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("the weights sum to zero: no row carries any weight")
