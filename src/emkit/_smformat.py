"""Summary tables in statsmodels' layout (shared by the formula front ends)."""
from __future__ import annotations

import numpy as np


class Summary:
    """A printable summary; ``str()`` or ``as_text()`` gives the table."""

    def __init__(self, text: str):
        self.text = text

    def as_text(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<pre>{self.text}</pre>"


def num(x: float, width: int, prec: int) -> str:
    """statsmodels' number format: fixed unless very large or small."""
    if not np.isfinite(x):
        return f"{x!s:>{width}}"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 10.0 ** -prec):
        return f"{x:>{width}.{prec}g}"
    return f"{x:>{width}.{prec}f}"


def header(title: str, left: list, right: list, width: int) -> list[str]:
    """The title and the two columns of (label, value) pairs above the tables."""
    rows = max(len(left), len(right))
    left = left + [("", "")] * (rows - len(left))
    right = right + [("", "")] * (rows - len(right))
    lines = [title.center(width), "=" * width]
    for (lk, lv), (rk, rv) in zip(left, right):
        lines.append(f"{lk:<20}{lv:>18}   {rk:<21}{rv:>{width - 62}}".rstrip())
    return lines


def coefficient_table(names, params, bse, tvalues, pvalues, ci, alpha: float, namew: int,
                      width: int) -> list[str]:
    """The coef / std err / z / P>|z| / interval rows, with their rule lines."""
    lo_h, hi_h = f"[{alpha / 2:.3g}", f"{1 - alpha / 2:.3g}]"
    lines = [f"{'':<{namew}}{'coef':>10}{'std err':>11}{'z':>11}{'P>|z|':>11}"
             f"{lo_h:>12}{hi_h:>12}", "-" * width]
    for name, label in names:
        lines.append(f"{label:<{namew}}{num(params[name], 10, 4)}"
                     f"{num(bse[name], 11, 3)}{num(tvalues[name], 11, 3)}"
                     f"{pvalues[name]:>11.3f}{num(ci.at[name, 0], 12, 3)}"
                     f"{num(ci.at[name, 1], 12, 3)}")
    return lines
