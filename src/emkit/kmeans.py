"""Weighted k-means (k-means++ seeding, Lloyd iterations) for starting values.

Distances are computed in row chunks with one matrix product each, so memory
stays O(chunk x K) whatever n is.  Rows are measured from ``origin`` (pass a
point near the data, such as its mean): the |x|^2 - 2 x.c + |c|^2 expansion
cancels badly far from it.  Centres are returned in the data's coordinates.
"""
from __future__ import annotations

import numpy as np

_CHUNK = 16384


def _sq_distances(X: np.ndarray, centers: np.ndarray, origin: np.ndarray):
    """Yield (slice, squared distances of that row chunk to every centre).

    ``centers`` are relative to ``origin``."""
    cc = np.einsum("ij,ij->i", centers, centers)
    for start in range(0, X.shape[0], _CHUNK):
        block = X[start:start + _CHUNK] - origin
        d2 = np.einsum("ij,ij->i", block, block)[:, None] - 2.0 * block @ centers.T + cc
        np.maximum(d2, 0.0, out=d2)
        yield slice(start, start + block.shape[0]), d2


def nearest(X: np.ndarray, centers: np.ndarray, origin: np.ndarray):
    """Index of and squared distance to the nearest centre (relative to origin)."""
    labels = np.empty(X.shape[0], dtype=np.intp)
    dist = np.empty(X.shape[0])
    for rows, d2 in _sq_distances(X, centers, origin):
        labels[rows] = d2.argmin(axis=1)
        dist[rows] = d2[np.arange(d2.shape[0]), labels[rows]]
    return labels, dist


def kmeans_plusplus(X: np.ndarray, n_clusters: int, rng: np.random.Generator,
                    w: np.ndarray | None = None, origin: np.ndarray | None = None) -> np.ndarray:
    """Row indices of k-means++ seeds (D^2 sampling, weighted by ``w``)."""
    n = X.shape[0]
    w = np.ones(n) if w is None else w
    origin = X.mean(axis=0) if origin is None else origin
    first = rng.choice(n, p=w / w.sum())
    seeds = [first]
    _, closest = nearest(X, X[[first]] - origin, origin)
    for _ in range(1, n_clusters):
        p = w * closest
        total = p.sum()
        nxt = rng.choice(n, p=p / total) if total > 0 else rng.choice(n, p=w / w.sum())
        seeds.append(nxt)
        np.minimum(closest, nearest(X, X[[nxt]] - origin, origin)[1], out=closest)
    return np.asarray(seeds)


def kmeans(X: np.ndarray, n_clusters: int, rng: np.random.Generator,
           w: np.ndarray | None = None, origin: np.ndarray | None = None,
           max_iter: int = 300, tol: float = 1e-4):
    """Lloyd's algorithm from k-means++ seeds. Returns (labels, centers)."""
    w = np.ones(X.shape[0]) if w is None else w
    origin = np.einsum("i,ij->j", w, X) / w.sum() if origin is None else origin
    centers = X[kmeans_plusplus(X, n_clusters, rng, w, origin)] - origin
    # sklearn's rule: stop when the centres move less than tol x mean variance
    variance = [np.average((X[:, j] - origin[j]) ** 2, weights=w) for j in range(X.shape[1])]
    threshold = tol * np.mean(variance)
    labels, dist = nearest(X, centers, origin)
    for _ in range(max_iter):
        counts = np.bincount(labels, weights=w, minlength=n_clusters)
        sums = np.column_stack([
            np.bincount(labels, weights=w * (X[:, j] - origin[j]), minlength=n_clusters)
            for j in range(X.shape[1])])
        new = centers.copy()
        filled = counts > 0
        new[filled] = sums[filled] / counts[filled, None]
        for k in np.flatnonzero(~filled):  # an empty cluster takes the farthest row
            far = int(np.argmax(dist))
            new[k], dist[far] = X[far] - origin, 0.0
        shift = np.sum((new - centers) ** 2)
        centers = new
        labels, dist = nearest(X, centers, origin)
        if shift <= threshold:
            break
    return labels, centers + origin
