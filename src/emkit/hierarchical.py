"""Model-based agglomerative hierarchical clustering, as mclust 6.0.0 does it.

mclust's ``mclustBIC`` starts EM, for every model and number of components G,
from the classes of one hierarchical tree.  This module reproduces that start
-- same merges, same class labels, hence the same component order:

- :func:`hc` -- mclust's ``hc(data, modelName, use)``: the data transformed as
  ``use`` says (default ``"SVD"``), then merged pair by pair by the VVV
  criterion (or Ward's, model ``"EII"``), starting from singletons;
- :meth:`HierarchicalTree.classes` -- mclust's ``hclass(hcPairs, G)``;
- :func:`qclass` -- mclust's quantile classes for univariate data;
- :func:`initial_classes` -- what ``mclustBIC`` starts from for each G.

The merge loops are compiled (``emkit._hc``) and follow mclust's Fortran
operation for operation, quirks included, so that ties and near-ties go the
same way: given the same transformed data they give R's merges exactly.  The
one step not reproduced to the last bit is the singular value decomposition
in ``use="SVD"`` (R calls reference LAPACK, numpy its own).  That changes no
merge of the default (VVV) tree on the 27 data sets checked against R, and
no class for G <= 9; on heavily gridded data (many pairs of rows the same
distance apart) it can reorder near-tied merges low in the tree, as R's own
result would change with another BLAS/LAPACK.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import _hc

__all__ = ["HierarchicalTree", "dup_partition", "hc", "initial_classes", "qclass"]

_MODELS = ("VVV", "EII")
_USES = ("VARS", "STD", "SPH", "PCS", "PCR", "SVD")


class HierarchicalTree:
    """A merge tree as mclust's ``hc`` returns it.

    Attributes
    ----------
    merges : (m, 2) ndarray of int
        Merge ``l`` joins the classes labelled ``merges[l, 0] < merges[l, 1]``;
        the merged class keeps the smaller label.  Labels are those of
        ``initial_partition``.  This is mclust's ``hcPairs``, transposed.
    initial_partition : (n,) ndarray of int
        The starting classes 1..k, numbered in order of first appearance
        (all singletons, ``1..n``, unless ``hc`` was given a partition).
    model : str
        ``"VVV"`` or ``"EII"``.
    use : str
        The data transformation applied before merging.
    n, d : int
        Shape of the data given to :func:`hc`.
    minclus : int
        Merging stopped at this many classes.
    """

    def __init__(self, merges, initial_partition, model, use, n, d, minclus):
        self.merges = merges
        self.initial_partition = initial_partition
        self.model = model
        self.use = use
        self.n = n
        self.d = d
        self.minclus = minclus

    @property
    def n_groups(self) -> int:
        """Number of classes the merging started from (k)."""
        return len(self.merges) + self.minclus

    def __repr__(self):
        return (f"HierarchicalTree(model={self.model!r}, use={self.use!r}, n={self.n}, "
                f"d={self.d}, merges={len(self.merges)})")

    def classes(self, G: int) -> np.ndarray:
        """Classes with G clusters, labelled exactly as mclust's ``hclass``.

        Parameters
        ----------
        G : int
            Number of clusters, ``minclus <= G <= n_groups``.

        Returns
        -------
        (n,) ndarray of int
            Labels 1..G, numbered in order of first appearance in the rows.
        """
        return self.classes_many([G])[_check_G(G, "G")]

    def classes_many(self, G_values: Iterable[int]) -> dict[int, np.ndarray]:
        """:meth:`classes` for several G in one pass over the merges.

        Parameters
        ----------
        G_values : iterable of int
            Numbers of clusters, each ``minclus <= G <= n_groups``.

        Returns
        -------
        dict
            ``{G: (n,) labels 1..G}``.
        """
        Gs = sorted({_check_G(G, "G") for G in G_values}, reverse=True)
        k = self.n_groups
        for G in Gs:
            if not self.minclus <= G <= k:
                raise ValueError(f"G must be between {self.minclus} and {k} (the tree's "
                                 f"range of classes), got {G}")
        # parent[c]: the class that absorbed class c (hclass relabels j as i)
        parent = np.arange(k + 1)
        out = {}
        done = 0
        for G in Gs:
            for i, j in self.merges[done:k - G]:
                parent[j] = i
            done = k - G
            root = parent.copy()
            while True:
                nxt = root[root]
                if np.array_equal(nxt, root):
                    break
                root = nxt
            out[G] = _first_appearance(root[self.initial_partition])
        return out


def hc(X, model: str = "VVV", use: str = "SVD", partition=None, minclus: int = 1,
       n_threads: int | None = None) -> HierarchicalTree:
    """Model-based agglomerative hierarchical clustering (mclust's ``hc``).

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
        Data, finite.
    model : {"VVV", "EII"}
        Merge criterion: the VVV model's classification likelihood (mclust's
        default, ``hcVVV`` with alpha = beta = 1), or Ward's sum of squares.
    use : {"SVD", "VARS", "STD", "SPH", "PCS", "PCR"}
        Transformation of the data before merging, as mclust's
        ``mclust.options("hcUse")``.  ``"SVD"`` (mclust's default) scales
        the columns to unit standard deviation, rotates them onto the
        principal axes and divides each axis by the square root of its
        singular value; ``"VARS"`` uses the data as they are.
    partition : array-like of shape (n,), optional
        Starting classes (any labels); the default is every row on its own,
        which is what ``hc`` does when called without one (mclust's
        ``dupPartition`` default is not passed on to the merge routine).
        See :func:`dup_partition`.
    minclus : int
        Stop merging at this many classes.
    n_threads : int, optional
        OpenMP threads for the initial table of pairs (the merges are
        serial); the result does not depend on it.

    Returns
    -------
    HierarchicalTree

    Notes
    -----
    As in mclust, the change in the criterion is kept for every pair of
    current classes: k(k-1)/2 doubles for k starting classes (16 MB for
    k = 2000), besides O(n d) for the data and the classes' factors.  VVV's
    alpha is mclust's: the trace of the within-class scatter of the
    transformed data divided by sqrt(n d).
    """
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}, got {model!r}")
    if use not in _USES:
        raise ValueError(f"use must be one of {_USES}, got {use!r}")
    X = _as_data(X)
    n, d = X.shape
    minclus = _check_G(minclus, "minclus")
    initial = _first_appearance(np.arange(n) if partition is None
                                else _check_partition(partition, n))
    k = int(initial.max())
    if k - minclus < 1:
        raise ValueError(f"the starting partition has {k} classes: nothing to merge "
                         f"down to minclus={minclus}")
    Z = np.ascontiguousarray(_transform(X, use))
    order, start = _fortran_groups(initial, k)
    threads = 0 if n_threads is None else int(n_threads)
    if model == "VVV":
        alpha = max(_hc.trace_w(Z), np.finfo(float).eps)
        steps = _hc.vvv_merges(Z, order, start, k - minclus, alpha, 1.0, threads)
    else:
        steps = _hc.eii_merges(Z, order, start, k - minclus, threads)
    return HierarchicalTree(_relabel(steps, k), initial, model, use, n, d, minclus)


def qclass(x, G: int) -> np.ndarray:
    """Quantile classes of univariate data (mclust's ``qclass``).

    mclustBIC starts univariate fits from these rather than from a tree:
    the data are cut at G + 1 distinct quantiles (R's type 7), taking ever
    finer probability grids until there are that many, dropping the
    quantiles closest to their successor when there are more.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, 1)
        Data, finite.
    G : int
        Number of classes, at most the number of distinct values.

    Returns
    -------
    (n,) ndarray of int
        Labels 1..G, increasing with x.  As in mclust, a class can be empty
        when many values are tied.
    """
    x = _as_data(x)
    if x.shape[1] != 1:
        raise ValueError(f"qclass needs univariate data, got {x.shape[1]} columns")
    x = x[:, 0]
    G = _check_G(G, "G")
    distinct = np.unique(x).size
    if G > distinct:
        raise ValueError(f"G={G} exceeds the {distinct} distinct values of x")
    eps = np.std(x, ddof=1) * np.sqrt(np.finfo(float).eps)
    grid = G
    q = np.empty(0)
    while q.size < G + 1:
        grid += 1
        q = _unique_in_order(_quantile7(x, _seq01(grid)))
    if q.size > G + 1:
        gaps = np.diff(q)
        q = np.delete(q, np.argsort(gaps, kind="stable")[:q.size - G - 1])
    q[0] = x.min() - eps
    q[-1] = x.max() + eps
    cl = np.zeros(x.size, dtype=np.intp)
    for i in range(G):
        cl[(x >= q[i]) & (x < q[i + 1])] = i + 1
    return cl


def initial_classes(X, G_values: Iterable[int]) -> dict[int, np.ndarray]:
    """The classes mclustBIC starts EM from, for each G.

    As mclust 6.0.0's ``mclustBIC`` with default options: G = 1 is one
    class; univariate data use :func:`qclass`; otherwise the tree
    ``hc(X, "VVV", use="SVD")``, or ``hc(X, "EII", use="SVD")`` when
    n <= d, cut by ``hclass``.  (With more than ``mclust.options("subset")``
    = 2000 rows mclustBIC does this on a random subset of rows: pass those
    rows here.)

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
        Data, finite.
    G_values : iterable of int
        Numbers of components, each from 1 to the number of distinct rows.

    Returns
    -------
    dict
        ``{G: (n,) int labels 1..G}``; label order fixes component order.
    """
    X = _as_data(X)
    n, d = X.shape
    Gs = sorted({_check_G(G, "G") for G in G_values})
    if not Gs:
        return {}
    distinct = np.unique(X, axis=0).shape[0]
    if Gs[-1] > distinct:
        raise ValueError(f"G={Gs[-1]} exceeds the {distinct} distinct rows of the data")
    out = {G: np.ones(n, dtype=np.intp) for G in Gs if G == 1}
    rest = [G for G in Gs if G > 1]
    if not rest:
        return out
    if d == 1:
        out.update({G: qclass(X, G) for G in rest})
    else:
        out.update(hc(X, "VVV" if n > d else "EII", use="SVD").classes_many(rest))
    return {G: out[G] for G in Gs}


def dup_partition(X) -> np.ndarray:
    """Duplicate rows in one class (mclust's ``dupPartition``).

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)

    Returns
    -------
    (n,) ndarray of int
        Labels 1..k in order of first appearance, equal rows sharing one.
    """
    _, inverse = np.unique(_as_data(X), axis=0, return_inverse=True)
    return _first_appearance(inverse.ravel())


# ---------------------------------------------------------------- internals

def _as_data(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"data must be 1- or 2-dimensional, got {X.ndim} dimensions")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"need at least 2 rows and 1 column, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("data must be finite")
    return X


def _check_G(G, name) -> int:
    if isinstance(G, (bool, np.bool_)) or not isinstance(G, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {G!r}")
    if G < 1:
        raise ValueError(f"{name} must be at least 1, got {G}")
    return int(G)


def _check_partition(partition, n) -> np.ndarray:
    partition = np.asarray(partition)
    if partition.shape != (n,):
        raise ValueError(f"partition must assign a class to each of the {n} rows, "
                         f"got shape {partition.shape}")
    return partition


def _first_appearance(labels) -> np.ndarray:
    """Relabel 1..k in order of first appearance (mclust's partconv)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(1, first.size + 1)
    return rank[inverse.ravel()]


def _fortran_groups(initial, k):
    """Rows of each starting class in the order mclust's Fortran pools them.

    The Fortran first moves each class's first row into row k of the data
    (swapping rows as it goes), then pools the other rows of each class in
    their new row order; this replays the swaps.
    """
    n = initial.size
    if k == n:
        return np.arange(n, dtype=np.intc), np.arange(n + 1, dtype=np.intc)
    ic = initial.tolist()
    perm = list(range(n))
    j = 1
    while ic[j] == j + 1:
        j += 1
    heads = j
    for r in range(j + 1, n):
        if ic[r] > heads:
            ic[r], ic[heads] = ic[heads], ic[r]
            perm[r], perm[heads] = perm[heads], perm[r]
            heads += 1
    ic = np.array(ic)
    perm = np.array(perm)
    members = np.arange(k, n)[np.argsort(ic[k:], kind="stable")]
    counts = np.bincount(ic[k:] - 1, minlength=k)
    start = np.zeros(k + 1, dtype=np.intc)
    start[1:] = np.cumsum(counts + 1)
    order = np.empty(n, dtype=np.intc)
    order[start[:-1]] = perm[:k]
    slot = start[:-1].copy() + 1
    for r in members:
        c = ic[r] - 1
        order[slot[c]] = perm[r]
        slot[c] += 1
    return order, start


def _relabel(steps, k) -> np.ndarray:
    """Merged slots -> class labels, as the end of mclust's Fortran does."""
    label = np.arange(1, k + 1)
    out = np.empty((len(steps), 2), dtype=np.intp)
    for s, (i, j) in enumerate(steps):
        li, lj = label[i], label[j]
        if li > lj:
            label[i] = lj
        label[j] = label[k - 1 - s]
        out[s] = (li, lj) if li < lj else (lj, li)
    return out


def _transform(X, use) -> np.ndarray:
    """mclust hc's ``use`` transformations.

    "SVD" and "STD" follow R's arithmetic (column means and sums of squares
    accumulated in long double, as R's colMeans and sum do; products summed
    in order, as reference BLAS dgemm does), apart from the SVD itself.
    """
    if use == "VARS":
        return X
    n, d = X.shape
    if use in ("STD", "PCR", "SVD"):
        Z = _scale(X, unit=True)
        Z = Z[:, np.isfinite(Z).all(axis=0)]
        if use == "STD":
            return Z
        _, s, vt = np.linalg.svd(Z, full_matrices=False)
        Z = _matmul_in_order(Z, vt.T)
        if use == "SVD":
            Z = Z * (1.0 / np.sqrt(s))
            if not np.isfinite(Z).all():
                raise ValueError("the data have a zero singular value after scaling: "
                                 "use='SVD' cannot whiten them")
        return Z
    Z = _scale(X, unit=False)
    if use == "PCS":
        _, _, vt = np.linalg.svd(Z, full_matrices=False)
        Z = _matmul_in_order(Z, vt.T)
        return Z[:, np.isfinite(Z).all(axis=0)]
    # "SPH": sphere by the (biased) covariance
    _, s, vt = np.linalg.svd(np.cov(Z, rowvar=False).reshape(d, d) * ((n - 1) / n))
    Z = _matmul_in_order(Z, vt.T) * (1.0 / np.sqrt(s))
    return Z[:, np.isfinite(Z).all(axis=0)]


def _scale(X, unit) -> np.ndarray:
    """R's ``scale(X, center = TRUE, scale = unit)``."""
    n = X.shape[0]
    # np.cumsum adds in order (np.sum would add pairwise)
    center = (np.cumsum(X.astype(np.longdouble), axis=0)[-1] / n).astype(float)
    Z = X - center
    if unit:
        ss = np.cumsum((Z * Z).astype(np.longdouble), axis=0)[-1].astype(float)
        Z = Z / np.sqrt(ss / max(1, n - 1))
    return Z


def _matmul_in_order(A, B) -> np.ndarray:
    # each entry summed over k in order, as reference dgemm does, so equal
    # rows give bit-equal results (tied merges stay tied)
    out = np.zeros((A.shape[0], B.shape[1]))
    for k in range(A.shape[1]):
        out += A[:, k:k + 1] * B[k]
    return out


def _seq01(m) -> np.ndarray:
    """R's ``seq(0, 1, length = m)``."""
    if m <= 2:
        return np.array([0.0, 1.0])[:m]
    inner = np.arange(1, m - 1) * (1.0 / (m - 1))
    return np.concatenate(([0.0], inner, [1.0]))


def _quantile7(x, probs) -> np.ndarray:
    """R's ``quantile(x, probs)`` (type 7), operation for operation."""
    xs = np.sort(x)
    index = 1 + (x.size - 1) * probs
    lo = np.floor(index).astype(np.intp)
    hi = np.ceil(index).astype(np.intp)
    qs = xs[lo - 1]
    inner = (index > lo) & (xs[hi - 1] != qs)
    h = (index - lo)[inner]
    qs[inner] = (1 - h) * qs[inner] + h * xs[hi - 1][inner]
    return qs


def _unique_in_order(q) -> np.ndarray:
    _, first = np.unique(q, return_index=True)
    return q[np.sort(first)]
