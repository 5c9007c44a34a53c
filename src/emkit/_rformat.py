"""Text layouts of R's print methods, so that mclust users see what they know.

R shows numbers with 7 significant digits, a whole column (or a whole vector)
sharing one number of decimals: the most any of its entries needs.
"""
from __future__ import annotations

import math
import numbers
import textwrap

import numpy as np

WIDTH = 80
DIGITS = 7


def _digits(x: float, digits: int = DIGITS) -> tuple[int, int]:
    """(significant digits x needs at ``digits`` precision, its decimal exponent)."""
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    return len(mantissa.replace(".", "").rstrip("0")) or 1, int(exponent)


def format_numbers(values, digits: int = DIGITS) -> list[str]:
    """Entries formatted alike, as R's formatReal formats one column or vector:
    fixed notation with the decimals the most demanding entry needs, unless
    scientific notation is narrower."""
    if len(values) and all(isinstance(v, numbers.Integral) for v in values):
        return [str(int(v)) for v in values]  # R's integers print whole
    values = [float(v) for v in values]
    finite = [v for v in values if np.isfinite(v) and v != 0]
    if not finite:
        return ["NA" if math.isnan(v) else f"{v:.0f}" for v in values]
    sig, exp = zip(*(_digits(v, digits) for v in finite))
    neg = any(v < 0 for v in values)
    decimals = max(max(s - 1 - e for s, e in zip(sig, exp)), 0)
    fixed_width = neg + max(max(e + 1 for e in exp), 1) + (decimals + 1 if decimals else 0)
    mantissa = max(sig)
    sci_width = neg + (mantissa + 1 if mantissa > 1 else 1) + (
        5 if max(abs(e) for e in exp) >= 100 else 4)
    if fixed_width <= sci_width:
        return ["NA" if math.isnan(v) else f"{v:.{decimals}f}" for v in values]
    return ["NA" if math.isnan(v) else f"{v:.{mantissa - 1}e}" for v in values]


def named_vector(names, values, digits: int = DIGITS, width: int = WIDTH) -> str:
    """R's print of a named vector (or a 1-D table): one common width, rows of
    names over values, wrapped to the console width."""
    names = [str(n) for n in names]
    if not names:
        return "named numeric(0)"
    cells = format_numbers(values, digits)
    w = max(len(s) for s in names + cells)
    per_line = max(1, width // (w + 1))
    lines = []
    for start in range(0, len(names), per_line):
        stop = start + per_line
        lines.append("".join(s.rjust(w) + " " for s in names[start:stop]))
        lines.append("".join(s.rjust(w) + " " for s in cells[start:stop]))
    return "\n".join(lines)


def matrix(rownames, colnames, columns, digits: int = DIGITS, width: int = WIDTH) -> str:
    """R's print of a numeric matrix: row names left-aligned, each column
    formatted on its own and right-aligned, column blocks wrapped at the width."""
    rownames = [str(r) for r in rownames]
    rw = max(len(r) for r in rownames) if rownames else 0
    formatted = []
    for name, col in zip(colnames, columns):
        cells = format_numbers(col, digits)
        w = max(len(str(name)), *(len(c) for c in cells))
        formatted.append((str(name).rjust(w), [c.rjust(w) for c in cells], w))
    blocks, current, used = [], [], rw
    for item in formatted:
        if current and used + 1 + item[2] > width:
            blocks.append(current)
            current, used = [], rw
        current.append(item)
        used += 1 + item[2]
    if current:
        blocks.append(current)
    lines = []
    for block in blocks:
        lines.append(" " * rw + "".join(" " + head for head, _, _ in block))
        for i, r in enumerate(rownames):
            lines.append(r.ljust(rw) + "".join(" " + cells[i] for _, cells, _ in block))
    return "\n".join(lines)


def one_row_frame(headers, values, digits: int = DIGITS) -> str:
    """R's print of a one-row data frame with an empty row name."""
    heads, cells = [], []
    for h, v in zip(headers, values):
        c = format_numbers([v], digits)[0]
        w = max(len(h), len(c))
        heads.append(h.rjust(w))
        cells.append(c.rjust(w))
    return " " + " ".join(heads) + "\n " + " ".join(cells)


def wrap(text: str, width: int = WIDTH) -> str:
    """mclust's catwrap: lines shorter than the width, the last ending in a space."""
    return "\n".join(textwrap.wrap(text, width - 1)) + " "
