"""From a formula, a DataFrame and censoring limits to the arrays the Tobit
kernel reads: the design X, each row's observation interval [lo, hi] and
truncation window, and the case weights.  Nothing here modifies the caller's
data."""
from __future__ import annotations

import numbers
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

__all__ = ["AER_LEFT", "CensoredDesign", "build_design", "limit_values"]


class _AERLeft(float):
    """tobit's default ``left``: 0, AER's default, except for truncated samples."""

    def __repr__(self):
        return "0"


AER_LEFT = _AERLeft(0.0)


@dataclass
class CensoredDesign:
    """The fitted rows in kernel form, with what is needed to rebuild them."""

    X: np.ndarray            # (n, p) C-contiguous design
    lo: np.ndarray           # (n,) lower end of each row's interval (-inf: none)
    hi: np.ndarray           # (n,) upper end (+inf: none); lo == hi: observed exactly
    tlo: np.ndarray | None   # (n,) truncation window, None when there is none
    thi: np.ndarray | None
    w: np.ndarray            # (n,) case weights (ones when none were given)
    weighted: bool
    terms: list              # design column names
    response: str            # the response's name (or "lower, upper")
    index: pd.Index          # the rows of data that were fitted
    n_dropped: int           # rows dropped for missing values
    design_info: patsy.DesignInfo
    limits: dict             # how each limit was given: number or column name
    kind: np.ndarray         # per row: 0 left-censored, 1 exact, 2 right-censored, 3 interval
    limit_arrays: dict       # per-row values of each limit in ``limits``


def _limit_spec(value, name: str, default_inf: float, data: pd.DataFrame):
    """A limit as given: a float (+-inf for none) or a column name."""
    if value is None:
        return default_inf
    if isinstance(value, str):
        if value not in data.columns:
            raise ValueError(f"{name}={value!r} names no column of data")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or np.isnan(value):
        raise TypeError(f"{name} must be a number, None/inf for no limit, or a column name; "
                        f"got {value!r}")
    return float(value)


def numeric_column(frame: pd.DataFrame, column: str, what: str, rows: np.ndarray) -> np.ndarray:
    """frame[column] at row positions ``rows``, as float64 with NaN for missing."""
    if column not in frame.columns:
        raise ValueError(f"{what}={column!r} names no column of the data")
    col = frame[column]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise TypeError(f"the {what} column {column!r} is not numeric")
    return col.to_numpy(dtype=np.float64, na_value=np.nan)[rows]


def limit_values(spec, name: str, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Per-row values of a limit (a number or a column name) at row positions ``rows``."""
    if isinstance(spec, str):
        return numeric_column(frame, spec, f"the limit {name}", rows)
    return np.full(len(rows), spec, dtype=np.float64)


_NAME_ERROR = re.compile(r"NameError: name '([^']+)' is not defined")


def _patsy_call(fn, *args, data_columns=None, **kwargs):
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


def _response_name(desc) -> str:
    return desc.lhs_termlist[0].name() if desc.lhs_termlist else ""


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


def _design_arrays(formula, desc, data, missing, eval_env):
    """(y or None, X, positions of the rows kept, patsy DesignInfo).

    Formulas of bare numeric columns are built directly from the data, which
    is many times faster than patsy on large data; patsy still supplies the
    DesignInfo (from a few rows), and the column names are checked to agree.
    """
    has_y = bool(desc.lhs_termlist)
    plain = _plain_columns(desc, data)
    if plain is not None and len(data) > 1000:
        head = _patsy_ready(data.iloc[:50])
        built = _patsy_call(patsy.dmatrices if has_y else patsy.dmatrix, formula, head,
                            NA_action="drop", return_type="matrix", eval_env=eval_env,
                            data_columns=data.columns)
        info = (built[1] if has_y else built).design_info
        rhs = plain[1:] if has_y else plain
        names = (["Intercept"] if "Intercept" in info.column_names else []) + rhs
        if list(info.column_names) == names:
            values = [data[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in plain]
            bad = np.zeros(len(data), dtype=bool)
            for v in values:
                bad |= np.isnan(v)
            if bad.any() and missing == "raise":
                culprits = [c for c, v in zip(plain, values) if np.isnan(v).any()]
                raise ValueError(f"missing values in {culprits} (missing='raise')")
            keep = ~bad
            X = np.empty((int(keep.sum()), len(names)))
            j0 = 0
            if names and names[0] == "Intercept":
                X[:, 0] = 1.0
                j0 = 1
            xs = values[1:] if has_y else values
            for j, v in enumerate(xs):
                X[:, j0 + j] = v[keep] if bad.any() else v
            y = (values[0][keep] if bad.any() else values[0]) if has_y else None
            return y, X, np.flatnonzero(keep), info
    na_action = "drop" if missing == "drop" else "raise"
    data = _patsy_ready(data.reset_index(drop=True))  # kept rows come back by position
    if has_y:
        yf, Xf = _patsy_call(patsy.dmatrices, formula, data, NA_action=na_action,
                             return_type="dataframe", eval_env=eval_env,
                             data_columns=data.columns)
        y = _check_numeric_frame(yf, f"response {yf.columns[0]!r}" if yf.shape[1] == 1
                                 else "response")
    else:
        Xf = _patsy_call(patsy.dmatrix, formula, data, NA_action=na_action,
                         return_type="dataframe", eval_env=eval_env, data_columns=data.columns)
        y = None
    return y, Xf.to_numpy(dtype=np.float64), Xf.index.to_numpy(), Xf.design_info


def _weights(weights, data: pd.DataFrame) -> np.ndarray:
    """Case weights for every row of data (ones when none are given)."""
    if weights is None:
        return np.ones(len(data))
    if isinstance(weights, str):
        return numeric_column(data, weights, "weights", np.arange(len(data)))
    if isinstance(weights, pd.Series) and not weights.index.equals(data.index):
        raise ValueError("weights is a Series whose index differs from data's; align it "
                         "(weights.reindex(data.index)) or pass weights.to_numpy()")
    warr = np.asarray(weights)
    if warr.dtype.kind not in "biuf":
        raise TypeError(f"weights must be numeric; got dtype {warr.dtype}")
    if warr.shape != (len(data),):
        raise ValueError(f"weights must have one entry per row of data ({len(data)}), "
                         f"got shape {warr.shape}")
    return warr.astype(np.float64)


def _check_numeric_frame(frame: pd.DataFrame, what: str) -> np.ndarray:
    if frame.shape[1] != 1:
        raise TypeError(f"the {what} must be one numeric column; patsy made "
                        f"{frame.shape[1]} columns from it ({list(frame.columns)}), "
                        "so it is not numeric")
    return frame.iloc[:, 0].to_numpy(dtype=np.float64)


def build_design(formula: str, data: pd.DataFrame, *, left, right, lower, upper,
                 truncation, weights, missing: str, eval_env) -> CensoredDesign:
    """Validate everything and build the kernel's arrays (see :func:`emkit.tobit`)."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x1 + x2', got {formula!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if missing not in ("drop", "raise"):
        raise ValueError(f"missing must be 'drop' or 'raise', got {missing!r}")
    if len(data) == 0:
        raise ValueError("data has no rows")
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as err:
        raise ValueError(f"cannot parse the formula {formula!r}: {err}") from None
    interval = lower is not None or upper is not None
    if interval:
        if lower is None or upper is None:
            raise ValueError("interval-censored data need both lower= and upper=")
        if desc.lhs_termlist:
            raise ValueError("with lower=/upper= the formula has no response: write '~ x1 + x2'")
        open_right = right is None or (isinstance(right, numbers.Real) and np.isposinf(right))
        if not (left is AER_LEFT or left is None) or not open_right:
            raise ValueError("left=/right= do not apply to interval data given by lower=/upper=")
        limits = {"lower": _limit_spec(lower, "lower", -np.inf, data),
                  "upper": _limit_spec(upper, "upper", np.inf, data)}
    else:
        if not desc.lhs_termlist:
            raise ValueError("the formula has no response: write 'y ~ x1 + x2' "
                             "(or give lower=/upper= for interval data)")
        if left is AER_LEFT and truncation is not None:
            left = None   # AER's default censoring at 0 is not meant for truncated samples
        limits = {"left": _limit_spec(left, "left", -np.inf, data),
                  "right": _limit_spec(right, "right", np.inf, data)}
    if truncation is not None:
        if not isinstance(truncation, (tuple, list)) or len(truncation) != 2:
            raise TypeError("truncation must be a pair (lower, upper) of numbers, None or "
                            f"column names; got {truncation!r}")
        limits["truncation_lower"] = _limit_spec(truncation[0], "truncation[0]", -np.inf, data)
        limits["truncation_upper"] = _limit_spec(truncation[1], "truncation[1]", np.inf, data)

    # limits, truncation and weights may have missing values of their own;
    # those rows go before patsy sees the data (stateful transforms, factor levels)
    everywhere = np.arange(len(data))
    columns = {key: limit_values(spec, key, data, everywhere) for key, spec in limits.items()}
    w = _weights(weights, data)
    extra_na = np.isnan(w)
    for arr in columns.values():
        extra_na |= np.isnan(arr)
    candidates = everywhere
    if extra_na.any():
        culprits = [k for k, a in columns.items() if np.isnan(a).any()]
        if np.isnan(w).any():
            culprits.append("weights")
        if missing == "raise":
            raise ValueError(f"missing values in {', '.join(culprits)} (missing='raise')")
        if interval and any(k in ("lower", "upper") for k in culprits):
            warnings.warn(
                f"{int(extra_na.sum())} row(s) with NaN in lower/upper were dropped as missing. "
                "For an open end write -inf or inf (R's Surv(type='interval2') uses NA "
                "for that; here NaN means missing)", UserWarning, stacklevel=4)
        candidates = np.flatnonzero(~extra_na)
        if len(candidates) == 0:
            raise ValueError("no rows left after dropping those with missing values")
    used = data if len(candidates) == len(data) else data.iloc[candidates]
    y, X, kept, design_info = _design_arrays(formula, desc, used, missing, eval_env)
    rows = candidates[kept]
    response = f"[{lower}, {upper}]" if interval else _response_name(desc)
    n_dropped = len(data) - len(rows)
    if len(rows) == 0:
        raise ValueError("no rows left after dropping those with missing values")
    if not design_info.column_names:
        raise ValueError("the formula has no regressors (not even an intercept); "
                         "write 'y ~ 1' for a model with a constant only")
    w = w[rows]
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("the weights sum to zero: no row carries any weight")
    # rows of zero weight carry no information: they are not fitted (or counted)
    positive = w > 0
    if not positive.all():
        X, rows, w = X[positive], rows[positive], w[positive]
        y = y[positive] if y is not None else None
    columns = {k: a[rows] for k, a in columns.items()}
    index = data.index[rows]

    terms = list(design_info.column_names)
    Xa = np.ascontiguousarray(X)
    del X
    if not np.all(np.isfinite(Xa)):
        cols = [terms[c] for c in np.flatnonzero(~np.isfinite(Xa).all(axis=0))]
        raise ValueError(f"the design has infinite values in column(s) {cols}; "
                         "check the data and the formula's transformations")

    if interval:
        lo, hi = columns["lower"], columns["upper"]
        bad = lo > hi
        if bad.any():
            raise ValueError(f"lower > upper on {int(bad.sum())} row(s) (first: row "
                             f"{index[np.argmax(bad)]!r})")
        if np.any(np.isposinf(lo)) or np.any(np.isneginf(hi)):
            raise ValueError("lower must be < inf and upper > -inf on every row")
        open_both = np.isneginf(lo) & np.isposinf(hi)
        if open_both.any():
            raise ValueError(f"{int(open_both.sum())} row(s) have lower = -inf and upper = inf "
                             f"(first: row {index[np.argmax(open_both)]!r}): such a row says "
                             "nothing about the response; drop it")
    else:
        if not np.all(np.isfinite(y)):
            raise ValueError(f"the response {response!r} has infinite values")
        L, R = columns["left"], columns["right"]
        bad = L >= R
        if bad.any():
            raise ValueError(f"left >= right on {int(bad.sum())} row(s) (first: row "
                             f"{index[np.argmax(bad)]!r}, left={L[bad][0]}, right={R[bad][0]})")
        lo = np.where(y <= L, -np.inf, np.where(y >= R, R, y))
        hi = np.where(y >= R, np.inf, np.where(y <= L, L, y))
    kind = np.full(lo.shape, 3, dtype=np.int8)
    kind[lo == hi] = 1
    kind[np.isneginf(lo)] = 0
    kind[np.isposinf(hi)] = 2
    tlo = thi = None
    if truncation is not None:
        tlo, thi = columns["truncation_lower"], columns["truncation_upper"]
        if np.any(tlo >= thi):
            raise ValueError("the truncation window is empty (lower >= upper) on some row")
        inside = np.where(lo == hi, (lo >= tlo) & (lo <= thi), (hi > tlo) & (lo < thi))
        if not inside.all():
            raise ValueError(f"{int((~inside).sum())} row(s) lie outside the truncation window "
                             f"(first: row {index[np.argmin(inside)]!r}); truncated data can "
                             "only hold rows inside it")
        lo = np.maximum(lo, tlo)
        hi = np.minimum(hi, thi)
        if np.all(np.isinf(tlo) & np.isinf(thi)):
            tlo = thi = None
    return CensoredDesign(Xa, np.ascontiguousarray(lo), np.ascontiguousarray(hi),
                          None if tlo is None else np.ascontiguousarray(tlo),
                          None if thi is None else np.ascontiguousarray(thi),
                          np.ascontiguousarray(w), weights is not None, terms, response,
                          index, n_dropped, design_info, limits, kind, columns)
