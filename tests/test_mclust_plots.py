"""mclust-style plots (emkit.mclust_plots) on faithful, iris and a 1-D case.

Parameters come from a quick fit by hand (class means and covariances of a
rule-based split, then the posterior from them), so these tests do not depend
on emkit's own mclust fitting.  They check what the figures contain: lines,
colours and markers, gaps, ellipses, panels, contour levels and labels.
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.colors import to_hex, to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from scipy.stats import multivariate_normal  # noqa: E402

from emkit import mclust_plots as mp  # noqa: E402

REF = Path(__file__).parent / "reference" / "mclust"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ data


def hand_fit(X, labels):
    """Proportions, means, covariances of the given split and the posterior."""
    X = np.asarray(X, float)
    G = labels.max()
    pro = np.array([np.mean(labels == g) for g in range(1, G + 1)])
    means = np.array([X[labels == g].mean(0) for g in range(1, G + 1)])
    sigma = np.array([np.atleast_2d(np.cov(X[labels == g].T, bias=True))
                      for g in range(1, G + 1)])
    dens = np.column_stack([pro[g] * multivariate_normal(means[g], sigma[g]).pdf(X)
                            for g in range(G)])
    z = dens / dens.sum(1, keepdims=True)
    return pro, means, sigma, z.argmax(1) + 1, 1 - z.max(1)


@pytest.fixture(scope="module")
def faithful():
    X = pd.read_csv(REF / "faithful.csv")
    e, w = X["eruptions"].to_numpy(), X["waiting"].to_numpy()
    labels = np.where(e < 3, 1, np.where(w < 80, 2, 3))
    return (X,) + hand_fit(X, labels)


@pytest.fixture(scope="module")
def iris():
    X = pd.read_csv(REF / "iris.csv")
    labels = np.where(X["Petal.Length"] < 2.5, 1, 2)
    return (X,) + hand_fit(X, labels)


@pytest.fixture(scope="module")
def waiting():
    X = pd.read_csv(REF / "faithful.csv")[["waiting"]]
    labels = np.where(X["waiting"] < 67, 1, 2)
    return (X,) + hand_fit(X, labels)


# --------------------------------------------------------------- helpers


def model_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def panels(fig):
    """Panels of a pairs figure with plotted content (the diagonal holds only
    the variable's name)."""
    return [ax for ax in fig.axes if ax.lines or ax.collections or ax.patches]


def grid_of(fig, d):
    return np.array(fig.axes).reshape(d, d)


def class_lines(ax):
    """The per-class point lines (labelled by class)."""
    return [ln for ln in ax.get_lines()
            if not ln.get_label().startswith("_") and ln.get_linestyle() == "None"]


# ------------------------------------------------------------------- BIC


def test_bic_lines_colours_markers_follow_mclust():
    bic = pd.read_csv(REF / "faithful_bic.csv", index_col="G")
    ax = mp.plot_bic(bic)
    lines = model_lines(ax)
    assert [ln.get_label() for ln in lines] == list(mp.MCLUST_MODELS) == list(bic.columns)
    for ln in lines:
        m = ln.get_label()
        pch = mp.BIC_PLOT_SYMBOLS[m]
        marker, filled, _ = mp._pch_style(pch)
        assert to_hex(ln.get_color()) == mp.BIC_PLOT_COLORS[m].lower()
        assert to_hex(ln.get_markeredgecolor()) == mp.BIC_PLOT_COLORS[m].lower()
        assert ln.get_marker() is marker or ln.get_marker() == marker
        assert (ln.get_markerfacecolor() == "none") == (not filled)
        np.testing.assert_array_equal(ln.get_xdata(), bic.index.to_numpy())
        np.testing.assert_allclose(ln.get_ydata(), bic[m].to_numpy())
    # the 14 mclust styles are 14 distinct (colour, marker) pairs
    assert len({(mp.BIC_PLOT_COLORS[m], mp.BIC_PLOT_SYMBOLS[m]) for m in mp.MCLUST_MODELS}) == 14
    assert list(ax.get_xticks()) == list(bic.index)
    assert ax.get_ylabel() == "BIC"
    assert ax.get_xlabel() == "Number of components"
    leg = ax.get_legend()
    assert [t.get_text() for t in leg.get_texts()] == list(bic.columns)


def test_bic_subset_order_ylim_and_no_legend():
    bic = pd.read_csv(REF / "iris_bic.csv", index_col="G")
    fig, ax = plt.subplots()
    out = mp.plot_bic(bic, ax=ax, models=["VVV", "EII", "VEV"], legend=False, ylim=(-1500, -500))
    assert out is ax
    assert [ln.get_label() for ln in model_lines(ax)] == ["VVV", "EII", "VEV"]
    assert ax.get_legend() is None
    assert ax.get_ylim() == (-1500, -500)
    with pytest.raises(ValueError, match="not in the BIC table"):
        mp.plot_bic(bic, models=["XYZ"])


def test_bic_missing_cells_are_gaps():
    bic = pd.read_csv(REF / "faithful_bic.csv", index_col="G")
    bic.loc[3, "VVV"] = np.nan
    bic.loc[5, "EEE"] = -np.inf
    bic["EVV"] = np.nan
    ax = mp.plot_bic(bic)
    lines = {ln.get_label(): ln for ln in model_lines(ax)}
    assert len(lines) == 14
    for m, g in [("VVV", 3), ("EEE", 5)]:
        y = np.asarray(lines[m].get_ydata(), float)
        assert np.isnan(y).sum() == 1 and np.isnan(y[list(bic.index).index(g)])
        # the drawn path restarts after the missing cell rather than bridging it
        codes = lines[m].get_path().cleaned(remove_nans=True).codes
        assert np.sum(codes == MplPath.MOVETO) == 2
    assert np.isnan(np.asarray(lines["EVV"].get_ydata(), float)).all()
    lo, hi = ax.get_ylim()
    finite = bic.to_numpy()[np.isfinite(bic.to_numpy())]
    assert lo <= finite.min() and hi >= finite.max() and np.isfinite([lo, hi]).all()
    ax.figure.canvas.draw()


def test_bic_one_dimensional_models():
    bic = pd.DataFrame({"E": [-2201.8, -2090.4, -2101.8], "V": [-2201.8, -2096.0, np.nan]},
                       index=pd.Index([1, 2, 3], name="G"))
    ax = mp.plot_bic(bic)
    e, v = model_lines(ax)
    assert (e.get_label(), v.get_label()) == ("E", "V")
    assert to_hex(e.get_color()) == "#bebebe" and to_hex(v.get_color()) == "#000000"
    assert e.get_marker() == "^" and e.get_markerfacecolor() != "none"   # pch 17
    assert v.get_marker() == "^" and v.get_markerfacecolor() == "none"   # pch 2
    assert list(ax.get_xticks()) == [1, 2, 3]


# --------------------------------------------------------- classification


def check_ellipse(e, mu, S):
    vals, vecs = np.linalg.eigh(S)
    assert e.center == pytest.approx(tuple(mu))
    # mvn2plot: semi-axes are the standard deviations along the eigenvectors
    assert sorted([e.width, e.height]) == pytest.approx(sorted(2 * np.sqrt(vals)))
    major = vecs[:, np.argmax(vals)]
    ang = np.deg2rad(e.angle)
    assert abs(np.cos(ang) * major[0] + np.sin(ang) * major[1]) == pytest.approx(1.0)


def test_classification_2d_faithful(faithful):
    X, pro, mu, S, cl, un = faithful
    fig = mp.plot_classification(X, cl, mu, S)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eruptions", "waiting")
    es = ellipses(ax)
    assert len(es) == 3
    for g, e in enumerate(es):
        check_ellipse(e, mu[g], S[g])
    lines = class_lines(ax)
    assert [ln.get_label() for ln in lines] == ["1", "2", "3"]
    assert sum(len(ln.get_xdata()) for ln in lines) == len(X)
    for k, ln in enumerate(lines):
        assert to_hex(ln.get_color()) == mp.CLASS_PLOT_COLORS[k].lower()
        marker, filled, _ = mp._pch_style(mp.CLASS_PLOT_SYMBOLS[k])
        assert ln.get_marker() == marker
        assert (ln.get_markerfacecolor() == "none") == (not filled)
        np.testing.assert_array_equal(ln.get_xdata(), X["eruptions"].to_numpy()[cl == k + 1])
    # the means are marked (pch 8, an eight-armed asterisk)
    means = [ln for ln in ax.get_lines() if ln.get_label() == "_component mean"]
    assert len(means) == 3
    # limits cover the data as R's do (range extended by 4%)
    assert ax.get_xlim()[0] < X["eruptions"].min() and ax.get_xlim()[1] > X["eruptions"].max()


def test_classification_into_given_axes_and_numpy_input(faithful):
    X, pro, mu, S, cl, un = faithful
    fig, ax = plt.subplots()
    assert mp.plot_classification(X.to_numpy(), cl, mu, S, ax=ax) is ax
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert len(ellipses(ax)) == 3
    fig2 = plt.figure()
    assert mp.plot_classification(X, cl, mu, S, fig=fig2) is fig2 and len(fig2.axes) == 1


def test_classification_pairs_iris(iris):
    X, pro, mu, S, cl, un = iris
    d, G = X.shape[1], len(pro)
    fig = mp.plot_classification(X, cl, mu, S)
    assert len(fig.axes) == d * d
    grid = grid_of(fig, d)
    assert [grid[i, i].texts[0].get_text() for i in range(d)] == list(X.columns)
    assert len(panels(fig)) == d * (d - 1)
    for i in range(d):
        assert not ellipses(grid[i, i])
        for j in range(d):
            if i == j:
                continue
            ax = grid[i, j]
            es = ellipses(ax)
            assert len(es) == G
            p = [j, i]   # column j across, column i up, as mclust's pairs
            for g, e in enumerate(es):
                check_ellipse(e, mu[g, p], S[g][np.ix_(p, p)])
            assert sum(len(ln.get_xdata()) for ln in class_lines(ax)) == len(X)
            lo, hi = ax.get_xlim()
            assert lo < X.iloc[:, j].min() and hi > X.iloc[:, j].max()
            lo, hi = ax.get_ylim()
            assert lo < X.iloc[:, i].min() and hi > X.iloc[:, i].max()
    # tick labels alternate round the outside, as R's pairs(); none inside
    fig.canvas.draw()

    def shown(axis):
        t = axis.get_major_ticks()[0]
        return t.label1.get_visible(), t.label2.get_visible()

    for i in range(d):
        for j in range(d):
            bottom, top = shown(grid[i, j].xaxis)
            left, right = shown(grid[i, j].yaxis)
            assert top == (i == 0 and j % 2 == 1)
            assert bottom == (i == d - 1 and j % 2 == 0)
            assert left == (j == 0 and i % 2 == 1)
            assert right == (j == d - 1 and i % 2 == 0)


def test_classification_dims_select_a_marginal(iris):
    X, pro, mu, S, cl, un = iris
    for dims in (["Petal.Length", "Petal.Width"], [2, 3]):
        fig = mp.plot_classification(X, cl, mu, S, dims=dims)
        (ax,) = fig.axes
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("Petal.Length", "Petal.Width")
        for g, e in enumerate(ellipses(ax)):
            check_ellipse(e, mu[g, 2:], S[g, 2:, 2:])
    fig = mp.plot_classification(X, cl, mu, S, dims=[0, 1, 3])
    assert len(fig.axes) == 9 and len(panels(fig)) == 6
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="whole figure"):
        mp.plot_classification(X, cl, mu, S, ax=ax)
    with pytest.raises(ValueError, match="column"):
        mp.plot_classification(X, cl, mu, S, dims=["nope", "Petal.Width"])


def test_classification_1d(waiting):
    X, pro, mu, S, cl, un = waiting
    fig = mp.plot_classification(X, cl, mu, S)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "waiting" and ax.get_ylabel() == "Classification"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["", "1", "2"]
    rows = class_lines(ax)
    assert [ln.get_label() for ln in rows] == ["1", "2"]
    for k, ln in enumerate(rows, start=1):
        assert set(ln.get_ydata()) == {k}
        assert to_hex(ln.get_color()) == mp.CLASS_PLOT_COLORS[k - 1].lower()
        assert ln.get_marker() == "|"
        np.testing.assert_array_equal(ln.get_xdata(), X["waiting"].to_numpy()[cl == k])
    bottom = [ln for ln in ax.get_lines() if ln.get_label() == "_all"]
    assert sum(len(ln.get_xdata()) for ln in bottom) == len(X)
    assert all(set(ln.get_ydata()) == {0} and to_hex(ln.get_color()) == "#000000"
               for ln in bottom)
    # a 1-D array and 1-D parameters work too
    mp.plot_classification(X["waiting"].to_numpy(), cl, mu.ravel(), S.ravel())


def test_classification_input_errors(faithful):
    X, pro, mu, S, cl, un = faithful
    with pytest.raises(ValueError, match="entries"):
        mp.plot_classification(X, cl[:-1], mu, S)
    with pytest.raises(ValueError, match="sigma"):
        mp.plot_classification(X, cl, mu, S[:, :1])
    with pytest.raises(ValueError, match="means"):
        mp.plot_classification(X, cl, mu[:, :1], S)


# ------------------------------------------------------------ uncertainty


def check_bubbles(coll, cl, un):
    sizes = np.asarray(coll.get_sizes())
    rgba = np.asarray(coll.get_facecolors())
    assert len(sizes) == len(un) == len(rgba)
    # drawn from most certain to least: sizes and opacities rise with uncertainty
    assert np.all(np.diff(sizes) >= -1e-9)
    assert np.all(np.diff(rgba[:, 3]) >= -1e-9)
    assert rgba[:, 3].min() == pytest.approx(0.3)
    assert rgba[:, 3].max() == pytest.approx(0.9, abs=1e-6)
    assert np.sqrt(sizes.max() / sizes.min()) == pytest.approx(2.0 / 0.3, rel=1e-6)
    order = np.argsort(un, kind="stable")
    expected = np.array([to_rgba(mp.CLASS_PLOT_COLORS[c - 1])[:3] for c in cl[order]])
    np.testing.assert_allclose(rgba[:, :3], expected)


def test_uncertainty_2d_faithful(faithful):
    X, pro, mu, S, cl, un = faithful
    fig = mp.plot_uncertainty(X, cl, un, mu, S)
    ax = fig.axes[0]
    (coll,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    check_bubbles(coll, cl, un)
    offsets = np.asarray(coll.get_offsets())
    order = np.argsort(un, kind="stable")
    np.testing.assert_allclose(offsets, X.to_numpy()[order])
    assert len(ellipses(ax)) == 3
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eruptions", "waiting")


def test_uncertainty_pairs_iris(iris):
    X, pro, mu, S, cl, un = iris
    fig = mp.plot_uncertainty(X, cl, un, mu, S)
    d = X.shape[1]
    assert len(fig.axes) == d * d and len(panels(fig)) == d * (d - 1)
    for ax in panels(fig):
        assert len(ellipses(ax)) == len(pro)
        (coll,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        check_bubbles(coll, cl, un)
    grid = grid_of(fig, d)
    assert [grid[i, i].texts[0].get_text() for i in range(d)] == list(X.columns)


def test_uncertainty_1d(waiting):
    X, pro, mu, S, cl, un = waiting
    fig = mp.plot_uncertainty(X, cl, un, mu, S)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "waiting" and ax.get_ylabel() == "Uncertainty"
    assert ax.get_ylim() == (0.0, 1.0)
    sticks, rug = [c for c in ax.collections if isinstance(c, LineCollection)]
    segs = sticks.get_segments()
    order = np.argsort(un, kind="stable")
    tops = np.array([s[1, 1] for s in segs])
    np.testing.assert_allclose(tops, un[order])
    np.testing.assert_allclose([s[0, 0] for s in segs], X["waiting"].to_numpy()[order])
    assert len(rug.get_segments()) == len(X)


def test_uncertainty_rejects_bad_length(faithful):
    X, pro, mu, S, cl, un = faithful
    with pytest.raises(ValueError, match="uncertainty"):
        mp.plot_uncertainty(X, cl, un[:5], mu, S)


# ---------------------------------------------------------------- density


def test_mixture_density_matches_scipy(faithful):
    X, pro, mu, S, cl, un = faithful
    pts = X.to_numpy()[:20]
    expected = sum(pro[g] * multivariate_normal(mu[g], S[g]).pdf(pts) for g in range(len(pro)))
    np.testing.assert_allclose(mp._mixture_density(pts, pro, mu, S), expected, rtol=1e-12)


def test_density_2d_faithful(faithful):
    X, pro, mu, S, cl, un = faithful
    fig = mp.plot_density(X, pro, mu, S)
    ax = fig.axes[0]
    (cs,) = contour_sets(ax)
    levels = np.asarray(cs.levels)
    assert len(levels) >= 5
    gx = np.linspace(*ax.get_xlim(), 100)
    gy = np.linspace(*ax.get_ylim(), 100)
    xx, yy = np.meshgrid(gx, gy)
    zmax = mp._mixture_density(np.column_stack([xx.ravel(), yy.ravel()]), pro, mu, S).max()
    assert levels.min() > 0 and levels.max() < zmax
    # R's pretty(): equally spaced round numbers
    step = np.diff(levels)
    np.testing.assert_allclose(step, step[0])
    assert np.isclose(step[0] / 10 ** np.floor(np.log10(step[0])), [1, 2, 5]).any()
    assert cs.labelTexts  # levels are labelled, as mclust's contour()
    data = [ln for ln in ax.get_lines() if ln.get_label() == "_data"]
    assert len(data) == 1 and len(data[0].get_xdata()) == len(X)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eruptions", "waiting")


def test_density_levels_argument(faithful):
    X, pro, mu, S, cl, un = faithful
    fig = mp.plot_density(X, pro, mu, S, levels=[0.002, 0.01, 0.03], grid=60)
    np.testing.assert_allclose(contour_sets(fig.axes[0])[0].levels, [0.002, 0.01, 0.03])
    few = mp.plot_density(X, pro, mu, S, levels=3)
    many = mp.plot_density(X, pro, mu, S, levels=20)
    assert len(contour_sets(few.axes[0])[0].levels) < len(contour_sets(many.axes[0])[0].levels)


def test_density_pairs_iris(iris):
    X, pro, mu, S, cl, un = iris
    d = X.shape[1]
    fig = mp.plot_density(X, pro, mu, S, grid=50)
    grid = grid_of(fig, d)
    assert len(fig.axes) == d * d and len(panels(fig)) == d * (d - 1)
    assert [grid[i, i].texts[0].get_text() for i in range(d)] == list(X.columns)
    for i in range(d):
        assert not contour_sets(grid[i, i])
        for j in range(d):
            if i == j:
                continue
            (cs,) = contour_sets(grid[i, j])
            assert len(cs.levels) >= 1 and min(cs.levels) > 0
            data = [ln for ln in grid[i, j].get_lines() if ln.get_label() == "_data"]
            assert len(data) == (1 if j > i else 0)   # data above the diagonal
            if data:
                np.testing.assert_array_equal(data[0].get_xdata(), X.iloc[:, j].to_numpy())
                np.testing.assert_array_equal(data[0].get_ydata(), X.iloc[:, i].to_numpy())


def test_density_1d(waiting):
    X, pro, mu, S, cl, un = waiting
    fig = mp.plot_density(X, pro, mu, S)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "waiting" and ax.get_ylabel() == "Density"
    (curve,) = [ln for ln in ax.get_lines() if ln.get_label() == "density"]
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert x[0] < X["waiting"].min() and x[-1] > X["waiting"].max()
    area = np.sum((y[1:] + y[:-1]) / 2 * np.diff(x))
    assert area == pytest.approx(1.0, abs=2e-3)
    bars = ax.patches
    heights = np.array([b.get_height() for b in bars])
    widths = np.array([b.get_width() for b in bars])
    assert np.sum(heights * widths) == pytest.approx(1.0)
    # R: hist(faithful$waiting) has breaks 40, 45, ..., 100 and these counts
    # (right-closed bins)
    assert [b.get_x() for b in bars] == pytest.approx(np.arange(40, 100, 5))
    counts = np.round(heights * widths * len(X)).astype(int)
    assert counts.tolist() == [4, 22, 33, 24, 14, 10, 27, 54, 55, 23, 5, 1]
    assert ax.get_ylim()[0] == 0.0


def test_density_pro_mismatch(faithful):
    X, pro, mu, S, cl, un = faithful
    with pytest.raises(ValueError, match="pro"):
        mp.plot_density(X, pro[:2], mu, S)


# --------------------------------------------------------------- details


def test_pretty_matches_r():
    # values printed by R 4.2.2's pretty()
    np.testing.assert_allclose(mp._pretty(0, 0.5939026, 11), np.arange(13) * 0.05)
    np.testing.assert_allclose(mp._pretty(0, 3.300492, 11), np.arange(8) * 0.5)
    np.testing.assert_allclose(mp._pretty(43, 96, 9, min_n=1), np.arange(40, 101, 5))
    np.testing.assert_allclose(mp._pretty(1.6, 5.1, 9, min_n=1), np.arange(1.5, 5.51, 0.5))
    np.testing.assert_allclose(mp._pretty(-3.2, 7.7, 5), np.arange(-4, 9, 2))


def test_r_symbols_are_distinct_markers():
    styles = [mp._pch_style(p) for p in range(19)]
    assert len({(id(m) if isinstance(m, MplPath) else m, f) for m, f, _ in styles}) == 19
    assert [f for _, f, _ in styles] == [False] * 15 + [True] * 4
    assert mp._pch_style(7)[0] is mp._pch_style(7)[0]
    with pytest.raises(ValueError):
        mp._pch_style(19)
    assert len(mp.CLASS_PLOT_COLORS) == len(mp.CLASS_PLOT_SYMBOLS) == 19


def test_noise_class_zero_is_black(faithful):
    X, pro, mu, S, cl, un = faithful
    cl = cl.copy()
    cl[:10] = 0
    fig = mp.plot_classification(X, cl, mu, S)
    lines = class_lines(fig.axes[0])
    assert [ln.get_label() for ln in lines] == ["0", "1", "2", "3"]
    assert to_hex(lines[0].get_color()) == "#000000"
    assert to_hex(lines[1].get_color()) == mp.CLASS_PLOT_COLORS[0].lower()


def test_missing_matplotlib_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    bic = pd.read_csv(REF / "faithful_bic.csv", index_col="G")
    with pytest.raises(ImportError, match=r"pip install matplotlib.*emkit\[plot\]"):
        mp.plot_bic(bic)
