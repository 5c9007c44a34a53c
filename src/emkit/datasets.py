"""Data sets shipped with emkit."""
from __future__ import annotations

from pathlib import Path

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
