"""gotrace_fast.summary and gotrace_fast.heatmap (streaming, no event table) against the
batch analysis of the parsed trace (itself checked against the oracle in
test_summary.py), on every corpus trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gotrace_fast as gt
import oracle
from gotrace_fast import _gotrace_fast as native
from gotrace_fast import cli


def _corpus() -> list[Any]:
    if not oracle.CORPUS.is_dir():
        return [pytest.param(None, id="no-corpus")]
    return [
        pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.stat().st_size > 2e6 else [])
        for p in sorted(oracle.CORPUS.glob("*.trace"))
    ]


@pytest.fixture(scope="module", params=_corpus())
def case(request: pytest.FixtureRequest) -> tuple[Path, gt.Trace]:
    oracle.require_shared()
    path: Path = request.param
    return path, gt.parse(path)


def _same_table(a: Any, b: Any, what: str) -> None:
    assert list(a.columns) == list(b.columns), what
    for col in a.columns:
        np.testing.assert_array_equal(a[col], b[col], err_msg=f"{what}.{col}")


@pytest.mark.parametrize("threads", [None, 2, 3])
def test_summary_equals_batch(case: tuple[Path, gt.Trace], threads: int | None) -> None:
    """threads=2: the analysis runs beside the reader, on a replica of its tables (by
    default traces under 1 MB are read on one thread); threads=3: the reader has two,
    and orders Go 1.26+ generations speculatively, two at a time."""
    path, t = case
    s = gt.summary(path, threads=threads)
    a, b = t.analysis, s.analysis
    _same_table(t.goroutines, s.goroutines, "goroutines")
    _same_table(t.procs, s.procs, "procs")
    _same_table(t.ranges, s.ranges, "ranges")
    _same_table(a.goroutine_states, b.goroutine_states, "goroutine_states")
    _same_table(a.regions, b.regions, "regions")
    assert a.goroutines_json() == b.goroutines_json()
    assert a.goroutine_states_json() == b.goroutine_states_json()
    assert a.procs_json() == b.procs_json()
    assert a.task_summaries_json() == b.task_summaries_json()
    assert a.ranges_json() == b.ranges_json()
    assert (a.gc, a.stw, a.state_time_ns()) == (b.gc, b.stw, b.state_time_ns())
    assert b.intervals == {}
    assert len(s) == len(t)
    assert s.counts_by_kind() == t.counts_by_kind()
    assert (s.start_ns, s.end_ns, s.duration_ns) == (t.start_ns, t.end_ns, t.duration_ns)
    assert (s.version, s.generations) == (t.version, t.generations)
    for ids in ("goroutine_ids", "proc_ids", "thread_ids"):
        np.testing.assert_array_equal(getattr(s, ids)(), getattr(t, ids)(), err_msg=ids)
    if threads is None:
        # What `gotrace-fast summary --json` prints (from the streaming summary).
        assert cli.summary_dict(s, path.name) == cli.summary_dict(t, path.name)
    if len(s.goroutines):
        sid = int(s.goroutines.name[-1])
        assert s.string(sid) == t.string(sid)


HEATMAPS: list[tuple[int, dict[str, Any]]] = [
    (300, {}),
    (300, {"top": 10}),
    (200, {"by": "function", "top": 5, "value": "fraction"}),
    (100, {"by": "state", "value": "count"}),
    (100, {"by": "reason"}),
    (150, {"by": "proc", "state": ["running", "idle"], "sort": "first"}),
    (120, {"by": "thread", "top": 3, "sort": "id"}),
    (64, {"state": "waiting", "value": "count", "top": 7, "sort": "first"}),
    (50, {"by": "state", "state": ["syscall", "running"], "top": 1}),
]


def _same_heatmap(a: gt.Heatmap, b: gt.Heatmap, what: str) -> None:
    np.testing.assert_array_equal(a.edges, b.edges, err_msg=f"{what}: edges")
    np.testing.assert_array_equal(a.row_ids, b.row_ids, err_msg=f"{what}: row_ids")
    assert a.row_labels == b.row_labels, what
    np.testing.assert_array_equal(a.values, b.values, err_msg=f"{what}: values")
    assert a.values.dtype == b.values.dtype == np.float64
    np.testing.assert_array_equal(a.gc, b.gc, err_msg=f"{what}: gc")
    np.testing.assert_array_equal(a.stw, b.stw, err_msg=f"{what}: stw")
    assert (a.by, a.state, a.value, a.trace_start) == (b.by, b.state, b.value, b.trace_start)


@pytest.mark.parametrize(("bins", "kw"), HEATMAPS, ids=[str(i) for i in range(len(HEATMAPS))])
def test_heatmap_equals_batch(case: tuple[Path, gt.Trace], bins: int, kw: dict[str, Any]) -> None:
    path, t = case
    want = t.heatmap(bins, **kw)
    _same_heatmap(want, gt.heatmap(path, bins, **kw), f"{path.name} {kw}")
    # The binning on a thread of its own, beside the reader; then beside a reader of two
    # threads that orders Go 1.26+ generations speculatively.
    _same_heatmap(want, gt.heatmap(path, bins, threads=2, **kw), f"{path.name} {kw} threads=2")
    _same_heatmap(want, gt.heatmap(path, bins, threads=3, **kw), f"{path.name} {kw} threads=3")


# Goroutine heatmaps with `top`: the streaming path drops the rows of ended goroutines
# that can no longer reach the top, a pass every 32,768 ended goroutines; here after every
# one, so that the corpus traces prune too.
PRUNED: list[tuple[int, dict[str, Any]]] = [
    (300, {"top": 10}),
    (90, {"top": 1, "value": "fraction"}),
    (64, {"state": "waiting", "value": "count", "top": 7, "sort": "first"}),
    (77, {"state": ["running", "syscall"], "top": 4, "sort": "id"}),
    (33, {"state": "runnable", "top": 2, "sort": "first"}),
]


@pytest.fixture
def prune_often() -> Iterator[None]:
    native._set_prune_min(1)
    try:
        yield
    finally:
        native._set_prune_min(None)


@pytest.mark.parametrize(("bins", "kw"), PRUNED, ids=[str(i) for i in range(len(PRUNED))])
def test_pruned_heatmap_equals_batch(
    case: tuple[Path, gt.Trace], bins: int, kw: dict[str, Any], prune_often: None
) -> None:
    path, t = case
    want = t.heatmap(bins, **kw)
    _same_heatmap(want, gt.heatmap(path, bins, **kw), f"{path.name} {kw}")
    _same_heatmap(want, gt.heatmap(path, bins, threads=2, **kw), f"{path.name} {kw} threads=2")


def test_pruned_goroutine_coming_back(prune_often: None) -> None:
    # Goroutine 5 ends early and is dropped behind goroutine 1, then its ID is used again
    # and runs longest (rust/gotrace-core/tests/heat_prune.rs): the streaming heatmap
    # sees that and streams again keeping every row.
    path = Path(__file__).parent / "data" / "reused-goroutine-id.trace"
    want = gt.parse(path).heatmap(20, top=1)
    assert list(want.row_ids) == [5, -1]
    assert want.values.sum(axis=1).tolist() == [685.0, 180.0]
    _same_heatmap(want, gt.heatmap(path, 20, top=1), "path")
    _same_heatmap(want, gt.heatmap(path.read_bytes(), 20, top=1), "bytes")


def test_heatmap_explicit_edges_and_window(case: tuple[Path, gt.Trace]) -> None:
    path, t = case
    if not len(t):
        pytest.skip("no events")
    t0, t1 = t.start_ns, t.end_ns
    assert t0 is not None
    assert t1 is not None
    span = t1 - t0
    # Irregular edges reaching past both ends, with a repeated edge (an empty bin).
    edges = np.array([t0 - 1000, t0 + span // 7, t0 + span // 7, t0 + span // 2, t1 + 5])
    for kw in ({}, {"by": "reason", "value": "fraction"}, {"by": "proc", "top": 2}):
        _same_heatmap(t.heatmap(edges, **kw), gt.heatmap(path, edges, **kw), f"edges {kw}")
    window = {"start": t0 + span // 3, "end": t0 + 2 * span // 3}
    _same_heatmap(t.heatmap(77, **window), gt.heatmap(path, 77, **window), "window")
    only_start = {"start": t0 + span // 4}
    _same_heatmap(
        t.heatmap(33, by="function", **only_start),
        gt.heatmap(path, 33, by="function", **only_start),
        "start only",
    )


def test_extent_from_first_and_last_generation(case: tuple[Path, gt.Trace]) -> None:
    """The default time range is read from the first and last generations alone; on
    every corpus trace it is the whole trace's (so no second pass is needed)."""
    path, t = case
    got = native.stream_extent(str(path))
    # v1 (no generations): predicted from the merge, right on every corpus trace.
    assert got == (t.start_ns, t.end_ns)
    assert native.stream_extent(path.read_bytes()) == got


def test_a_wrong_extent_is_corrected(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the extent read beforehand is not the whole trace's, the trace is read again."""
    oracle.require_shared()
    path = oracle.CORPUS / "go1.27.3-mixed-small.trace"
    t = gt.parse(path)
    assert t.start_ns is not None
    assert t.end_ns is not None
    passes: list[list[int]] = []
    real = native.stream_heatmap

    def counting(*args: Any) -> Any:
        passes.append(args[4])
        return real(*args)

    monkeypatch.setattr(native, "stream_extent", lambda src: (t.start_ns, t.end_ns - 1))
    monkeypatch.setattr(native, "stream_heatmap", counting)
    _same_heatmap(t.heatmap(100), gt.heatmap(path, 100), "rerun")
    assert len(passes) == 2
    assert passes[0][-1] == t.end_ns - 1
    assert passes[1][-1] == t.end_ns


def test_an_extent_ending_before_it_starts_is_corrected() -> None:
    """A trace (found by fuzzing, and read the same by Go: tracecheck's events) whose
    last generation, parsed alone, ends before the first one starts: in the whole trace
    its times are pushed past the earlier ones. The extent read beforehand says so
    (end < start); the heatmap must still be the parsed trace's, with or without a given
    start, and with an end before the trace's start be the same error."""
    data = (Path(__file__).parent / "data" / "pushed-last-generation.trace").read_bytes()
    t = gt.parse(data)
    assert t.start_ns is not None
    assert t.end_ns is not None
    first, last = native.stream_extent(data)
    assert first == t.start_ns
    assert last < first  # what makes this trace a test
    _same_heatmap(t.heatmap(16, top=3), gt.heatmap(data, 16, top=3), "pushed")
    mid = (t.start_ns + t.end_ns) // 2
    _same_heatmap(t.heatmap(8, start=mid), gt.heatmap(data, 8, start=mid), "pushed, start")
    with pytest.raises(ValueError, match="is before start"):
        t.heatmap(8, end=t.start_ns - 1)
    with pytest.raises(ValueError, match="is before start"):
        gt.heatmap(data, 8, end=t.start_ns - 1)


def test_v1_streams_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A v1 trace's extent is predicted by the reader between its merge and its
    conversion: no pass beforehand, and with the prediction right, one pass."""
    oracle.require_shared()
    path = oracle.CORPUS / "go1.21.13-mixed-small.trace"
    t = gt.parse(path)
    real = native.stream_heatmap
    passes: list[Any] = []

    def counting(*args: Any) -> Any:
        passes.append(args)
        return real(*args)

    def no_extent(src: Any) -> Any:
        raise AssertionError("stream_extent called for a v1 trace")

    monkeypatch.setattr(native, "stream_heatmap", counting)
    monkeypatch.setattr(native, "stream_extent", no_extent)
    _same_heatmap(t.heatmap(100, by="proc"), gt.heatmap(path, 100, by="proc"), "v1")
    _same_heatmap(
        t.heatmap(40, start=t.end_ns // 2), gt.heatmap(path, 40, start=t.end_ns // 2), "start"
    )
    assert len(passes) == 2
    with pytest.raises(ValueError, match="is before start"):
        gt.heatmap(path, 8, start=t.end_ns + 5)


@pytest.mark.parametrize("skew", [-7, 1, 10**9])
def test_a_wrong_v1_prediction_is_corrected(skew: int) -> None:
    """With the predicted end off (a trace that ends on equal times), a second pass with
    the right edges gives the parsed trace's heatmap."""
    oracle.require_shared()
    path = oracle.CORPUS / "go1.21.13-mixed-small.trace"
    t = gt.parse(path)
    native._set_v1_extent_skew(skew)
    try:
        _same_heatmap(t.heatmap(64), gt.heatmap(path, 64), f"skew {skew}")
        _same_heatmap(t.heatmap(64, top=3), gt.heatmap(path.read_bytes(), 64, top=3), "bytes")
    finally:
        native._set_v1_extent_skew(0)


def test_source_kinds(tmp_path: Path) -> None:
    data = gt.example_path().read_bytes()
    t = gt.parse(data)
    want = t.heatmap(50, by="state")
    for src in (gt.example_path(), str(gt.example_path()), data, bytearray(data)):
        _same_heatmap(want, gt.heatmap(src, 50, by="state"), type(src).__name__)
        assert len(gt.summary(src).goroutines) == len(t.goroutines)
    with open(gt.example_path(), "rb") as f:
        _same_heatmap(want, gt.heatmap(f, 50, by="state"), "file object")


def test_broken_trace_raises_as_parse(tmp_path: Path) -> None:
    data = gt.example_path().read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(gt.TraceError) as want:
        gt.parse(cut)
    for f in (
        gt.summary,
        lambda p: gt.heatmap(p, 10, start=0, end=10**18),
        # The analysis beside the reader: the reader's error, once the analysis is done.
        lambda p: gt.summary(p, threads=2),
        lambda p: gt.heatmap(p, 10, start=0, end=10**18, threads=3),
    ):
        with pytest.raises(type(want.value)) as got:
            f(cut)
        assert str(got.value) == str(want.value)
        assert got.value.partial is None
    with pytest.raises(gt.TraceError) as got:
        gt.heatmap(cut, 10)  # the extent cannot be read: parsed whole, as parse() does
    assert str(got.value) == str(want.value)
    with pytest.raises(FileNotFoundError):
        gt.summary(tmp_path / "missing.trace")


def test_progress_and_its_exceptions() -> None:
    path = gt.example_path()
    size = path.stat().st_size
    for f in (gt.summary, lambda p, **kw: gt.heatmap(p, 10, **kw)):
        calls: list[tuple[int, int | None]] = []
        f(path, progress=lambda d, t: calls.append((d, t)))  # noqa: B023
        assert calls[-1] == (size, size)

        def stop(done: int, total: int | None) -> None:
            raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="stop"):
            f(path, progress=stop)


def test_bad_arguments_are_rejected_before_reading() -> None:
    with pytest.raises(ValueError, match="by must be"):
        gt.heatmap("/nonexistent", by="nope")
    with pytest.raises(ValueError, match="bins must be"):
        gt.heatmap(gt.example_path(), 0)
    with pytest.raises(ValueError, match="state"):
        gt.heatmap(gt.example_path(), 10, by="proc", state="waiting")


def test_heatmap_is_the_function_not_a_module() -> None:
    """``gotrace_fast.heatmap`` is the streaming function, and no submodule of that name
    competes with it (``import gotrace_fast.heatmap as m`` would pick one or the other)."""
    import importlib.util

    from gotrace_fast import heatmap

    assert importlib.util.find_spec("gotrace_fast.heatmap") is None
    assert heatmap is gt.heatmap
    assert gt.Heatmap.__module__ == "gotrace_fast._heatmap"
    assert callable(gt.summary)


def _golden() -> list[Any]:
    paths: list[Path] = []
    for d in (oracle.GOLDEN, oracle.GOLDEN / "tracev1", oracle.MALFORMED):
        if d.is_dir():
            paths += sorted(d.glob("*.trace"))
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in paths] or [
        pytest.param(None, id="no-golden")
    ]


@pytest.mark.parametrize("path", _golden())
def test_golden_and_malformed_as_parse(path: Path | None) -> None:
    """Go's golden cases and the malformed inputs: the streaming functions succeed where
    parse() does, with the same results, and fail with the same error where it fails."""
    oracle.require_shared()
    assert path is not None
    try:
        t = gt.parse(path)
    except gt.TraceError as e:
        err = e
    else:
        err = None
    if err is not None:
        for f in (
            gt.summary,
            lambda p: gt.heatmap(p, 20),
            lambda p: gt.heatmap(p, [0, 1]),
            lambda p: gt.summary(p, threads=2),
            lambda p: gt.heatmap(p, [0, 1], threads=2),
        ):
            with pytest.raises(type(err)) as got:
                f(path)
            assert str(got.value) == str(err)
        return
    for threads in (None, 2):  # 2: the analysis beside the reader
        s = gt.summary(path, threads=threads)
        _same_table(t.goroutines, s.goroutines, "goroutines")
        _same_table(t.procs, s.procs, "procs")
        _same_table(t.ranges, s.ranges, "ranges")
        assert t.analysis.task_summaries_json() == s.analysis.task_summaries_json()
        for kw in ({}, {"by": "function", "top": 2}, {"by": "proc", "value": "count"}):
            what = f"{path.name} {kw} threads={threads}"
            _same_heatmap(t.heatmap(40, **kw), gt.heatmap(path, 40, threads=threads, **kw), what)
