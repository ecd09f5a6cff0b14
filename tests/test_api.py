"""(d) The Python API: input kinds, errors, columns, decoding, pandas."""

from __future__ import annotations

import gzip
import hashlib
import io
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gotrace_fast as gt
import oracle
from gotrace_fast import _gotrace_fast as native
from gotrace_fast.exceptions import error_from_tuple

EXAMPLE_NAME = "go1.27.3-mixed-small"
COLUMNS = (
    "time",
    "kind",
    "g",
    "p",
    "m",
    "stack",
    "res_kind",
    "from_state",
    "to_state",
    "arg",
    "name",
    "aux",
)


@pytest.fixture(scope="module")
def example() -> gt.Trace:
    return gt.parse(gt.example_path())


def _malformed_rows(pred: Callable[[dict[str, str]], bool]) -> list[dict[str, str]]:
    oracle.require_shared()
    rows = [r for r in oracle.read_index(oracle.MALFORMED / "INDEX.tsv") if pred(r)]
    assert rows, "no such case in golden/malformed"
    return rows


def _failing_v2_with_events() -> dict[str, str]:
    """A malformed v2 case where Go fails after emitting some events."""

    def pred(r: dict[str, str]) -> bool:
        minor = oracle.header_minor(oracle.MALFORMED / f"{r['name']}.trace")
        return (
            r["outcome"] == "FAILURE" and int(r["events"]) > 0 and minor is not None and minor >= 22
        )

    return _malformed_rows(pred)[0]


# -- inputs -----------------------------------------------------------------------------------


def test_example_is_the_corpus_trace(shared: pathlib.Path) -> None:
    row = next(
        r for r in oracle.read_index(oracle.EXPECTED / "INDEX.tsv") if r["name"] == EXAMPLE_NAME
    )
    assert hashlib.sha256(gt.example_path().read_bytes()).hexdigest() == row["sha256"]


def test_example_matches_oracle_counts(example: gt.Trace, shared: pathlib.Path) -> None:
    summary = oracle.load_summary(oracle.EXPECTED, EXAMPLE_NAME)
    assert example.counts_by_kind() == summary["events_by_kind"]
    assert example.version == summary["header_version"]


SOURCES: dict[str, Callable[[pathlib.Path], Any]] = {
    "str": str,
    "pathlib": lambda p: p,
    "bytes": lambda p: p.read_bytes(),
    "bytearray": lambda p: bytearray(p.read_bytes()),
    "memoryview": lambda p: memoryview(p.read_bytes()),
    "memoryview-slice": lambda p: memoryview(b"xx" + p.read_bytes())[2:],
    "numpy-uint8": lambda p: np.frombuffer(p.read_bytes(), dtype=np.uint8),
    "bytesio": lambda p: io.BytesIO(p.read_bytes()),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_sources_give_identical_tables(kind: str, example: gt.Trace) -> None:
    src = SOURCES[kind](gt.example_path())
    if kind == "bytesio":
        with open(gt.example_path(), "rb") as f:  # a real file object too
            _assert_same_trace(gt.parse(f), example)
    t = gt.parse(src)
    _assert_same_trace(t, example)


def _assert_same_trace(a: gt.Trace, b: gt.Trace) -> None:
    assert len(a) == len(b) > 0
    assert (a.version, a.generations) == (b.version, b.generations)
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(a.events, name), getattr(b.events, name), name)
    assert len(a.strings) == len(b.strings)
    assert a.events_tsv(0, 100) == b.events_tsv(0, 100)


def test_bad_source_type() -> None:
    with pytest.raises(TypeError):
        gt.parse(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        gt.parse(io.StringIO("go 1.26 trace"))  # type: ignore[arg-type]


# -- errors -----------------------------------------------------------------------------------


def test_error_classes() -> None:
    for cls in (gt.TraceFormatError, gt.UnsupportedVersionError, gt.TraceValidationError):
        assert issubclass(cls, gt.TraceError)
    assert issubclass(gt.TraceError, ValueError)
    for kind, cls in [
        ("format", gt.TraceFormatError),
        ("unsupported_version", gt.UnsupportedVersionError),
        ("validation", gt.TraceValidationError),
        ("internal", gt.TraceError),
    ]:
        e = error_from_tuple((kind, "msg", 7, 3))
        assert type(e) is cls
        assert (e.message, e.offset, e.generation, e.kind) == ("msg", 7, 3, kind)
        assert str(e) == "msg (byte offset 7, generation 3)"
    assert str(error_from_tuple(("format", "msg", None, None))) == "msg"
    assert str(error_from_tuple(("validation", "msg", None, 2))) == "msg (generation 2)"


def test_broken_trace_raises_value_error_with_offset_and_partial(shared: pathlib.Path) -> None:
    row = _failing_v2_with_events()
    with pytest.raises(ValueError, match=r"\S") as ei:
        gt.parse(oracle.MALFORMED / f"{row['name']}.trace")
    e = ei.value
    assert isinstance(e, gt.TraceError)
    assert hasattr(e, "offset")
    assert e.offset is None or isinstance(e.offset, int)
    assert e.generation is None or isinstance(e.generation, int)
    assert isinstance(e.partial, gt.Trace)
    assert len(e.partial) == int(row["events"])
    assert e.partial.error is not None
    assert e.partial.error.message == e.message


def test_not_a_trace_is_a_format_error_at_offset_0(shared: pathlib.Path) -> None:
    with pytest.raises(gt.TraceFormatError) as ei:
        gt.parse(oracle.MALFORMED / "not-a-trace.trace")
    assert ei.value.offset == 0
    assert len(ei.value.partial) == 0


def test_unsupported_header(shared: pathlib.Path) -> None:
    (path,) = [oracle.MALFORMED / "header-go1.99.trace"]
    _, pattern = oracle.read_expect(oracle.MALFORMED, "header-go1.99")
    with pytest.raises(gt.UnsupportedVersionError) as ei:
        gt.parse(path)
    assert pattern is not None
    assert oracle.go_regexp_search(pattern, ei.value.message)


def test_nonexistent_path(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "no-such.trace"
    with pytest.raises(FileNotFoundError) as ei:
        gt.parse(missing)
    assert ei.value.filename == str(missing)


def test_directory_is_os_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(OSError):  # noqa: PT011 (IsADirectoryError on Linux)
        gt.parse(tmp_path)


def test_rust_panic_becomes_trace_error() -> None:
    with pytest.raises(gt.TraceError, match=r"^internal error: ") as ei:
        native._panic_for_test()
    assert type(ei.value) is gt.TraceError
    assert ei.value.kind == "internal"


# -- columns ----------------------------------------------------------------------------------


def test_columns_numpy_one_length_read_only(example: gt.Trace) -> None:
    ev = example.events
    assert list(ev.columns) == list(COLUMNS)
    for name, col in ev.columns.items():
        assert isinstance(col, np.ndarray), name
        assert col.ndim == 1
        assert len(col) == len(ev) == len(example)
        assert col is getattr(ev, name)
        assert not col.flags.writeable, name
        with pytest.raises(ValueError, match="WRITEABLE"):
            col.flags.writeable = True
        with pytest.raises(ValueError, match="read-only"):
            col[:1] = 0


def test_column_dtypes(example: gt.Trace) -> None:
    ev = example.events
    # g, p, m, arg: int32 while every value fits (test_wide_ids.py: int64 otherwise).
    expected = {
        "time": np.int64,
        "kind": np.uint8,
        "g": np.int32,
        "p": np.int32,
        "m": np.int32,
        "stack": np.uint32,
        "res_kind": np.uint8,
        "from_state": np.uint8,
        "to_state": np.uint8,
        "arg": np.int32,
        "name": np.uint32,
        "aux": np.uint32,
    }
    assert {k: v.dtype.type for k, v in ev.columns.items()} == expected


def test_columns_outlive_trace() -> None:
    col = gt.parse(gt.example_path()).events.time  # the Trace object is dropped here
    assert len(col) > 0
    assert (np.diff(col) >= 0).all()


def test_counts_agree_with_column(example: gt.Trace) -> None:
    counts = np.bincount(example.events.kind, minlength=len(gt.EventKind))
    assert example.counts_by_kind() == {k.name: int(counts[k]) for k in gt.EventKind}


def test_extent(example: gt.Trace, shared: pathlib.Path) -> None:
    s = oracle.load_summary(oracle.EXPECTED, EXAMPLE_NAME)
    assert (example.start_ns, example.end_ns, example.duration_ns) == (
        s["first_event_ns"],
        s["last_event_ns"],
        s["duration_ns"],
    )


def test_ids(example: gt.Trace, shared: pathlib.Path) -> None:
    ids = oracle.load_summary(oracle.EXPECTED, EXAMPLE_NAME)["distinct_ids"]
    g, p, m = example.goroutine_ids(), example.proc_ids(), example.thread_ids()
    assert (len(g), len(p), len(m)) == (ids["goroutines"], ids["procs"], ids["threads"])
    for a in (g, p, m):
        assert (np.diff(a) > 0).all()
        assert -1 not in a


def test_to_pandas(example: gt.Trace) -> None:
    pd = pytest.importorskip("pandas")
    df = example.events.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == len(example)
    assert list(df.columns) == [*COLUMNS, "kind_name"]
    np.testing.assert_array_equal(df["time"].to_numpy(), example.events.time)
    counts = df["kind_name"].value_counts()
    assert {k: int(counts.get(k, 0)) for k in example.counts_by_kind()} == example.counts_by_kind()


def test_enums() -> None:
    names = native.RawTrace.kind_names()
    assert [k.name for k in gt.EventKind] == names
    assert [int(k) for k in gt.EventKind] == list(range(len(names)))
    assert str(gt.ResourceKind.None_) == "None"
    assert str(gt.GoState.Running) == "Running"


# -- strings, stacks, decoded events, checked against the oracle dump ------------------------


def test_strings_and_stacks(example: gt.Trace) -> None:
    assert example.string(0) == ""
    assert example.strings[0] == ""
    assert example.stack(0) == []
    assert len(example.strings) > 1
    assert example.strings[-1] == example.string(len(example.strings) - 1)
    assert isinstance(example.string_bytes(1), bytes)
    with pytest.raises(IndexError):
        example.string(len(example.strings))
    with pytest.raises(IndexError):
        example.stack(example.num_stacks)
    sid = int(example.events.stack[example.events.stack > 0][0])
    frames = example.stack(sid)
    assert frames
    assert all(isinstance(f, gt.Frame) for f in frames)
    assert isinstance(frames[0].function, str)
    assert isinstance(frames[0].line, int)


def _top(frames: list[gt.Frame]) -> bytes:
    return oracle.tsv_escape(frames[0].function.encode()) if frames else b"-"


def _s(x: str) -> bytes:
    return oracle.tsv_escape(x.encode())


def _expected_tail(ev: dict[str, Any]) -> list[bytes]:
    """Columns 7.. of the tracecheck-events/1 line, rebuilt from the decoded event."""
    k = ev["kind"]
    K = gt.EventKind
    if k == K.StateTransition:
        return [
            str(ev["resource_kind"]).encode(),
            b"%d" % ev["resource_id"],
            str(ev["from_state"]).encode(),
            str(ev["to_state"]).encode(),
            _s(ev["reason"]),
            _top(ev["transition_stack"]),
        ]
    if k in (K.RangeBegin, K.RangeActive, K.RangeEnd):
        scope = str(ev["scope_kind"]).encode()
        out = [_s(ev["name"]), scope, b"-" if scope == b"None" else b"%d" % ev["scope_id"]]
        if k == K.RangeEnd:
            out.append(b";".join(_s(n) + b"=%d" % v for n, v in ev["attributes"].items()))
        return out
    if k == K.Metric:
        return [_s(ev["name"]), b"%d" % ev["value"]]
    if k == K.Label:
        return [_s(ev["label"]), str(ev["resource_kind"]).encode(), b"%d" % ev["resource_id"]]
    if k in (K.TaskBegin, K.TaskEnd):
        return [b"%d" % ev["task_id"], b"%d" % ev["parent_id"], _s(ev["type"])]
    if k in (K.RegionBegin, K.RegionEnd):
        return [b"%d" % ev["task_id"], _s(ev["type"])]
    if k == K.Log:
        return [b"%d" % ev["task_id"], _s(ev["category"]), _s(ev["message"])]
    if k == K.Sync:
        snap = ev["clock_snapshot"]
        clocks = (
            [b"-"] * 3
            if snap is None
            else [b"%d" % snap[c] for c in ("trace_ns", "mono_ns", "wall_unix_ns")]
        )
        return [b"%d" % ev["n"], *clocks]
    if k == K.Experimental:
        return [_s(ev["name"]), _s(ev["experiment"])]  # argument names are not exposed
    return []


def test_event_decoding_matches_oracle(example: gt.Trace, shared: pathlib.Path) -> None:
    """``EventTable.event(i)`` rebuilds the oracle's line for the first events of each kind
    and for every 97th event."""
    with gzip.open(oracle.EXPECTED / f"{EXAMPLE_NAME}.events.tsv.gz", "rb") as f:
        lines = f.read().split(b"\n")[:-1]
    assert len(lines) == len(example)
    kinds = example.events.kind
    rows = set(range(0, len(lines), 97))
    for k in np.unique(kinds):
        rows.update(np.flatnonzero(kinds == k)[:20].tolist())
    for i in sorted(rows):
        ev = example.events.event(i)
        head = [
            b"%d" % ev["time"],
            ev["kind"].name.encode(),
            b"%d" % ev["goroutine"],
            b"%d" % ev["proc"],
            b"%d" % ev["thread"],
            _top(ev["stack"]),
        ]
        fields = lines[i].split(b"\t")
        tail = _expected_tail(ev)
        got = head + tail
        assert got == fields[: len(got)], f"event {i}"
        if ev["kind"] != gt.EventKind.Experimental:
            assert len(fields) == len(got), f"event {i}"


def test_path_and_bytes_agree_on_every_column(tmp_path: pathlib.Path) -> None:
    """A path is memory-mapped, bytes are parsed in place: same table, same errors."""
    data = gt.example_path().read_bytes()
    by_path = gt.parse(gt.example_path())
    by_bytes = gt.parse(data)
    for name, col in by_path.events.columns.items():
        np.testing.assert_array_equal(col, by_bytes.events.columns[name], err_msg=name)
    # A truncated file: the same partial events and error either way.
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(gt.TraceError) as by_path_err:
        gt.parse(cut)
    with pytest.raises(gt.TraceError) as by_bytes_err:
        gt.parse(data[: len(data) // 2])
    assert str(by_path_err.value) == str(by_bytes_err.value)
    assert by_path_err.value.partial is not None
    assert by_bytes_err.value.partial is not None
    assert len(by_path_err.value.partial) == len(by_bytes_err.value.partial) > 0


def test_reading_a_directory_is_an_os_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(OSError, match="directory") as ei:
        gt.parse(tmp_path)
    assert not isinstance(ei.value, gt.TraceError)
