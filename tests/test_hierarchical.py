"""emkit.hierarchical against mclust 6.0.0 (R 4.2.2, reference BLAS/LAPACK).

References are made by reference/mclust/hc/make_hc_reference.R: R's hcPairs
(merges) and hclass(hcPairs, 1:9) for several data sets, models, transforms
and starting partitions, and qclass for univariate data.  Merges and classes
must be identical, labels included.

The merge loops reproduce mclust's Fortran bit for bit; the one step that
does not is the SVD inside use="SVD" (numpy's LAPACK, not R's, differs in the
last bit).  On the data sets whose trees mclustBIC uses that changes nothing;
where it swaps near-tied merges (EII trees of gridded data, merges from a
partition of duplicates), the loop is checked on R's own transformed data.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emkit import hierarchical as H

REF = Path(__file__).parent / "reference" / "mclust"
HC = REF / "hc"
CASES = pd.read_csv(HC / "cases.csv")
# cases where numpy's SVD, not R's, swaps near-tied merges
SVD_SENSITIVE = {"faithful_EII_SVD", "iris_EII_SVD", "faithful_round_EII_SVD",
                 "faithful_round_VVV_SVD_dup", "faithful_round_EII_SVD_dup"}


def load(name):
    path = REF / f"{name}.csv"
    return pd.read_csv(path if path.exists() else HC / f"{name}.csv").to_numpy(float)


def reference(case):
    merges = pd.read_csv(HC / f"{case}_merges.csv").to_numpy()
    classes = pd.read_csv(HC / f"{case}_classes.csv")
    return merges, {int(c[1:]): classes[c].to_numpy() for c in classes.columns}


def assert_same_as_r(tree, case):
    merges, classes = reference(case)
    np.testing.assert_array_equal(tree.merges, merges)
    ours = tree.classes_many(classes)
    for G, labels in classes.items():
        np.testing.assert_array_equal(ours[G], labels, err_msg=f"G={G}")


@pytest.mark.parametrize("row", CASES.itertuples(), ids=list(CASES.case))
def test_tree_matches_mclust(row):
    X = load(row.data)
    if row.case in SVD_SENSITIVE:
        # the merge loop alone, on R's own transformed data
        X_r = pd.read_csv(HC / f"{row.data}_svd_data.csv").to_numpy(float)
        part = H.dup_partition(X) if row.partition == "dup" else None
        tree = H.hc(X_r, row.model, "VARS", partition=part, minclus=row.minclus)
    else:
        part = H.dup_partition(X) if row.partition == "dup" else None
        tree = H.hc(X, row.model, row.use, partition=part, minclus=row.minclus)
    assert_same_as_r(tree, row.case)


@pytest.mark.parametrize("data", ["faithful", "iris", "faithful_round"])
def test_svd_transform_matches_r(data):
    ours = H._transform(load(data), "SVD")
    theirs = pd.read_csv(HC / f"{data}_svd_data.csv").to_numpy(float)
    # singular vectors are defined up to sign
    ours = ours * np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["waiting", "acidity"])
def test_qclass_matches_mclust(name):
    x = pd.read_csv(REF / "faithful.csv")["waiting"].to_numpy(float) if name == "waiting" \
        else load(name)[:, 0]
    expected = pd.read_csv(HC / f"{name}_qclass.csv")
    for col in expected.columns:
        np.testing.assert_array_equal(H.qclass(x, int(col[1:])), expected[col].to_numpy(),
                                      err_msg=col)


def test_initial_classes_dispatch():
    faithful, wdbc25 = load("faithful"), load("wdbc25")
    got = H.initial_classes(faithful, range(1, 10))
    _, vvv = reference("faithful_VVV_SVD")
    assert sorted(got) == list(range(1, 10))
    for G in range(1, 10):
        np.testing.assert_array_equal(got[G], vvv[G])
    # n <= d: Ward's criterion
    got = H.initial_classes(wdbc25, [3, 5])
    _, eii = reference("wdbc25_EII_SVD")
    np.testing.assert_array_equal(got[3], eii[3])
    np.testing.assert_array_equal(got[5], eii[5])
    # univariate, as a vector or one column: quantile classes
    waiting = faithful[:, 1]
    expected = pd.read_csv(HC / "waiting_qclass.csv")
    for x in (waiting, waiting[:, None]):
        got = H.initial_classes(x, [1, 4])
        np.testing.assert_array_equal(got[1], np.ones(len(x)))
        np.testing.assert_array_equal(got[4], expected["G4"].to_numpy())


def test_results_do_not_depend_on_threads():
    X = load("quakes")[:600]
    one = H.hc(X, n_threads=1)
    many = H.hc(X, n_threads=4)
    np.testing.assert_array_equal(one.merges, many.merges)


def test_tree_shape_and_labels():
    tree = H.hc(load("iris"))
    assert (tree.n, tree.d, tree.n_groups, tree.model, tree.use) == (150, 4, 150, "VVV", "SVD")
    assert tree.merges.shape == (149, 2)
    assert (tree.merges[:, 0] < tree.merges[:, 1]).all()
    for G in (1, 2, 7, 150):
        labels = tree.classes(G)
        assert set(labels) == set(range(1, G + 1))
        # numbered in order of first appearance
        _, first = np.unique(labels, return_index=True)
        assert (np.diff(first) > 0).all()


def test_dup_partition():
    X = np.array([[1.0, 2], [3, 4], [1, 2], [5, 6], [3, 4]])
    np.testing.assert_array_equal(H.dup_partition(X), [1, 2, 1, 3, 2])


@pytest.mark.parametrize("call, message", [
    (lambda X: H.initial_classes(X, [0]), "at least 1"),
    (lambda X: H.initial_classes(X, [2.0]), "positive integer"),
    (lambda X: H.initial_classes(np.repeat(X[:3], 4, axis=0), [4]), "3 distinct rows"),
    (lambda X: H.initial_classes(X[None], [2]), "1- or 2-dimensional"),
    (lambda X: H.qclass(X, 2), "univariate"),
    (lambda X: H.qclass(np.r_[1.0, 1, 2], 3), "2 distinct values"),
    (lambda X: H.hc(X, model="EEE"), "model must be"),
    (lambda X: H.hc(X, use="RND"), "use must be"),
    (lambda X: H.hc(X, partition=[1, 2]), "partition must assign"),
    (lambda X: H.hc(X[:3], minclus=3), "nothing to merge"),
    (lambda X: H.hc(X).classes(len(X) + 1), "G must be between"),
    (lambda X: H.hc(X, minclus=2).classes(1), "G must be between"),
    (lambda X: H.hc(np.c_[X, np.full(len(X), np.nan)]), "finite"),
])
def test_errors(call, message):
    X = load("faithful")[:20]
    with pytest.raises(ValueError, match=message):
        call(X)
