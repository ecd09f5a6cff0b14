"""Trace.heatmap on the packaged example trace, the binning kernel against a plain numpy
reference (hypothesis), the plot/PNG path and the CLI. The oracle checks on every corpus
trace are in test_summary.py (they share its parsed traces)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gotrace_fast
import oracle
from gotrace_fast import _gotrace_fast as native
from gotrace_fast.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trace() -> gotrace_fast.Trace:
    return gotrace_fast.parse(gotrace_fast.example_path())


# -- the kernel against numpy ----------------------------------------------------------------


def ref_overlap(s: np.ndarray, e: np.ndarray, rows: np.ndarray, nrows: int, edges: np.ndarray):
    """Overlap of every interval with every bin, by broadcasting (O(intervals x bins))."""
    lo = np.maximum(s[:, None], edges[None, :-1])
    hi = np.minimum(e[:, None], edges[None, 1:])
    ov = np.clip(hi - lo, 0, None)
    out = np.zeros((nrows, len(edges) - 1), dtype=np.int64)
    np.add.at(out, rows.astype(np.intp), ov)
    return out


def ref_count(t: np.ndarray, rows: np.ndarray, nrows: int, edges: np.ndarray):
    n = len(edges) - 1
    i = np.searchsorted(edges, t, side="right") - 1
    i = np.where(t == edges[-1], n - 1, i)
    ok = (t >= edges[0]) & (t <= edges[-1])
    out = np.zeros((nrows, n), dtype=np.int64)
    np.add.at(out, (rows[ok].astype(np.intp), i[ok]), 1)
    return out


@st.composite
def binning_case(draw: st.DrawFn):
    lo = draw(st.integers(-(10**12), 10**12))
    span = draw(st.integers(0, 10**6))
    nbins = draw(st.integers(1, 40))
    if draw(st.booleans()):
        edges = np.asarray(native.uniform_edges(lo, lo + span, nbins))
    else:
        inner = draw(st.lists(st.integers(lo, lo + span), min_size=nbins - 1, max_size=nbins - 1))
        edges = np.array([lo, *sorted(inner), lo + span], dtype=np.int64)
    nrows = draw(st.integers(1, 5))
    m = draw(st.integers(0, 40))
    starts = np.array(
        draw(st.lists(st.integers(lo - 1000, lo + span + 1000), min_size=m, max_size=m)),
        dtype=np.int64,
    )
    lens = np.array(
        draw(st.lists(st.integers(-10, span + 2000), min_size=m, max_size=m)), dtype=np.int64
    )
    rows = np.array(
        draw(st.lists(st.integers(0, nrows - 1), min_size=m, max_size=m)), dtype=np.uint32
    )
    return starts, starts + lens, rows, nrows, edges


@settings(max_examples=300, deadline=None)
@given(binning_case())
def test_kernel_matches_numpy(case) -> None:
    s, e, rows, nrows, edges = case
    np.testing.assert_array_equal(
        native.bin_overlap(s, e, rows, nrows, edges), ref_overlap(s, e, rows, nrows, edges)
    )
    np.testing.assert_array_equal(
        native.bin_count(s, rows, nrows, edges), ref_count(s, rows, nrows, edges)
    )


@given(st.integers(-(2**62), 2**61), st.integers(0, 2**61), st.integers(1, 10_000))
def test_uniform_edges_exact(start: int, span: int, bins: int) -> None:
    e = native.uniform_edges(start, start + span, bins)
    i = bins // 3
    assert len(e) == bins + 1
    assert int(e[i]) == start + span * i // bins  # Python ints: exact
    assert int(e[-1]) == start + span


# -- Trace.heatmap ---------------------------------------------------------------------------


def test_default_shape_and_edges(trace: gotrace_fast.Trace) -> None:
    h = trace.heatmap()
    assert h.values.dtype == np.float64
    assert h.edges.dtype == np.int64
    assert h.values.shape == (len(h.row_ids), 500)
    assert h.edges[0] == trace.start_ns
    assert h.edges[-1] == trace.end_ns
    assert len(h.row_labels) == len(h.row_ids)
    assert (h.by, h.state, h.value) == ("goroutine", ("running",), "time")
    totals = h.values.sum(axis=1)
    assert np.all(np.diff(totals) <= 0), "sorted by total, descending"


def test_running_rows_are_interval_sums(trace: gotrace_fast.Trace) -> None:
    """Rows equal the sums of the Running intervals (no clipping at the default span)."""
    iv = trace.intervals("goroutine")
    run = iv.state == int(gotrace_fast.GoState.Running)
    ids, inv = np.unique(iv.id[run], return_inverse=True)
    want = np.bincount(inv, weights=(iv.end - iv.start)[run])
    h = trace.heatmap(50, sort="id")
    assert np.array_equal(h.row_ids, ids)
    assert np.array_equal(h.values.sum(axis=1), want)


def test_top_other_keeps_column_sums(trace: gotrace_fast.Trace) -> None:
    full = trace.heatmap(40, sort="total")
    top = trace.heatmap(40, top=5)
    assert top.values.shape == (6, 40)
    assert top.row_labels[-1] == "other"
    assert top.row_ids[-1] == -1
    np.testing.assert_array_equal(top.values[:5], full.values[:5])
    np.testing.assert_array_equal(top.values.sum(axis=0), full.values.sum(axis=0))
    first = trace.heatmap(40, sort="first", top=3)
    assert first.row_labels[-1] == "other"


@pytest.mark.parametrize(
    ("by", "sort", "value"),
    [
        ("goroutine", "total", "time"),
        ("goroutine", "first", "fraction"),
        ("goroutine", "id", "count"),
        ("function", "total", "time"),
        ("thread", "total", "time"),
    ],
)
def test_top_of_a_heatmap_is_the_heatmap_with_top(
    trace: gotrace_fast.Trace, by: str, sort: str, value: str
) -> None:
    full = trace.heatmap(40, by=by, sort=sort, value=value)
    assert len(full.row_ids) > 7
    assert not full.has_other
    for n in (0, 1, 7):
        want = trace.heatmap(40, by=by, sort=sort, value=value, top=n)
        got = full.top(n)
        assert got.has_other
        assert want.has_other
        assert got.row_labels == want.row_labels
        np.testing.assert_array_equal(got.row_ids, want.row_ids)
        # Fractions: the kernel divides the summed ns, top() sums the quotients.
        same = np.testing.assert_array_equal if value != "fraction" else np.testing.assert_allclose
        same(got.values, want.values)
        np.testing.assert_array_equal(got.values[:n], want.values[:n])
        # ... and of one computed with a larger top, whose "other" row it merges.
        again = trace.heatmap(40, by=by, sort=sort, value=value, top=n + 3).top(n)
        same(again.values, want.values)
        assert again.row_labels == want.row_labels
    assert full.top(len(full.row_ids)) is full
    with pytest.raises(ValueError, match="n must be >= 0"):
        full.top(-1)


def test_plot_draws_at_most_max_rows(trace: gotrace_fast.Trace) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    h = trace.heatmap(50)
    assert h.values.shape[0] > 12
    ax = h.plot(Figure().subplots(), max_rows=12)
    (img,) = ax.get_images()
    drawn = h.top(12)
    assert img.get_array().shape == (13, 50)
    np.testing.assert_array_equal(np.ma.filled(img.get_array(), 0), drawn.values)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == drawn.row_labels
    assert labels[-1] == "other"
    ax = h.plot(Figure().subplots(), max_rows=None)
    assert ax.get_images()[0].get_array().shape == h.values.shape


def test_function_and_thread_totals(trace: gotrace_fast.Trace) -> None:
    g = trace.heatmap(30)
    f = trace.heatmap(30, by="function")
    m = trace.heatmap(30, by="thread")
    np.testing.assert_array_equal(f.values.sum(axis=0), g.values.sum(axis=0))
    np.testing.assert_array_equal(m.values.sum(axis=0), g.values.sum(axis=0))
    assert all(lbl for lbl in f.row_labels)


def test_state_rows_and_count(trace: gotrace_fast.Trace) -> None:
    s = trace.heatmap(20, by="state")
    assert s.row_labels == ["running", "runnable", "waiting", "syscall"]
    c = trace.heatmap(20, value="count", state="runnable")
    iv = trace.intervals("goroutine")
    n = int((iv.state == int(gotrace_fast.GoState.Runnable)).sum())
    assert c.values.sum() == n  # every interval starts inside [first, last event]


def test_window_and_fraction(trace: gotrace_fast.Trace) -> None:
    t0, t1 = trace.start_ns, trace.end_ns
    assert t0 is not None
    assert t1 is not None
    mid = (t0 + t1) // 2
    a = trace.heatmap(10, start=t0, end=mid, by="proc", sort="id")
    b = trace.heatmap(10, start=mid, end=t1, by="proc", sort="id")
    whole = trace.heatmap(10, by="proc", sort="id")
    np.testing.assert_array_equal(
        a.values.sum(axis=1) + b.values.sum(axis=1), whole.values.sum(axis=1)
    )
    f = trace.heatmap(10, by="proc", value="fraction", state=["running", "idle"])
    assert f.values.max() <= 1.0


def test_bad_arguments(trace: gotrace_fast.Trace) -> None:
    with pytest.raises(ValueError, match="by must be"):
        trace.heatmap(by="bogus")
    with pytest.raises(ValueError, match="state"):
        trace.heatmap(by="proc", state="waiting")
    with pytest.raises(ValueError, match="increasing"):
        trace.heatmap(np.array([3, 2, 5]))
    with pytest.raises(ValueError, match="bins"):
        trace.heatmap(0)
    with pytest.raises(ValueError, match="value"):
        trace.heatmap(value="mean")


def test_pickle_and_pandas(trace: gotrace_fast.Trace) -> None:
    h = trace.heatmap(25, top=4)
    h2 = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(h2.values, h.values)
    assert h2.row_labels == h.row_labels
    df = h.to_pandas()
    assert df.shape == h.values.shape
    assert list(df.index) == h.row_labels


def test_gc_stw_overlays(trace: gotrace_fast.Trace) -> None:
    h = trace.heatmap(10)
    names = [trace.string(int(n)) for n in trace.ranges.name]
    assert len(h.gc) == names.count("GC concurrent mark phase")
    assert len(h.stw) == sum(n.startswith("stop-the-world") for n in names)
    for a in (h.gc, h.stw):
        assert a.dtype == np.int64
        assert a.shape[1:] == (2,)
        assert np.all(a[:, 0] <= a[:, 1])


# -- plots, PNG, CLI -------------------------------------------------------------------------


def test_import_does_not_import_matplotlib() -> None:
    code = (
        "import sys, gotrace_fast\n"
        "t = gotrace_fast.parse(gotrace_fast.example_path())\n"
        "t.heatmap(10)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plot_and_repr_png(trace: gotrace_fast.Trace) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    h = trace.heatmap(60, top=8)
    ax = h.plot(Figure().subplots(), norm="linear")
    assert ax.get_xlabel().startswith("time since trace start (")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == h.row_labels
    png = h._repr_png_()
    assert png is not None
    assert png.startswith(PNG_MAGIC)


def test_cli_heatmap_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "h.png"
    assert main(["heatmap", "--example", "-o", str(out), "--bins", "200", "--top", "12"]) == 0
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600
    assert height >= 200
    assert "13 rows x 200 bins" in capsys.readouterr().out


@pytest.mark.parametrize(("top", "rows"), [("0", 200), ("250", 250)])
def test_cli_heatmap_draws_the_rows_it_computes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], top: str, rows: int
) -> None:
    """--top 0 computes (and draws) as many rows as a plot draws by default; a larger
    --top is drawn whole. Checked on a trace with more goroutines than either."""
    pytest.importorskip("matplotlib")
    oracle.require_shared()
    path = oracle.CORPUS / "go1.27.3-mixed-medium.trace"
    assert len(gotrace_fast.parse(path).heatmap(10).row_ids) > 300
    out = tmp_path / "h.png"
    assert main(["heatmap", str(path), "-o", str(out), "--bins", "50", "--top", top]) == 0
    assert f"{rows + 1} rows x 50 bins" in capsys.readouterr().out
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_cli_state_heatmap_top_0_keeps_the_states_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state heatmap has a few rows: --top 0 computes it unranked (states in order)."""
    pytest.importorskip("matplotlib")
    import gotrace_fast.cli as cli

    made: list[gotrace_fast.Heatmap] = []

    def spy(*args: Any, **kwargs: Any) -> gotrace_fast.Heatmap:
        made.append(gotrace_fast.heatmap(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(cli, "heatmap", spy)
    out = tmp_path / "s.png"
    assert main(["heatmap", "--example", "-o", str(out), "--by", "state", "--top", "0"]) == 0
    assert "4 rows x 500 bins" in capsys.readouterr().out
    assert made[0].row_labels == ["running", "runnable", "waiting", "syscall"]


def test_cli_heatmap_bad_state(tmp_path: Path) -> None:
    assert main(["heatmap", "--example", "-o", str(tmp_path / "x.png"), "--state", "nope"]) == 2


def test_select_and_xarray(trace: gotrace_fast.Trace) -> None:
    h = trace.heatmap(30, by="reason", value="fraction")
    sub = h.select(["network", "sync"])
    assert sub.row_labels == ["network", "sync"]
    np.testing.assert_array_equal(sub.values[1], h.values[h.row_labels.index("sync")])
    with pytest.raises(KeyError):
        h.select(["no such reason"])
    pytest.importorskip("xarray")
    da = h.to_xarray()
    assert da.dims == ("reason", "time")
    np.testing.assert_array_equal(da.values, h.values)
    assert list(da.coords["row_label"].values) == h.row_labels
    np.testing.assert_array_equal(da.coords["row_id"].values, h.row_ids)
    np.testing.assert_array_equal(da.coords["bin_start_ns"].values, h.edges[:-1])
    np.testing.assert_array_equal(da.coords["bin_end_ns"].values, h.edges[1:])
    assert da.attrs["value"] == "fraction"
    i = h.row_labels.index("sync")
    assert float(da.isel(reason=i).sum()) == pytest.approx(h.values[i].sum())


def test_io_vs_gc_recipe(trace: gotrace_fast.Trace) -> None:
    """The README recipe: network-blocked goroutines against GC / STW periods."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    h = trace.heatmap(300, by="reason", value="fraction")
    rows = [
        r
        for r in ("network", "wait until GC ends", "GC mark assist wait for work")
        if r in h.row_labels
    ]
    ax = h.select(rows).plot(Figure().subplots(), norm="linear")
    assert [t.get_text() for t in ax.get_yticklabels()] == rows
    assert len(h.gc) > 0  # shaded


@pytest.mark.slow
def test_cli_png_medium_go127(tmp_path: Path) -> None:
    """The CLI on the medium Go 1.27 corpus trace (time axis in s, GC shading)."""
    pytest.importorskip("matplotlib")
    oracle.require_shared()
    path = oracle.CORPUS / "go1.27.3-mixed-medium.trace"
    out = tmp_path / "m.png"
    assert main(["heatmap", str(path), "-o", str(out), "--bins", "300"]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
