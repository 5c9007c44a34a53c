"""From formulas and a DataFrame to the arrays the mixture-of-regressions
kernel reads: design, response (and binomial trials), offset, case weights,
the concomitant design and the grouping.  Nothing here modifies the
caller's data."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy.special import gammaln

from .formula_design import (case_weights, check_fitted_rows, check_frame, design_arrays,
                             parse_formula)

__all__ = ["FAMILIES", "RegmixDesign", "build_design"]

FAMILIES = ("gaussian", "poisson", "binomial")


@dataclass
class RegmixDesign:
    """The fitted rows in kernel form, with what is needed to rebuild them."""

    family: str
    X: np.ndarray                 # (n, p) design, column-major (the kernel reads columns)
    y: np.ndarray                 # (n,) response (successes for the binomial)
    trials: np.ndarray | None     # (n,) binomial trials
    yconst: np.ndarray | None     # (n,) data-only term of the log-density
    offset: np.ndarray | None     # (n,)
    w: np.ndarray                 # (n,) case weights (ones when none were given)
    weighted: bool
    terms: list                   # design column names
    response: str
    index: pd.Index               # the rows of data that were fitted
    n_dropped: int                # rows dropped for missing values
    design_info: patsy.DesignInfo
    Z: np.ndarray | None          # (units, q) concomitant design, per unit
    concomitant_terms: list
    concomitant_info: patsy.DesignInfo | None
    group_codes: np.ndarray | None  # (n,) unit of each row, 0..G-1, or None
    group_labels: np.ndarray | None
    unit_w: np.ndarray            # (units,) case weight of each unit (row or group)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def n_units(self) -> int:
        return len(self.unit_w)


def _family(family) -> str:
    if not isinstance(family, str) or family.lower() not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    return family.lower()


def _response(family: str, Y: np.ndarray, names: list, n_lhs: int):
    """(y, trials, yconst, label) for the family, with its checks."""
    if family == "binomial" and n_lhs == 2:
        if Y.shape[1] != 2:
            raise TypeError(f"a binomial response 'successes + failures' needs two numeric "
                            f"columns; patsy made {Y.shape[1]} ({names})")
        succ, fail = Y[:, 0], Y[:, 1]
        for v, name in ((succ, names[0]), (fail, names[1])):
            if np.any(v < 0) or np.any(v != np.round(v)):
                raise ValueError(f"binomial counts must be non-negative integers; "
                                 f"{name!r} is not")
        m = succ + fail
        return succ, m, gammaln(m + 1) - gammaln(succ + 1) - gammaln(fail + 1), \
            f"{names[0]} + {names[1]}"
    if n_lhs != 1 or Y.shape[1] != 1:
        hint = " (for the binomial write 'successes + failures ~ x')" \
            if family == "binomial" else ""
        raise TypeError(f"the response must be one numeric column{hint}; patsy made "
                        f"{Y.shape[1]} column(s) from it ({names})")
    y = Y[:, 0]
    label = names[0]
    if family == "poisson":
        if np.any(y < 0):
            raise ValueError(f"the Poisson response {label!r} has negative values")
        if np.any(y != np.round(y)):
            raise ValueError(f"the Poisson response {label!r} must be counts "
                             "(non-negative integers)")
        return y, None, -gammaln(y + 1), label
    if family == "binomial":
        if not np.all((y == 0) | (y == 1)):
            raise ValueError(f"a one-column binomial response must be 0/1; {label!r} has "
                             "other values (for counts write 'successes + failures ~ x')")
        return y, np.ones_like(y), np.zeros_like(y), label
    return y, None, None, label


def _extra_columns(data: pd.DataFrame, weights, offset, groups):
    """Weights, offset and group labels for every row of data."""
    w = case_weights(weights, data, "weights")
    off = None if offset is None else case_weights(offset, data, "offset")
    g = None
    if groups is not None:
        if isinstance(groups, str):
            if groups not in data.columns:
                raise ValueError(f"groups={groups!r} names no column of the data")
            g = data[groups]
        else:
            g = pd.Series(np.asarray(groups), index=data.index)
            if len(g) != len(data):
                raise ValueError(f"groups must have one entry per row of data ({len(data)})")
    return w, off, g


def _concomitant(concomitant, data, rows, missing, eval_env):
    if concomitant is None:
        return None, None, np.arange(len(rows))
    if not isinstance(concomitant, str):
        raise TypeError(f"concomitant must be a one-sided formula such as '~ z', "
                        f"got {concomitant!r}")
    desc = parse_formula(concomitant)
    if desc.lhs_termlist:
        raise ValueError(f"the concomitant formula {concomitant!r} must be one-sided: '~ z'")
    arrays = design_arrays(concomitant, desc, data.iloc[rows], missing, eval_env)
    return arrays.X, arrays.design_info, arrays.rows


def build_design(formula, data, *, family, weights, offset, groups, concomitant, missing,
                 eval_env) -> RegmixDesign:
    """Validate everything and build the kernel's arrays (see :func:`emkit.flexmix`)."""
    check_frame(formula, data, missing)
    family = _family(family)
    desc = parse_formula(formula)
    n_lhs = sum(1 for t in desc.lhs_termlist if t.factors)
    if not n_lhs:
        raise ValueError("the formula has no response: write 'y ~ x1 + x2'")
    w_all, off_all, g_all = _extra_columns(data, weights, offset, groups)
    bad = np.isnan(w_all)
    if off_all is not None:
        bad |= np.isnan(off_all)
    if g_all is not None:
        bad |= g_all.isna().to_numpy()
    if bad.any() and missing == "raise":
        raise ValueError("missing values in weights, offset or groups (missing='raise')")
    candidates = np.flatnonzero(~bad)
    if len(candidates) == 0:
        raise ValueError("no rows left after dropping those with missing values")
    used = data if len(candidates) == len(data) else data.iloc[candidates]
    arrays = design_arrays(formula, desc, used, missing, eval_env)
    rows = candidates[arrays.rows]
    Z, z_info, z_keep = _concomitant(concomitant, data, rows, missing, eval_env)
    X, Y = arrays.X[z_keep], arrays.Y[z_keep]
    rows = rows[z_keep]
    w = w_all[rows]
    check_fitted_rows(len(rows), arrays.design_info, w, "y ~ 1")
    off = None if off_all is None else off_all[rows]
    if off is not None and not np.all(np.isfinite(off)):
        raise ValueError("the offset has infinite values")
    terms = list(arrays.design_info.column_names)
    if not np.all(np.isfinite(X)):
        cols = [terms[c] for c in np.flatnonzero(~np.isfinite(X).all(axis=0))]
        raise ValueError(f"the design has infinite values in column(s) {cols}")
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"the response {arrays.response_names} has infinite values")
    y, trials, yconst, label = _response(family, Y, arrays.response_names, n_lhs)
    index = data.index[rows]

    codes = labels = None
    unit_w = w
    if g_all is not None:
        codes, labels = pd.factorize(g_all.iloc[rows], sort=True)
        G = len(labels)
        unit_w = np.zeros(G)
        unit_w[codes] = w
        if np.any(w != unit_w[codes]):
            raise ValueError("weights must be constant within each group")
        if Z is not None:
            first = np.unique(codes, return_index=True)[1]
            if np.any(Z != Z[first][codes]):
                raise ValueError("the concomitant variables must be constant within each group")
            Z = Z[first]
    if Z is not None:
        if not np.all(np.isfinite(Z)):
            raise ValueError("the concomitant design has infinite values")
        Z = np.ascontiguousarray(Z)
    return RegmixDesign(
        family, np.asfortranarray(X), np.ascontiguousarray(y),
        None if trials is None else np.ascontiguousarray(trials),
        None if yconst is None else np.ascontiguousarray(yconst),
        None if off is None else np.ascontiguousarray(off),
        np.ascontiguousarray(w), weights is not None, terms, label, index,
        len(data) - len(rows), arrays.design_info, Z,
        list(z_info.column_names) if z_info is not None else [], z_info, codes,
        None if labels is None else np.asarray(labels), np.ascontiguousarray(unit_w))
