"""Data sets shipped with emkit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_DATA = Path(__file__).parent / "data"


def load_faithful() -> pd.DataFrame:
    """Old Faithful geyser eruptions (R's ``datasets::faithful``), 272 rows.

    Columns: ``eruptions`` (eruption time, minutes) and ``waiting`` (time to
    the next eruption, minutes).
    """
    return pd.read_csv(_DATA / "faithful.csv")


def load_iris() -> pd.DataFrame:
    """Anderson's iris measurements (R's ``datasets::iris``), 150 rows.

    Four numeric columns (``Sepal.Length``, ``Sepal.Width``, ``Petal.Length``,
    ``Petal.Width``, in cm) and the categorical ``Species``; drop ``Species``
    before clustering.
    """
    iris = pd.read_csv(_DATA / "iris.csv")
    iris["Species"] = iris["Species"].astype("category")
    return iris


def load_affairs() -> pd.DataFrame:
    """Fair's extramarital affairs survey (R's ``AER::Affairs``), 601 rows.

    ``affairs`` (number of affairs in the past year: 0, 1, 2, 3, 7 = 4-10 and
    12 = monthly or more; 451 zeros), ``gender`` and ``children``
    (categorical), ``age``, ``yearsmarried``, ``religiousness`` (1-5),
    ``education``, ``occupation`` (1-7, Hollingshead) and ``rating`` (self
    rating of the marriage, 1-5).  The classic Tobit example (Greene;
    Kleiber & Zeileis, *Applied Econometrics with R*).
    """
    affairs = pd.read_csv(_DATA / "affairs.csv")
    for col in ("gender", "children"):
        affairs[col] = affairs[col].astype("category")
    return affairs


def load_npreg() -> pd.DataFrame:
    """Artificial mixture-of-regressions data (R's ``flexmix::NPreg``), 200 rows.

    Two latent classes of 100 rows each (``class``, 1 or 2) share one
    covariate, ``x`` (uniform on 0-10), and differ in three responses:
    ``yn`` is Gaussian (standard deviation 3) with means 5x and
    40 - (x - 5)² = 15 + 10x - x², fitted by ``yn ~ x + I(x**2)``; ``yp`` is
    Poisson with log means 2 - 0.2x and 1 + 0.1x; ``yb`` is binomial (0/1)
    with logits x - 5 and 5 - x.  ``id1`` (100 pairs of rows) and ``id2``
    (50 groups of 4) are categorical grouping variables nested in the
    classes, for grouped fits (flexmix's ``yn ~ x + I(x^2) | id2``).  The
    values are bit-identical to the package data of flexmix 2.3-18.
    """
    npreg = pd.read_csv(_DATA / "npreg.csv")
    for col in ("id1", "id2"):
        npreg[col] = npreg[col].astype("category")
    return npreg


def load_usmacro() -> pd.DataFrame:
    """US quarterly macroeconomic data, 1959Q1-2009Q3 (203 rows; public domain).

    The series bundled with statsmodels (``statsmodels.datasets.macrodata``):
    year, quarter, realgdp (billions of chained 2005 dollars), realcons,
    realinv, cpi, unemp (%), infl (annualised %), tbilrate (%), plus
    ``growth``, the quarterly growth of real GDP in percent,
    100 diff(log realgdp) (NaN in the first quarter), and ``date``, the
    quarter's end, as the index.
    """
    macro = pd.read_csv(_DATA / "usmacro.csv")
    macro["growth"] = 100.0 * np.log(macro["realgdp"]).diff()
    macro.index = pd.PeriodIndex.from_fields(year=macro["year"].astype(int),
                                             quarter=macro["quarter"].astype(int),
                                             freq="Q").to_timestamp(how="end").normalize()
    macro.index.name = "date"
    return macro
