"""Matplotlib versions of mclust's plots for Gaussian mixture fits.

These are plain functions: the result of :func:`emkit.mclust` calls them from
its ``plot`` method, and they can equally be called on any parameters.  They
follow mclust 6.0's ``plot.mclustBIC``, ``mclust2Dplot``/``coordProj``,
``mclust1Dplot``, ``surfacePlot`` and the ``plotDensityMclust*`` family:

* colours and plotting symbols are mclust's defaults
  (``mclust.options("bicPlotColors")``, ``"bicPlotSymbols"``,
  ``"classPlotColors"``, ``"classPlotSymbols"``), with R's ``pch`` codes drawn
  as the matching matplotlib markers;
* each component's ellipse is the one ``mvn2plot`` draws: semi-axes are the
  square roots of the eigenvalues of its covariance (one standard deviation,
  no chi-squared scaling), with the principal axes dashed and the mean marked
  by an asterisk, all in grey30;
* more than two dimensions are shown as a scatter-plot matrix laid out as
  mclust's: variable names on the diagonal, the panel in row ``i`` and column
  ``j`` showing column ``j`` against column ``i``, axis ticks alternating
  round the outside.

Matplotlib is imported only when a function is called; install it with
``pip install matplotlib`` or ``pip install emkit[plot]``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "plot_bic",
    "plot_classification",
    "plot_uncertainty",
    "plot_density",
    "MCLUST_MODELS",
    "BIC_PLOT_COLORS",
    "BIC_PLOT_SYMBOLS",
    "CLASS_PLOT_COLORS",
    "CLASS_PLOT_SYMBOLS",
]

#: mclust's 14 multivariate model codes, in the order of its BIC tables.
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
                 "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")

#: ``mclust.options("bicPlotColors")`` (mclust 6.0.0) as hex strings.
BIC_PLOT_COLORS = {
    "EII": "#BEBEBE", "VII": "#000000", "EEI": "#218B21", "EVI": "#41884F",
    "VEI": "#508476", "VVI": "#58819C", "EEE": "#597DC3", "VEE": "#5178EA",
    "EVE": "#716EE7", "VVE": "#9B60B8", "EEV": "#B2508B", "VEV": "#C03F60",
    "EVV": "#C82A36", "VVV": "#CC0000", "E": "#BEBEBE", "V": "#000000",
}

#: ``mclust.options("bicPlotSymbols")``: R ``pch`` codes.
BIC_PLOT_SYMBOLS = {
    "EII": 17, "VII": 2, "EEI": 16, "EVI": 10, "VEI": 13, "VVI": 1,
    "EEE": 15, "VEE": 8, "EVE": 5, "VVE": 9, "EEV": 12, "VEV": 7,
    "EVV": 14, "VVV": 0, "E": 17, "V": 2,
}

#: ``mclust.options("classPlotColors")`` (dodgerblue2, red3, green3, ...).
CLASS_PLOT_COLORS = (
    "#1C86EE", "#CD0000", "#00CD00", "#6A5ACD", "#FF8C00", "#87CEFF",
    "#8B2252", "#228B22", "#36648B", "#708090", "#A52A2A", "#000000",
    "#8FBC8F", "#CD950C", "#6B8E23", "#4169E1", "#8B3626", "#00EEEE",
    "#00EE76",
)

#: ``mclust.options("classPlotSymbols")``: R ``pch`` codes.
CLASS_PLOT_SYMBOLS = (16, 0, 17, 3, 15, 4, 1, 8, 2, 7, 5, 9, 6, 10, 11, 18, 12, 13, 14)

_GREY30 = "#4D4D4D"       # mvn2plot's ellipse colour
_GREY50 = "#808080"       # surfacePlot's contour colour
_NOISE_COLOR = "#000000"  # class 0 (noise) in mclust's plots
_EXTEND = 0.04            # R's default axis extension (xaxs = "r")


# ---------------------------------------------------------------- matplotlib


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "emkit's plots need matplotlib, which is not installed; install it "
            "with `pip install matplotlib` (or `pip install emkit[plot]`)."
        ) from exc
    return plt


_PCH_CACHE: dict = {}


def _pch_style(pch):
    """Matplotlib marker for an R ``pch`` code.

    Parameters
    ----------
    pch : int
        R plotting symbol, 0 to 18.

    Returns
    -------
    marker : str, tuple or matplotlib.path.Path
        What to pass as ``marker``; composite symbols (``pch`` 7, 9 to 14)
        are paths built once and reused, so the same object comes back on
        every call.
    filled : bool
        Whether the symbol is solid (``pch`` 15 to 18) rather than outlined.
    scale : float
        Size relative to a circle, so that symbols look alike in size as
        in R.
    """
    if pch in _PCH_CACHE:
        return _PCH_CACHE[pch]
    from matplotlib.path import Path

    def compound(*parts):
        return Path.make_compound_path(*parts)

    def poly(points, closed=True):
        pts = list(points)
        if closed:
            pts.append(pts[0])
        codes = [Path.MOVETO] + [Path.LINETO] * (len(pts) - 1)
        return Path(np.asarray(pts, float), codes)

    square = poly([(-1, -1), (1, -1), (1, 1), (-1, 1)])
    diamond = poly([(0, 1), (1, 0), (0, -1), (-1, 0)])
    circle = Path.unit_circle()
    plus = compound(poly([(-1, 0), (1, 0)], False), poly([(0, -1), (0, 1)], False))
    cross = compound(poly([(-1, -1), (1, 1)], False), poly([(-1, 1), (1, -1)], False))
    s = math.sqrt(0.5)
    cross_in_circle = compound(poly([(-s, -s), (s, s)], False), poly([(-s, s), (s, -s)], False))
    c, h = math.sqrt(3) / 2, 0.5
    table = {
        0: ("s", False, 0.85),
        1: ("o", False, 1.0),
        2: ("^", False, 1.1),
        3: ("+", False, 1.15),
        4: ("x", False, 0.9),
        5: ("D", False, 0.85),
        6: ("v", False, 1.1),
        7: (compound(square, cross), False, 0.85),
        8: ((8, 2, 0), False, 1.1),
        9: (compound(diamond, plus), False, 1.2),
        10: (compound(circle, plus), False, 1.0),
        11: (compound(poly([(0, 1), (-c, -h), (c, -h)]), poly([(0, -1), (-c, h), (c, h)])),
             False, 1.2),
        12: (compound(square, plus), False, 0.85),
        13: (compound(circle, cross_in_circle), False, 1.0),
        14: (compound(square, poly([(-1, -1), (0, 1), (1, -1)], False)), False, 0.85),
        15: ("s", True, 0.85),
        16: ("o", True, 0.95),
        17: ("^", True, 1.1),
        18: ("D", True, 0.7),
    }
    if pch not in table:
        raise ValueError(f"no marker for R pch {pch!r}; expected 0 to 18")
    _PCH_CACHE[pch] = table[pch]
    return table[pch]


def _marker_kwargs(pch, color, size):
    """Keyword arguments for ``Axes.plot`` drawing R symbol ``pch``."""
    marker, filled, scale = _pch_style(pch)
    kw = dict(marker=marker, markersize=size * scale, markeredgecolor=color,
              color=color)
    if filled:
        kw.update(markerfacecolor=color, markeredgewidth=0.0 if marker == "o" else 0.5)
    else:
        kw.update(markerfacecolor="none", markeredgewidth=1.0)
    return kw


# ------------------------------------------------------------------- inputs


def _as_data(X, dims):
    """(n, k) float array of the chosen columns, their names and positions."""
    names = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        names = [str(c) for c in X.columns]
        data = X.to_numpy(dtype=float)
    elif hasattr(X, "to_numpy") and getattr(X, "ndim", 2) == 1:  # pandas Series
        names = [str(X.name) if X.name is not None else "x"]
        data = X.to_numpy(dtype=float)
    else:
        data = np.asarray(X, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"X must be 1- or 2-dimensional, got shape {data.shape}")
    n, d = data.shape
    if names is None:
        names = ["x"] if d == 1 else [f"x{j + 1}" for j in range(d)]
    if dims is None:
        idx = list(range(d))
    else:
        if np.ndim(dims) == 0:
            dims = [dims]
        idx = []
        for k in dims:
            if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
                if not -d <= k < d:
                    raise ValueError(f"dims entry {k} out of range for {d} columns")
                idx.append(int(k) % d)
            elif str(k) in names:
                idx.append(names.index(str(k)))
            else:
                raise ValueError(f"dims entry {k!r} is neither a column position nor a column name")
        if len(set(idx)) != len(idx) or not idx:
            raise ValueError("dims must name distinct columns")
    return data[:, idx], [names[i] for i in idx], idx, d


def _as_params(means, sigma, d, idx):
    """means (G, k) and sigma (G, k, k) restricted to the chosen columns."""
    mu = np.asarray(means, dtype=float)
    if mu.ndim == 1 and d == 1:
        mu = mu[:, None]
    if mu.ndim != 2 or mu.shape[1] != d:
        raise ValueError(f"means must have shape (G, {d}), got {mu.shape}")
    G = mu.shape[0]
    S = np.asarray(sigma, dtype=float)
    if S.shape == (G, d, d):
        pass
    elif S.size == G and d == 1:
        S = S.reshape(G, 1, 1)
    elif S.shape == (d, d):
        S = np.broadcast_to(S, (G, d, d))
    else:
        raise ValueError(f"sigma must have shape (G, d, d) = ({G}, {d}, {d}), got {S.shape}")
    ix = np.asarray(idx)
    return mu[:, ix], S[:, ix][:, :, ix]


def _as_pro(pro, G):
    p = np.asarray(pro, dtype=float).ravel()
    if p.size == 1 and G == 1:
        return p
    if p.size != G:
        raise ValueError(f"pro must have one entry per component ({G}), got {p.size}")
    return p


def _class_styles(classification, n):
    """Per class: (label, mask, colour, pch, is_noise), mclust's style order.

    Integer labels 1, 2, ... keep colour and symbol ``k`` for component ``k``
    even when a class is empty; label 0 is mclust's noise class (black dots).
    Other labels take styles in sorted order.
    """
    cl = np.asarray(classification).ravel()
    if cl.shape[0] != n:
        raise ValueError(f"classification has {cl.shape[0]} entries for {n} observations")
    labels = np.unique(cl)
    integral = np.issubdtype(labels.dtype, np.number) and np.all(labels == np.round(labels)) \
        and labels.size and labels.min() >= 0
    out = []
    for pos, lab in enumerate(labels):
        if integral:
            k = int(lab) - 1
            if k < 0:
                out.append((lab, cl == lab, _NOISE_COLOR, 16, True))
                continue
        else:
            k = pos
        out.append((lab, cl == lab, CLASS_PLOT_COLORS[k % len(CLASS_PLOT_COLORS)],
                    CLASS_PLOT_SYMBOLS[k % len(CLASS_PLOT_SYMBOLS)], False))
    return out


def _limits(x):
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    pad = _EXTEND * (hi - lo) if hi > lo else (0.5 if lo == 0 else 0.05 * abs(lo))
    return lo - pad, hi + pad


# --------------------------------------------------------------- geometry


def _draw_component(ax, mu, S, size=5.5):
    """mvn2plot: 1-sd ellipse, dashed principal axes, mean as an asterisk."""
    from matplotlib.patches import Ellipse

    vals, vecs = np.linalg.eigh(S)
    order = np.argsort(vals)[::-1]
    vals = np.clip(vals[order], 0.0, None)
    vecs = vecs[:, order]
    s = np.sqrt(vals)
    angle = math.degrees(math.atan2(vecs[1, 0], vecs[0, 0]))
    e = Ellipse(tuple(mu), width=2 * s[0], height=2 * s[1], angle=angle, fill=False,
                edgecolor=_GREY30, linewidth=1.0, zorder=3, label="_component ellipse")
    ax.add_patch(e)
    for a in range(2):
        tip = s[a] * vecs[:, a]
        ax.plot([mu[0] - tip[0], mu[0] + tip[0]], [mu[1] - tip[1], mu[1] + tip[1]],
                color=_GREY30, linestyle=(0, (4, 3)), linewidth=0.8, zorder=3,
                label="_component axis", scalex=False, scaley=False)
    marker, _, _ = _pch_style(8)
    ax.plot([mu[0]], [mu[1]], linestyle="none", marker=marker, markersize=1.3 * size,
            markeredgecolor=_GREY30, markeredgewidth=1.0, color=_GREY30, zorder=4,
            label="_component mean", scalex=False, scaley=False)
    return e


def _bubble(uncertainty):
    """mclust's ``bubble``: relative size (cex) and opacity from uncertainty."""
    u = np.asarray(uncertainty, dtype=float).ravel()
    eps = math.sqrt(np.finfo(float).eps)
    u = (u - u.min()) / (u.max() - u.min() + eps)
    x = (u - u.min()) / (u.max() - u.min() + eps)
    r = np.sqrt(x / math.pi)
    r = (r - r.min()) / (r.max() - r.min() + eps)
    cex = r * (2.0 - 0.3) + 0.3
    alpha = x * (0.9 - 0.3) + 0.3
    return cex, alpha


def _mixture_density(points, pro, means, sigma):
    """Mixture density at ``points`` (m, k)."""
    m, k = points.shape
    logs = np.empty((m, len(pro)))
    for g in range(len(pro)):
        L = np.linalg.cholesky(sigma[g])
        z = np.linalg.solve(L, (points - means[g]).T)
        logs[:, g] = (math.log(pro[g]) if pro[g] > 0 else -np.inf) \
            - 0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(L))) \
            - 0.5 * k * math.log(2 * math.pi)
    top = logs.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    return np.exp(top[:, 0]) * np.exp(logs - top).sum(axis=1)


def _pretty(lo, hi, n, min_n=None):
    """R's ``pretty(c(lo, hi), n)``: about ``n`` + 1 equally spaced round values
    covering [lo, hi], with steps 1, 2, 5 or 10 times a power of ten."""
    h, h5 = 1.5, 0.5 + 1.5 * 1.5
    if min_n is None:
        min_n = n // 3
    dx = hi - lo
    cell = max(abs(lo), abs(hi))
    if dx == 0 and cell == 0:
        return np.array([0.0, 1.0])
    U = 1 + (1 / (1 + h) if h5 >= 1.5 * h + 0.5 else 1.5 / (1 + h5))
    U *= max(1, n) * np.finfo(float).eps
    if dx < cell * U * 3:  # (almost) zero range
        cell = cell / 10 if cell > 10 else 1.0 if cell < 1 else cell
        cell /= max(min_n, 1)
    else:
        cell = dx / n if n > 1 else dx
    base = 10.0 ** math.floor(math.log10(cell))
    unit = base
    if 2 * base - cell < h * (cell - unit):
        unit = 2 * base
        if 5 * base - cell < h5 * (cell - unit):
            unit = 5 * base
            if 10 * base - cell < h * (cell - unit):
                unit = 10 * base
    ns = math.floor(lo / unit + 1e-7)
    nu = math.ceil(hi / unit - 1e-7)
    while ns * unit > lo + 1e-10 * unit:
        ns -= 1
    while nu * unit < hi - 1e-10 * unit:
        nu += 1
    k = int(0.5 + nu - ns)
    if k < min_n:
        k = min_n - k
        if ns >= 0:
            nu += k // 2
            ns -= k // 2 + k % 2
        else:
            ns -= k // 2
            nu += k // 2 + k % 2
    return np.arange(ns, nu + 1) * unit


def _nice_levels(zmax, levels):
    """Contour levels: R's ``pretty(z, nlevels)``, or the user's."""
    if levels is not None and np.ndim(levels) > 0:
        return np.sort(np.asarray(levels, dtype=float).ravel())
    n = 11 if levels is None else int(levels)
    if n < 1:
        raise ValueError("levels must be a positive number of levels or a sequence")
    lv = _pretty(0.0, zmax, n)
    lv = lv[(lv > 0) & (lv < zmax)]
    if lv.size == 0:
        lv = np.array([zmax / 2])
    return lv


# ------------------------------------------------------------------ layout


def _single_axes(ax, fig, figsize=(6.4, 5.2)):
    """The Axes to draw one panel in, and what the caller should get back."""
    if ax is not None:
        return ax, ax
    if fig is not None:
        ax = fig.add_subplot(1, 1, 1)
        return ax, fig
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax, fig


def _pairs_axes(names, data, fig):
    """mclust's scatter-plot matrix: names on the diagonal, shared limits."""
    k = len(names)
    if fig is None:
        plt = _pyplot()
        side = max(6.0, 1.75 * k + 0.9)
        fig = plt.figure(figsize=(side, side))
    axes = fig.subplots(k, k, sharex="col", sharey="row", squeeze=False)
    fig.subplots_adjust(left=0.07, right=0.93, bottom=0.07, top=0.93,
                        wspace=0.04, hspace=0.04)
    size = "large" if k <= 5 else "medium"
    for i in range(k):
        lim = _limits(data[:, i])
        axes[i, 0].set_ylim(lim)
        axes[0, i].set_xlim(lim)
        for j in range(k):
            ax = axes[i, j]
            ax.tick_params(which="both", bottom=False, top=False, left=False, right=False,
                           labelbottom=False, labeltop=False, labelleft=False,
                           labelright=False, labelsize="small")
            # R's pairs: ticks alternate round the outside of the matrix.
            if i == 0 and j % 2 == 1:
                ax.tick_params(top=True, labeltop=True)
            if i == k - 1 and j % 2 == 0:
                ax.tick_params(bottom=True, labelbottom=True)
            if j == 0 and i % 2 == 1:
                ax.tick_params(left=True, labelleft=True)
            if j == k - 1 and i % 2 == 0:
                ax.tick_params(right=True, labelright=True)
            if i == j:
                ax.text(0.5, 0.5, names[i], transform=ax.transAxes, ha="center",
                        va="center", fontsize=size)
    return fig, axes


def _require_panel_choice(ax, k):
    if ax is not None and k > 2:
        raise ValueError(
            f"{k} dimensions make a scatter-plot matrix, which needs a whole figure: "
            "pass fig= (or nothing), or choose two columns with dims=")


# ------------------------------------------------------------------- BIC


def plot_bic(bic_table, *, ax=None, legend=True, ylim=None, models=None):
    """Plot BIC against the number of components, one line per model.

    The matplotlib version of mclust's ``plot.mclustBIC``: each model is
    drawn in mclust's colour (``mclust.options("bicPlotColors")``) with its
    symbol (``"bicPlotSymbols"``, R ``pch`` codes drawn as matplotlib
    markers), joined by a line.  Missing cells (NaN or infinite: a model
    that could not be fitted) are left as gaps.

    Parameters
    ----------
    bic_table : pandas.DataFrame
        BIC values, larger is better: index the numbers of components
        (named ``"G"``), columns model codes (any of mclust's 14, in any
        order, or ``"E"``/``"V"`` for one-dimensional data).
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new figure is made when omitted.
    legend : bool, default True
        Add a legend of model codes in the lower right, two columns, as
        mclust does.
    ylim : (float, float), optional
        y-axis limits; by default the range of the finite values.
    models : sequence of str, optional
        Models (columns) to draw, in this order; all columns by default.
        Codes mclust has no style for cycle through the class colours.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn in.

    Examples
    --------
    >>> ax = plot_bic(result.BIC)                          # doctest: +SKIP
    >>> ax = plot_bic(result.BIC, models=["EEE", "VVV"])   # doctest: +SKIP
    """
    if not (hasattr(bic_table, "columns") and hasattr(bic_table, "index")):
        raise TypeError("bic_table must be a pandas DataFrame (index G, columns model codes)")
    cols = [str(c) for c in bic_table.columns]
    if models is None:
        models = cols
    else:
        models = [models] if isinstance(models, str) else [str(m) for m in models]
        missing = [m for m in models if m not in cols]
        if missing:
            raise ValueError(f"models not in the BIC table: {missing}")
    try:
        G = np.asarray(bic_table.index, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("the BIC table's index must be the numbers of components") from exc
    values = np.asarray(bic_table.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)

    if ax is None:
        plt = _pyplot()
        _, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    extra = 0
    for m in models:
        y = values[:, cols.index(m)]
        if m in BIC_PLOT_COLORS:
            color, pch = BIC_PLOT_COLORS[m], BIC_PLOT_SYMBOLS[m]
        else:
            color = CLASS_PLOT_COLORS[extra % len(CLASS_PLOT_COLORS)]
            pch = CLASS_PLOT_SYMBOLS[extra % len(CLASS_PLOT_SYMBOLS)]
            extra += 1
        ax.plot(G, y, linestyle="-", linewidth=1.0, label=m,
                **_marker_kwargs(pch, color, 6.5))
    ax.set_xticks(G)
    ax.set_xticklabels([f"{g:g}" for g in G])
    if G.size:
        span = G.max() - G.min()
        pad = 0.04 * span if span > 0 else 0.5
        ax.set_xlim(G.min() - pad, G.max() + pad)
    if ylim is not None:
        ax.set_ylim(ylim)
    ax.set_xlabel("Number of components")
    ax.set_ylabel("BIC")
    if legend and models:
        ax.legend(loc="lower right", ncol=2, fontsize="small", handlelength=1.6,
                  columnspacing=1.0, borderaxespad=0.6, framealpha=0.9, edgecolor="black",
                  fancybox=False)
    return ax


# -------------------------------------------------------- classification


def _classification_2d(ax, data, styles, mu, S, size):
    for lab, mask, color, pch, noise in styles:
        kw = _marker_kwargs(pch, color, size * (0.5 if noise else 1.0))
        ax.plot(data[mask, 0], data[mask, 1], linestyle="none", label=str(lab), **kw)
    for g in range(mu.shape[0]):
        _draw_component(ax, mu[g], S[g], size)


def _classification_1d(ax, x, name, styles):
    L = len(styles)
    for k, (lab, mask, color, _, _) in enumerate(styles, start=1):
        ax.plot(x[mask], np.zeros(mask.sum()), linestyle="none", marker="|", markersize=13,
                markeredgewidth=1.0, color="black", label="_all")
        ax.plot(x[mask], np.full(mask.sum(), k), linestyle="none", marker="|",
                markersize=13, markeredgewidth=1.0, color=color, label=str(lab))
    ax.set_yticks(range(L + 1))
    ax.set_yticklabels([""] + [str(s[0]) for s in styles])
    ax.set_ylim(-0.1 * L - 0.2, 1.1 * L + 0.2)
    ax.set_xlim(_limits(x))
    ax.set_xlabel(name)
    ax.set_ylabel("Classification")


def _scatter_panels(ax, fig, data, names, mu, S, draw):
    """One panel for two columns, else a scatter-plot matrix whose panel (i, j)
    shows columns (j, i); ``draw(axes, xy, means, sigma, marker_size)`` fills each."""
    k = data.shape[1]
    if k == 2:
        target, out = _single_axes(ax, fig)
        draw(target, data, mu, S, 5.5)
        target.set_xlim(_limits(data[:, 0]))
        target.set_ylim(_limits(data[:, 1]))
        target.set_xlabel(names[0])
        target.set_ylabel(names[1])
        return out
    fig, axes = _pairs_axes(names, data, fig)
    for i in range(k):
        for j in range(k):
            if i != j:
                p = [j, i]
                draw(axes[i, j], data[:, p], mu[:, p], S[:, p][:, :, p], 3.6)
    return fig


def plot_classification(X, classification, means, sigma, *, dims=None, ax=None, fig=None):
    """Plot the data by class with each component's ellipse.

    The matplotlib version of mclust's ``plot(fit, what = "classification")``.

    * Two dimensions (``mclust2Dplot``): points coloured and marked by class
      (``mclust.options("classPlotColors")``/``"classPlotSymbols"``); for
      every component the one-standard-deviation ellipse (semi-axes the
      square roots of the eigenvalues of its covariance, as ``mvn2plot``
      draws it), its principal axes dashed and its mean as an asterisk.
    * More than two (``coordProj`` in a matrix): a scatter-plot matrix of
      every pair of columns, the panel in row ``i``, column ``j`` showing
      the two-dimensional plot of the marginal of columns ``(j, i)``, with
      the column names on the diagonal.
    * One dimension (``mclust1Dplot``): a vertical tick per observation, all
      of them in black along the bottom and each class in its colour on its
      own row above.

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        The data; a DataFrame's column names label the axes.
    classification : array_like, shape (n,)
        Class labels, 1 to G (0 is drawn as mclust's noise class).
    means : array_like, shape (G, d)
        Component means.
    sigma : array_like, shape (G, d, d)
        Component covariance matrices.
    dims : sequence of int or str, optional
        Columns to show, by 0-based position or by name, like mclust's
        ``dimens``; all columns by default.  Two columns give a single
        panel of that marginal.
    ax : matplotlib.axes.Axes, optional
        Axes for a single-panel (one- or two-column) plot.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in (the scatter-plot matrix, or a single panel when
        no ``ax`` is given); a new one is made when neither is given.

    Returns
    -------
    matplotlib.figure.Figure or matplotlib.axes.Axes
        The Axes when ``ax`` was given, otherwise the Figure.
    """
    data, names, idx, d = _as_data(X, dims)
    mu, S = _as_params(means, sigma, d, idx)
    styles = _class_styles(classification, data.shape[0])
    k = data.shape[1]
    _require_panel_choice(ax, k)
    if k == 1:
        target, out = _single_axes(ax, fig, figsize=(6.4, 4.2))
        _classification_1d(target, data[:, 0], names[0], styles)
        return out
    return _scatter_panels(ax, fig, data, names, mu, S,
                           lambda a, xy, m, s, size: _classification_2d(a, xy, styles, m, s, size))


# ----------------------------------------------------------- uncertainty


def _uncertainty_2d(ax, data, colors_rgba, cex, order, mu, S, size):
    ax.scatter(data[order, 0], data[order, 1], s=(size * cex[order]) ** 2,
               c=colors_rgba[order], marker="o", linewidths=0, zorder=2)
    for g in range(mu.shape[0]):
        _draw_component(ax, mu[g], S[g], size)


def plot_uncertainty(X, classification, uncertainty, means, sigma, *, dims=None, ax=None,
                     fig=None):
    """Plot the data with the uncertainty of each classification.

    The matplotlib version of mclust's ``plot(fit, what = "uncertainty")``
    (mclust 6.0).  Uncertainty is first rescaled to [0, 1]; mclust's
    ``bubble`` then makes each point a filled circle in its class colour
    whose diameter grows from 0.3 to 2 times the usual size with the square
    root of the rescaled uncertainty and whose opacity grows linearly from
    0.3 to 0.9, so confidently classified points fade to small dots.  (Older
    mclust releases drew three sizes split at the 75% and 95% quantiles of
    uncertainty; 6.0 uses this continuous scale.)  The component ellipses
    are drawn as in :func:`plot_classification`.  The most uncertain points
    are drawn last, on top.

    * More than two dimensions: a scatter-plot matrix as in
      :func:`plot_classification`.
    * One dimension (``mclust1Dplot``): a vertical line from 0 up to each
      observation's uncertainty, in its class colour and opacity, over a
      rug of the data, on a y axis from 0 to 1.

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        The data; a DataFrame's column names label the axes.
    classification : array_like, shape (n,)
        Class labels, 1 to G.
    uncertainty : array_like, shape (n,)
        One minus each observation's largest conditional probability, in
        [0, 1).
    means : array_like, shape (G, d)
        Component means.
    sigma : array_like, shape (G, d, d)
        Component covariance matrices.
    dims : sequence of int or str, optional
        Columns to show, by 0-based position or name; all by default.
    ax : matplotlib.axes.Axes, optional
        Axes for a single-panel (one- or two-column) plot.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in when no ``ax`` is given.

    Returns
    -------
    matplotlib.figure.Figure or matplotlib.axes.Axes
        The Axes when ``ax`` was given, otherwise the Figure.
    """
    from matplotlib.colors import to_rgba

    data, names, idx, d = _as_data(X, dims)
    mu, S = _as_params(means, sigma, d, idx)
    n = data.shape[0]
    styles = _class_styles(classification, n)
    unc = np.asarray(uncertainty, dtype=float).ravel()
    if unc.shape[0] != n:
        raise ValueError(f"uncertainty has {unc.shape[0]} entries for {n} observations")
    if not np.all(np.isfinite(unc)):
        raise ValueError("uncertainty must be finite")
    cex, alpha = _bubble(unc)
    rgba = np.empty((n, 4))
    for _, mask, color, _, _ in styles:
        rgba[mask] = to_rgba(color)
    rgba[:, 3] = alpha
    order = np.argsort(unc, kind="stable")
    k = data.shape[1]
    _require_panel_choice(ax, k)
    if k == 1:
        target, out = _single_axes(ax, fig, figsize=(6.4, 4.2))
        x = data[:, 0]
        target.vlines(x[order], 0.0, unc[order], colors=rgba[order], linewidth=1.5, zorder=2)
        _rug(target, x)
        target.set_ylim(0.0, 1.0)
        target.set_xlim(_limits(x))
        target.set_xlabel(names[0])
        target.set_ylabel("Uncertainty")
        return out
    return _scatter_panels(
        ax, fig, data, names, mu, S,
        lambda a, xy, m, s, size: _uncertainty_2d(a, xy, rgba, cex, order, m, s, size))


# --------------------------------------------------------------- density


def _rug(ax, x, height=0.03):
    """Short ticks at the bottom of the axes, one per observation."""
    from matplotlib.collections import LineCollection

    segs = np.stack([np.column_stack([x, np.zeros_like(x)]),
                     np.column_stack([x, np.full_like(x, height)])], axis=1)
    rug = LineCollection(segs, colors=[(0, 0, 0, 0.6)], linewidths=0.8,
                         transform=ax.get_xaxis_transform(), zorder=3, label="_rug")
    ax.add_collection(rug, autolim=False)
    return rug


def _density_2d(ax, data, pro, mu, S, levels, grid, xlim, ylim, points, label_size):
    gx = np.linspace(xlim[0], xlim[1], grid)
    gy = np.linspace(ylim[0], ylim[1], grid)
    xx, yy = np.meshgrid(gx, gy)
    zz = _mixture_density(np.column_stack([xx.ravel(), yy.ravel()]), pro, mu, S)
    zz = zz.reshape(xx.shape)
    if points:
        ax.plot(data[:, 0], data[:, 1], linestyle="none", marker="o", markersize=2.2,
                markeredgewidth=0, color="black", alpha=0.4, zorder=1, label="_data")
    lv = _nice_levels(float(zz.max()), levels)
    cs = ax.contour(xx, yy, zz, levels=lv, colors=_GREY50, linewidths=0.9, zorder=2)
    if label_size:
        ax.clabel(cs, inline=True, fontsize=label_size, fmt="%g", colors=_GREY50)
    return cs


def plot_density(X, pro, means, sigma, *, dims=None, ax=None, fig=None, levels=None, grid=100):
    """Plot the fitted mixture density.

    The matplotlib version of mclust's ``plot(fit, what = "density")``
    (``surfacePlot`` with ``type = "contour"``).

    * Two dimensions: labelled grey contours of the mixture density over a
      ``grid`` x ``grid`` lattice covering the axes, levels chosen as R's
      ``pretty(density, 11)`` does, over the data as small dots.
    * More than two: a scatter-plot matrix of the bivariate marginal
      densities (each panel its own levels), with the data as dots above
      the diagonal, as ``plot(densityMclust(X), data = X)`` shows it.
    * One dimension: the density curve over a histogram of the data
      (Sturges' bins, as R's ``hist``) and a rug.

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        The data; a DataFrame's column names label the axes.
    pro : array_like, shape (G,)
        Mixing proportions.
    means : array_like, shape (G, d)
        Component means.
    sigma : array_like, shape (G, d, d)
        Component covariance matrices.
    dims : sequence of int or str, optional
        Columns to show, by 0-based position or name; all by default.  The
        density shown is the marginal of these columns.
    ax : matplotlib.axes.Axes, optional
        Axes for a single-panel (one- or two-column) plot.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in when no ``ax`` is given.
    levels : int or sequence of float, optional
        Contour levels: about this many "pretty" levels (default 11, as
        mclust), or the levels themselves.  Ignored in one dimension.
    grid : int, default 100
        Grid points per axis for the contours (mclust uses 200); in one
        dimension the curve uses ``max(10 * grid, 1000)`` points.

    Returns
    -------
    matplotlib.figure.Figure or matplotlib.axes.Axes
        The Axes when ``ax`` was given, otherwise the Figure.
    """
    data, names, idx, d = _as_data(X, dims)
    mu, S = _as_params(means, sigma, d, idx)
    p = _as_pro(pro, mu.shape[0])
    grid = int(grid)
    if grid < 2:
        raise ValueError("grid must be at least 2")
    k = data.shape[1]
    _require_panel_choice(ax, k)
    if k == 1:
        target, out = _single_axes(ax, fig, figsize=(6.4, 4.6))
        x = data[:, 0]
        lo, hi = float(x.min()), float(x.max())
        span = hi - lo if hi > lo else 1.0
        xs = np.linspace(lo - 0.1 * span, hi + 0.1 * span, max(10 * grid, 1000))
        dens = _mixture_density(xs[:, None], p, mu, S)
        edges = _sturges_edges(x)
        # R's hist: right-closed bins (a, b], the first one closed at both ends
        counts = np.bincount(np.clip(np.searchsorted(edges, x, side="left") - 1, 0, None),
                             minlength=edges.size - 1)[:edges.size - 1]
        widths = np.diff(edges)
        target.bar(edges[:-1], counts / (x.size * widths), width=widths, align="edge",
                   color="#D3D3D3", edgecolor="white", linewidth=0.8, zorder=1,
                   label="_histogram")
        target.plot(xs, dens, color=_GREY30, linewidth=1.4, zorder=3, label="density")
        _rug(target, x)
        target.set_xlim(min(xs[0], edges[0]), max(xs[-1], edges[-1]))
        target.set_ylim(bottom=0.0)
        target.set_xlabel(names[0])
        target.set_ylabel("Density")
        return out
    if k == 2:
        target, out = _single_axes(ax, fig)
        xlim, ylim = _limits(data[:, 0]), _limits(data[:, 1])
        _density_2d(target, data, p, mu, S, levels, grid, xlim, ylim, True, 6.5)
        target.set_xlim(xlim)
        target.set_ylim(ylim)
        target.set_xlabel(names[0])
        target.set_ylabel(names[1])
        return out
    fig, axes = _pairs_axes(names, data, fig)
    for i in range(k):
        for j in range(k):
            if i != j:
                q = [j, i]
                _density_2d(axes[i, j], data[:, q], p, mu[:, q], S[:, q][:, :, q], levels,
                            grid, _limits(data[:, j]), _limits(data[:, i]), j > i, 5.5)
    return fig


def _sturges_edges(x):
    """Histogram breaks as R's ``hist``: ``pretty(range(x), nclass.Sturges(x))``."""
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    return _pretty(lo, hi, int(math.ceil(math.log2(x.size) + 1)), min_n=1)
