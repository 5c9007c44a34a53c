"""Run one of the benchmarks' R timing scripts on a DataFrame."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pandas as pd


def run_rscript(script: str, df: pd.DataFrame, repeat: int) -> str:
    """stdout of ``Rscript benchmarks/<script> data.csv repeat`` on df written to a
    temporary CSV.  17 significant digits round-trip every double, so R fits
    the same numbers."""
    path_script = Path(__file__).with_name(script)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        df.to_csv(path, index=False, float_format="%.17g")
        return subprocess.run(["Rscript", str(path_script), str(path), str(repeat)],
                              capture_output=True, text=True, check=True).stdout
