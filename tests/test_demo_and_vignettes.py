"""The demo (`python -m emkit`) and the vignettes run, and say what they should."""
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

VIGNETTES = sorted((Path(__file__).parent.parent / "vignettes").glob("*.md"))


def test_demo_runs_and_chooses_mclusts_model():
    out = subprocess.run([sys.executable, "-m", "emkit"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert "Old Faithful" in out and "larger is better" in out
    ref = pd.read_csv(Path(__file__).parent / "reference" / "mclust" / "faithful_bic.csv",
                      index_col="G")
    row = re.search(r"^1( +-[\d.]+){7}$", out, re.M).group(0).split()[1:]
    assert [float(v) for v in row] == pytest.approx(ref.loc[1].iloc[:7].to_list(), abs=6e-4)
    assert "Mclust EEE (ellipsoidal, equal volume, shape and orientation) model with 3" in out
    assert "-1126.326 272 11 -2314.316 -2357.824" in out


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.name for p in VIGNETTES])
def test_vignette_executes(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the vignettes' figures go
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    assert blocks, f"{path.name} has no code"
    namespace = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name}, code block {i} failed: {err!r}") from err
