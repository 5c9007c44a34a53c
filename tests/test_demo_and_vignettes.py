"""The demo (`python -m emkit`) and the vignettes run, and say what they should."""
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

VIGNETTES = sorted((Path(__file__).parent.parent / "vignettes").glob("*.md"))


def test_demo_runs_and_chooses_a_model():
    out = subprocess.run([sys.executable, "-m", "emkit"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert "Old Faithful" in out and "BIC = 2 logLik - df log(n)" in out
    # one-component fits have closed forms: mclust's VVV, EEE, VVI, VII values
    ref = pd.read_csv(Path(__file__).parent / "reference" / "mclust" / "faithful_bic.csv",
                      index_col="G")
    row = re.search(r"^1\s+(-[\d.]+)\s+(-[\d.]+)\s+(-[\d.]+)\s+(-[\d.]+)", out, re.M)
    assert [float(v) for v in row.groups()] == pytest.approx(
        ref.loc[1, ["VVV", "EEE", "VVI", "VII"]].to_list(), abs=0.006)
    assert re.search(r"Chosen model: \w+ covariance, G = \d", out)


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.name for p in VIGNETTES])
def test_vignette_executes(path):
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    assert blocks, f"{path.name} has no code"
    namespace = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name}, code block {i} failed: {err!r}") from err
