"""Input checks that name the culprit.  Nothing here modifies the caller's data."""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


def check_data(X, name: str = "X", min_rows: int = 1,
               missing: str = "drop or impute them first") -> tuple[np.ndarray, list | None]:
    """Return (float64 C-contiguous 2-D array, column names or None).

    Raises TypeError for non-numeric data and ValueError for wrong shapes,
    empty input and NaN/inf, naming the offending columns; ``missing`` says
    what to do about NaN/inf.
    """
    columns = None
    if isinstance(X, pd.Series):
        raise ValueError(f"{name} must be 2-D (rows x columns); got a Series — "
                         f"use {name}.to_frame() for a single column")
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        bad = [str(c) for c, t in X.dtypes.items()
               if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
               or pd.api.types.is_complex_dtype(t)]
        if bad:
            raise TypeError(f"{name} has non-numeric column(s) {bad}; encode or drop them")
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric; got an array of dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 2:
        hint = " — reshape(-1, 1) for a single feature" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (rows x columns); got {arr.ndim}-D "
                         f"with shape {arr.shape}{hint}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} has {arr.shape[0]} row(s); at least {min_rows} needed")
    finite = np.isfinite(arr)
    if not finite.all():
        cols = np.flatnonzero(~finite.all(axis=0))
        labels = [columns[c] if columns else f"column {c}" for c in cols]
        counts = (~finite).sum(axis=0)[cols]
        detail = ", ".join(f"{lab} ({cnt} value(s))" for lab, cnt in zip(labels, counts))
        raise ValueError(f"{name} contains NaN or infinite values in {detail}; {missing}")
    return np.ascontiguousarray(arr), columns


def check_weights(weights, n: int, name: str = "sample_weight") -> np.ndarray | None:
    """Case weights: finite, non-negative, one per row, not all zero."""
    if weights is None:
        return None
    w = np.asarray(weights)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {w.dtype}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per row; got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError(f"{name} sums to zero: no row carries any weight")
    return w


def check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value, name: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return float(value)
