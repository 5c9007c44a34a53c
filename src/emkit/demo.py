"""The demo run by ``python -m emkit``: mclust's analysis of Old Faithful --
every covariance model for G = 1..9, the best by BIC, and its summary."""
from __future__ import annotations

from .datasets import load_faithful
from .mclust_fit import mclust


def main() -> None:
    X = load_faithful()
    print("emkit demo: model-based clustering of the Old Faithful eruptions "
          f"({len(X)} rows: {', '.join(X.columns)}), as R's Mclust(faithful)\n")
    res = mclust(X, verbose=False)
    print("BIC = 2 logLik - df log(n), larger is better (mclust's sign; scikit-learn's "
          "bic() is the opposite)\n")
    print(res.BIC)
    print()
    print(res.BIC.summary())
    print()
    print(res.summary(parameters=True))
