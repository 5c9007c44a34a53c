"""Unconstrained-family Gaussian mixtures against mclust's stored BIC table.

mclust's VVV, EEE, VVI and VII are scikit-learn's full, tied, diag and
spherical.  With one component the MLE is closed-form, so BIC must agree to
round-off.  With two, mclust stops EM at |dl|/(1+|l|) <= 1e-5, a little below
the maximum; emkit run to full convergence from several starts must reach at
least mclust's value and lie within that tolerance of it.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emkit

REF = pd.read_csv(Path(__file__).parent / "reference" / "mclust" / "faithful_bic.csv",
                  index_col="G")
MODELS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def mclust_bic(gm, X):
    return 2 * gm.loglik_ - gm._n_parameters() * np.log(len(X))


@pytest.mark.parametrize("ct", MODELS)
@pytest.mark.parametrize("G", [1, 2])
def test_bic_matches_mclust(faithful, ct, G):
    gm = emkit.GaussianMixture(G, covariance_type=ct, reg_covar=0.0, tol=1e-12, max_iter=5000,
                               n_init=10, random_state=0).fit(faithful)
    ours, theirs = mclust_bic(gm, faithful), REF.loc[G, MODELS[ct]]
    if G == 1:
        assert ours == pytest.approx(theirs, rel=1e-12)
    else:
        assert ours >= theirs - 1e-9 * abs(theirs)
        assert ours == pytest.approx(theirs, rel=1e-5)
