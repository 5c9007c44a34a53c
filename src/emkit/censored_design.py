"""From a formula, a DataFrame and censoring limits to the arrays the Tobit
kernel reads: the design X, each row's observation interval [lo, hi] and
truncation window, and the case weights.  Nothing here modifies the caller's
data."""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from .formula_design import (case_weights, check_fitted_rows, check_frame, design_arrays,
                             numeric_column, parse_formula)

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


def limit_values(spec, name: str, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Per-row values of a limit (a number or a column name) at row positions ``rows``."""
    if isinstance(spec, str):
        return numeric_column(frame, spec, f"the limit {name}", rows)
    return np.full(len(rows), spec, dtype=np.float64)


def build_design(formula: str, data: pd.DataFrame, *, left, right, lower, upper,
                 truncation, weights, missing: str, eval_env) -> CensoredDesign:
    """Validate everything and build the kernel's arrays (see :func:`emkit.tobit`)."""
    check_frame(formula, data, missing)
    desc = parse_formula(formula)
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
    w = case_weights(weights, data)
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
    arrays = design_arrays(formula, desc, used, missing, eval_env)
    X, design_info = arrays.X, arrays.design_info
    rows = candidates[arrays.rows]
    y = None
    if not interval:
        if arrays.Y.shape[1] != 1:
            raise TypeError(f"the response must be one numeric column; patsy made "
                            f"{arrays.Y.shape[1]} columns from it ({arrays.response_names}), "
                            "so it is not numeric")
        y = arrays.Y[:, 0]
    response = f"[{lower}, {upper}]" if interval else desc.lhs_termlist[0].name()
    n_dropped = len(data) - len(rows)
    w = w[rows]
    check_fitted_rows(len(rows), design_info, w, "y ~ 1")
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
