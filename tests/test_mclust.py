"""emkit.mclust against mclust 6.0.0's stored outputs (tests/reference/mclust).

Every non-NaN BIC and ICL cell must equal mclust's to 1e-6 relative and the
NaN cells must agree; the chosen model, its log-likelihood, df, ICL,
classification and the printed layouts must match.  The references come from
make_reference.R and extra/make_extra_reference.R beside them.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emkit
from emkit import hierarchical

REF = Path(__file__).parent / "reference" / "mclust"
EXTRA = REF / "extra"
DATASETS = ["faithful", "iris", "diabetes", "waiting", "banknote", "faithful_round"]
RTOL = 1e-6


def load(name: str) -> pd.DataFrame:
    path = REF / f"{name}.csv"
    return pd.read_csv(path if path.exists() else EXTRA / f"{name}.csv")


def reference(name: str, what: str) -> pd.DataFrame:
    path = REF / f"{name}_{what}.csv"
    return pd.read_csv(path if path.exists() else EXTRA / f"{name}_{what}.csv")


@pytest.fixture(scope="module")
def fits():
    """One mclust() and one mclust_icl() per data set, shared by the tests."""
    return {name: (emkit.mclust(load(name), verbose=False),
                   emkit.mclust_icl(load(name), verbose=False)) for name in DATASETS}


def unidentified_starts(name: str) -> list:
    """G whose hierarchical start has a class of at most d rows.

    Such a class's scatter is singular, so the eigenvectors of its null space
    -- and with them the first M-step of the models with per-component
    orientation and a shared shape (EEV, VEV) -- are whatever the
    eigensolver returns: mclust gets them from LINPACK-style Givens QR plus
    LAPACK's dgesvd, emkit from the scatter's eigendecomposition.  EM then
    reaches the same optimum along a different path and stops at a slightly
    different point (1e-6 rather than 1e-15)."""
    X = load(name).to_numpy()
    if X.shape[1] == 1:
        return []
    classes = hierarchical.initial_classes(X, range(2, 10))
    return [G for G, c in classes.items() if np.bincount(c)[1:].min() <= X.shape[1]]


def assert_table_matches(ours: pd.DataFrame, theirs: pd.DataFrame, what: str, loose=()):
    theirs = theirs.set_index("G")
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.index) == list(theirs.index)
    both_nan = ours.isna().to_numpy() == theirs.isna().to_numpy()
    assert both_nan.all(), (
        f"{what}: NaN cells differ; ours NaN at "
        f"{[(g, m) for g in ours.index for m in ours.columns if np.isnan(ours.at[g, m])]}")
    a, b = ours.to_numpy(), theirs.to_numpy(dtype=float)
    rows = [g in loose for g in ours.index]
    loose_cells = np.isin(ours.columns, ["EEV", "VEV"])[None, :] & np.array(rows)[:, None]
    ok = np.isfinite(b) & ~loose_cells
    assert np.allclose(a[loose_cells], b[loose_cells], rtol=1e-5, equal_nan=True), what
    rel = np.abs(a[ok] - b[ok]) / np.abs(b[ok])
    worst = np.unravel_index(np.argmax(np.where(ok, np.abs(a - b) / np.abs(b), 0)), a.shape)
    assert rel.max() <= RTOL, (
        f"{what}: worst cell G={ours.index[worst[0]]}, {ours.columns[worst[1]]}: "
        f"{a[worst]} vs mclust {b[worst]} (rel {rel.max():.2e})")


@pytest.mark.parametrize("name", DATASETS)
def test_bic_table_equals_mclust(fits, name):
    assert_table_matches(fits[name][0].bic_table, reference(name, "bic"), f"{name} BIC",
                         unidentified_starts(name))


@pytest.mark.parametrize("name", DATASETS)
def test_icl_table_equals_mclust(fits, name):
    assert_table_matches(fits[name][1].table, reference(name, "icl"), f"{name} ICL",
                         unidentified_starts(name))


@pytest.mark.parametrize("name", DATASETS)
def test_chosen_model_equals_mclust(fits, name):
    res, best = fits[name][0], reference(name, "best").iloc[0]
    assert (res.model_name, res.G, res.df) == (best["model"], best["G"], best["df"])
    assert res.loglik == pytest.approx(best["loglik"], rel=RTOL)
    assert res.bic == pytest.approx(best["bic"], rel=RTOL)
    assert res.icl == pytest.approx(best["icl"], rel=RTOL)
    cls = reference(name, "class")
    assert (res.classification.to_numpy() == cls["classification"].to_numpy()).all()
    assert res.uncertainty.to_numpy() == pytest.approx(cls["uncertainty"].to_numpy(),
                                                       abs=1e-5)
    assert res.z.shape == (res.n, res.G)
    assert res.z.to_numpy().sum(axis=1) == pytest.approx(1.0)


def r_text(path: Path) -> list[str]:
    return [line.rstrip() for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name", DATASETS)
def test_summary_prints_like_mclust(fits, name):
    ours = [line.rstrip() for line in str(fits[name][0].summary(parameters=True)).splitlines()]
    assert ours == r_text(EXTRA / f"{name}_summary.txt")


def printed_table(table) -> list[str]:
    """The table as printed, less emkit's closing note on failed fits (R has none)."""
    text = str(table)
    note = f"\n\n{len(table.reasons)} fit(s) failed (NA); .reasons says why"
    assert text.endswith(note) == bool(table.reasons)
    return [line.rstrip() for line in text.removesuffix(note).splitlines()]


@pytest.mark.parametrize("name", ["faithful", "iris", "diabetes", "waiting"])
def test_bic_and_icl_tables_print_like_mclust(fits, name):
    res, icl = fits[name]
    assert printed_table(res.BIC) == r_text(EXTRA / f"{name}_bic_table_print.txt")
    assert [s.rstrip() for s in res.BIC.summary().splitlines()] == r_text(
        EXTRA / f"{name}_bic_summary_print.txt")
    assert printed_table(icl) == r_text(EXTRA / f"{name}_icl_table_print.txt")


def test_failed_cells_say_why(fits):
    bic = fits["iris"][0].BIC
    nan_cells = {(g, m) for g in bic.table.index for m in bic.table.columns
                 if np.isnan(bic.table.at[g, m])}
    assert nan_cells and set(bic.reasons) == nan_cells
    assert all(isinstance(why, str) and why for why in bic.reasons.values())


@pytest.mark.parametrize("name", ["faithful", "iris"])
def test_predict_equals_mclust(fits, name):
    res, ref = fits[name][0], pd.read_csv(EXTRA / f"{name}_predict.csv")
    new = load(name).head(10)
    pred = res.predict(new)
    assert (pred.classification.to_numpy() == ref["classification"].to_numpy()).all()
    assert pred.z.to_numpy() == pytest.approx(ref.filter(like="z").to_numpy(), abs=1e-7)
    assert (pred.z.index == new.index).all()


def test_restricted_sweep_equals_mclust():
    faithful, ref = load("faithful"), pd.read_csv(EXTRA / "faithful_restricted.csv")
    for G, models, row in [(2, "VVV", ref.iloc[0]), (range(1, 4), ["EII", "VVV"], ref.iloc[1])]:
        res = emkit.mclust(faithful, G=G, models=models, verbose=False)
        assert (res.model_name, res.G) == (row["model"], row["G"])
        assert res.bic == pytest.approx(row["bic"], rel=RTOL)
        assert res.icl == pytest.approx(row["icl"], rel=RTOL)
    table = emkit.mclust_bic(faithful, G=range(1, 4), models=["EII", "VVV"], verbose=False)
    assert_table_matches(table.table, pd.read_csv(EXTRA / "faithful_restricted_bic.csv"),
                         "restricted")


def test_result_keeps_the_callers_index_and_data():
    faithful = load("faithful")
    faithful.index = [f"row{i}" for i in range(len(faithful))]
    before = faithful.copy()
    res = emkit.mclust(faithful, G=2, models="VVV", verbose=False)
    pd.testing.assert_frame_equal(faithful, before)
    assert list(res.z.index) == list(faithful.index)
    assert list(res.classification.index) == list(faithful.index)
    assert list(res.parameters.mean.index) == list(faithful.columns)
    assert res.parameters.variance.sigma.shape == (2, 2, 2)


def test_bic_sign_and_formula(fits):
    res = fits["faithful"][0]
    assert res.bic == pytest.approx(2 * res.loglik - res.df * np.log(res.n))
    top = res.BIC.top(3)
    assert list(top.index)[0] == f"{res.model_name},{res.G}"
    assert top.is_monotonic_decreasing


def test_kmeans_and_random_starts_are_reproducible():
    faithful = load("faithful")
    runs = [emkit.mclust_bic(faithful, G=range(2, 4), models=["VVV", "EEE"],
                             initialization=init, n_init=3, random_state=7, verbose=False)
            for init in ("kmeans", "kmeans", "random", "random")]
    pd.testing.assert_frame_equal(runs[0].table, runs[1].table)
    pd.testing.assert_frame_equal(runs[2].table, runs[3].table)
    # two clusters are unambiguous: every start reaches mclust's optimum
    hc = emkit.mclust_bic(faithful, G=2, models=["VVV", "EEE"], verbose=False)
    for run in (runs[0], runs[2]):
        assert run.table.loc[2].to_numpy() == pytest.approx(hc.table.loc[2].to_numpy(),
                                                            rel=1e-6)
    assert np.isfinite(runs[2].table.to_numpy()).all()


def test_large_data_uses_a_seedable_subset_for_the_tree():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(np.vstack([rng.normal(0, 1, (1500, 2)), rng.normal(5, 1, (1500, 2))]),
                     columns=["a", "b"])
    a = emkit.mclust_bic(X, G=[2, 3], models=["EII", "VVV"], random_state=1, verbose=False)
    b = emkit.mclust_bic(X, G=[2, 3], models=["EII", "VVV"], random_state=1, verbose=False)
    pd.testing.assert_frame_equal(a.table, b.table)
    other = emkit.mclust_bic(X, G=[2, 3], models=["EII", "VVV"], random_state=2, verbose=False)
    assert not np.allclose(a.table.loc[3], other.table.loc[3], rtol=1e-9)  # the seed matters
    full = emkit.mclust_bic(X, G=[2, 3], models=["EII", "VVV"], subset=None, verbose=False)
    # two well-separated clusters: any sensible start finds the same optimum at G = 2
    assert a.table.loc[2].to_numpy() == pytest.approx(full.table.loc[2].to_numpy(), rel=1e-6)


def test_thread_count_does_not_change_results():
    iris = load("iris")
    one = emkit.mclust_bic(iris, G=range(1, 5), n_threads=1, verbose=False)
    two = emkit.mclust_bic(iris, G=range(1, 5), n_threads=2, verbose=False)
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=True)


@pytest.mark.parametrize("bad, match", [
    (lambda df: df.assign(waiting=df["waiting"].where(df.index != 3)), "waiting.*dropna"),
    (lambda df: df.assign(eruptions=np.inf), "eruptions"),
    (lambda df: df.assign(const=1.0), "constant column.*const"),
    (lambda df: df.assign(name="x"), "non-numeric.*name"),
    (lambda df: df.head(0), "row"),
])
def test_bad_data_is_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        emkit.mclust(bad(load("faithful")), G=2, verbose=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(G=300), "larger than the number of rows"),
    (dict(G=0), "G must be >= 1"),
    (dict(models=["VVV", "XYZ"]), r"unknown model name\(s\) \['XYZ'\]"),
    (dict(models=["E"]), "one-column"),
    (dict(initialization="ward"), "initialization"),
    (dict(initialization="hc", n_init=3), "deterministic"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        emkit.mclust(load("faithful"), verbose=False, **kwargs)


def test_all_failed_cells_raise_with_reasons():
    X = pd.DataFrame({"a": [0.0, 0, 0, 1, 1, 1], "b": [0.0, 1, 2, 0, 1, 2]})
    table = emkit.mclust_bic(X, G=[5, 6], models=["VVV"], verbose=False)
    assert table.table.isna().all().all() and len(table.reasons) == 2
    with pytest.raises(emkit.DegenerateFitError, match="no model could be fitted"):
        emkit.mclust(X, G=[5, 6], models=["VVV"], verbose=False)


def test_command_line(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "emkit", "mclust", str(REF / "faithful.csv"),
                          "--classification", str(tmp_path / "cls.csv")],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    assert "Mclust EEE (ellipsoidal, equal volume, shape and orientation)" in out
    assert "Top 3 models based on the BIC criterion" in out
    cls = pd.read_csv(tmp_path / "cls.csv")
    assert (cls["classification"] == reference("faithful", "class")["classification"]).all()
    bad = subprocess.run([sys.executable, "-m", "emkit", "mclust", str(REF / "faithful.csv"),
                          "--models", "XYZ"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "XYZ" in bad.stderr


@pytest.mark.parametrize("name", ["single2d", "single1d"])
def test_small_samples_and_one_component_print_like_mclust(name):
    folder = REF / "single"
    res = emkit.mclust(pd.read_csv(folder / f"{name}.csv"), verbose=False)
    best = pd.read_csv(folder / f"{name}_best.csv").iloc[0]
    assert (res.model_name, res.G, res.df) == (best["model"], best["G"], best["df"])
    assert res.bic == pytest.approx(best["bic"], rel=RTOL)
    ours = [line.rstrip() for line in str(res.summary(parameters=True)).splitlines()]
    assert ours == r_text(folder / f"{name}_summary.txt")


def test_inputs_of_every_shape():
    faithful = load("faithful")
    as_array = emkit.mclust(faithful.to_numpy(), G=np.int64(2), models="VVV", verbose=False)
    as_frame = emkit.mclust(faithful, G=[2], models=["VVV"], verbose=False)
    assert as_array.bic == as_frame.bic
    assert list(as_array.parameters.mean.index) == ["X1", "X2"]
    waiting = faithful["waiting"]
    one = emkit.mclust(waiting, verbose=False)
    assert (one.model_name, one.G) == ("E", 2)
    pred = one.predict(pd.Series([50.0, 80.0], index=["a", "b"]))
    assert list(pred.classification.index) == ["a", "b"]
    assert list(pred.classification) == [1, 2]
    # reordered and extra columns are fine; a missing or wrong-sized one is named
    new = faithful.assign(other=1.0)[["waiting", "other", "eruptions"]].head(3)
    assert (as_frame.predict(new).z.to_numpy() == as_frame.predict(faithful.head(3)).z.to_numpy()).all()
    with pytest.raises(ValueError, match="lacks the fitted column"):
        as_frame.predict(faithful[["waiting"]])
    with pytest.raises(ValueError, match="2 fitted columns"):
        as_frame.predict(np.ones((2, 3)))
    assert as_frame.predict().classification.equals(as_frame.classification)


def test_small_and_duplicated_data_give_nan_cells_not_errors():
    faithful = load("faithful")
    repeated = pd.concat([faithful.head(5)] * 2, ignore_index=True)  # 5 distinct rows
    table = emkit.mclust_bic(repeated, verbose=False)
    assert table.table.loc[6:].isna().all().all()
    assert "fewer than 6 distinct rows" in table.reasons[6, "VVV"]
    tiny = emkit.mclust_bic(faithful.head(5), verbose=False)
    assert list(tiny.table.index) == [1, 2, 3, 4, 5]  # mclust's default G, cut at n
    wide = emkit.mclust_bic(pd.DataFrame(np.random.default_rng(0).normal(size=(4, 5))),
                            verbose=False)
    assert list(wide.table.columns) == ["EII", "VII", "EEI", "VEI", "EVI", "VVI"]  # n <= d


def test_printing_an_all_failed_table():
    X = pd.DataFrame({"a": [0.0, 0, 0, 1, 1, 1], "b": [0.0, 1, 2, 0, 1, 2]})
    table = emkit.mclust_bic(X, G=[5, 6], models=["VVV"], verbose=False)
    assert "None of the models could be fitted" in str(table)
    assert "none" in table.summary()


def test_subset_start_equals_mclust():
    """More than 2000 rows: the tree on the given subset rows, an M-step there,
    an E-step on all rows, EM on all rows and the final M-step (mclust's path,
    R run with initialization = list(subset = ...))."""
    folder = REF / "subset"
    X = pd.read_csv(folder / "mixture2500.csv")
    rows = pd.read_csv(folder / "subset_rows.csv")["row"].to_numpy()
    res = emkit.mclust(X, G=range(1, 6), subset=rows, verbose=False)
    assert_table_matches(res.bic_table, pd.read_csv(folder / "subset_bic.csv"), "subset BIC")
    best = pd.read_csv(folder / "subset_best.csv").iloc[0]
    assert (res.model_name, res.G, res.df) == (best["model"], best["G"], best["df"])
    assert res.loglik == pytest.approx(best["loglik"], rel=RTOL)
    assert res.icl == pytest.approx(best["icl"], rel=RTOL)
    cls = pd.read_csv(folder / "subset_class.csv")["classification"].to_numpy()
    assert (res.classification.to_numpy() == cls).all()
    with pytest.raises(ValueError, match="distinct row positions"):
        emkit.mclust_bic(X, G=2, subset=[0, 0, 1], verbose=False)
