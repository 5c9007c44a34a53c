"""The formula machinery every formula front end shares."""
import numpy as np
import pandas as pd
import patsy
import pytest

from emkit import formula_design as fd


def test_fast_design_for_plain_columns_equals_patsys(monkeypatch):
    """Bare numeric columns are copied straight from the data; the result,
    with missing rows, is what patsy builds (two-column responses too)."""
    rng = np.random.default_rng(5)
    n = 3000
    d = pd.DataFrame(rng.standard_normal((n, 4)), columns=["a", "b", "y", "f"],
                     index=np.arange(n) * 2 + 7)
    d.loc[d.index[[3, 50, 2999]], "a"] = np.nan
    d.loc[d.index[10], "y"] = np.nan
    d.loc[d.index[11], "f"] = np.nan
    env = patsy.EvalEnvironment.capture(0)
    for formula in ("y ~ a + b", "y ~ b + a - 1", "~ a + b", "y + f ~ a"):
        desc = patsy.ModelDesc.from_formula(formula)
        assert fd._plain_columns(desc, d) is not None
        fast = fd.design_arrays(formula, desc, d, "drop", env)
        monkeypatch.setattr(fd, "_plain_columns", lambda desc, data: None)
        slow = fd.design_arrays(formula, desc, d, "drop", env)
        monkeypatch.undo()
        np.testing.assert_array_equal(fast.X, slow.X)
        if fast.Y is not None:
            np.testing.assert_array_equal(fast.Y, slow.Y)
        assert fast.response_names == slow.response_names
        assert list(fast.rows) == list(slow.rows)
        assert fast.design_info.column_names == slow.design_info.column_names
    assert fast.Y.shape == (n - 5, 2)
    with pytest.raises(ValueError, match="missing values in \\['y', 'a'\\]"):
        fd.design_arrays("y ~ a + b", patsy.ModelDesc.from_formula("y ~ a + b"), d,
                         "raise", env)
