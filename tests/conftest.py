import numpy as np
import pytest

import emkit


@pytest.fixture(scope="session")
def faithful():
    return emkit.datasets.load_faithful()


def blobs(n=600, d=3, K=3, seed=0, spread=4.0):
    """Well-separated Gaussian clusters with unequal, correlated covariances."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(K, d))
    labels = rng.integers(K, size=n)
    mix = rng.normal(size=(K, d, d)) * 0.5 + np.eye(d)
    return centers[labels] + np.einsum("nij,nj->ni", mix[labels], rng.normal(size=(n, d)))
