"""The demo run by ``python -m emkit``: Gaussian mixtures on Old Faithful,
compared by BIC over component counts and covariance types."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .datasets import load_faithful
from .gaussian import COVARIANCE_TYPES
from .mixture import GaussianMixture


def bic_sweep(X: pd.DataFrame, components=range(1, 7), covariance_types=COVARIANCE_TYPES,
              random_state: int = 0) -> pd.DataFrame:
    """Fit every (covariance type, K) and tabulate log-likelihood, df and BIC.

    BIC is reported on mclust's scale, 2 loglik - df log n (larger is better).
    A fit with a collapsed component gets NaN BIC and the reason in ``note``.
    """
    n, rows = len(X), []
    for ct in covariance_types:
        for K in components:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = GaussianMixture(K, covariance_type=ct, n_init=5, tol=1e-6, max_iter=1000,
                                     random_state=random_state).fit(X)
            df = gm._n_parameters()
            bic = 2 * gm.loglik_ - df * np.log(n)
            bad = gm.degenerate_components_
            note = "; ".join(f"component {k} {why.split(':')[0]}" for k, why in bad.items())
            rows.append({"covariance": ct, "G": K, "loglik": gm.loglik_, "df": df,
                         "BIC": np.nan if bad else bic, "iterations": gm.n_iter_,
                         "note": note})
    return pd.DataFrame(rows)


def main() -> None:
    X = load_faithful()
    print("emkit demo: Gaussian mixtures of Old Faithful eruptions "
          f"({len(X)} rows: {', '.join(X.columns)})\n")
    table = bic_sweep(X)
    wide = table.pivot(index="G", columns="covariance", values="BIC")[list(COVARIANCE_TYPES)]
    print("BIC = 2 logLik - df log(n) (larger is better), by components G and covariance:")
    print(wide.round(2).to_string())
    best = table.loc[table["BIC"].idxmax()]
    print("\nLog-likelihood of every fit:")
    print(table.pivot(index="G", columns="covariance", values="loglik")[
        list(COVARIANCE_TYPES)].round(3).to_string())
    failed = table[table["note"] != ""]
    if len(failed):
        print("\nNaN BIC (degenerate fits, not eligible):")
        for _, row in failed.iterrows():
            print(f"  {row['covariance']}, G = {row['G']}: {row['note']}")
    print(f"\nChosen model: {best['covariance']} covariance, G = {best['G']} "
          f"(logLik = {best['loglik']:.3f}, df = {best['df']}, BIC = {best['BIC']:.3f})")
    gm = GaussianMixture(int(best["G"]), covariance_type=best["covariance"], n_init=5, tol=1e-6,
                         max_iter=1000, random_state=0).fit(X)
    order = np.argsort(gm.means_[:, 0])
    params = pd.DataFrame(gm.means_[order], columns=[f"mean {c}" for c in X.columns])
    params.insert(0, "weight", gm.weights_[order])
    params.index = pd.RangeIndex(1, len(order) + 1, name="component")
    print("\nComponents (ordered by eruption time):")
    print(params.round(4).to_string())
    sizes = np.bincount(np.argsort(order)[gm.predict(X)], minlength=len(order))
    print("\nRows per component:", dict(zip(range(1, len(order) + 1), sizes.tolist())))
