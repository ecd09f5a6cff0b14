"""Streaming analyses: :func:`summary` and :func:`heatmap` read a trace generation by
generation and keep no event table (see ``gotrace_core::stream``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _gotrace_fast as _native
from ._analysis import Analysis, Table
from ._heatmap import Heatmap, _check, _edges, _finish
from ._trace import Frame, Progress, Source, _check_threads, _raise_for, _source_data, parse

__all__ = ["TraceSummary", "heatmap", "summary"]


def _input(source: Source) -> str | bytes | bytearray | memoryview:
    """What the extension reads: a path as ``str``, anything else as bytes."""
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    return _source_data(source)


def _v1_header(src: str | bytes | bytearray | memoryview) -> bool:
    """Whether ``src`` (a regular file's path, or bytes) starts with a Go <= 1.21 header
    (a header longer than the bytes read takes the general path, which also reads it)."""
    if isinstance(src, str):
        if not os.path.isfile(src):
            return False
        with open(src, "rb") as f:
            head = f.read(4096)
    else:
        head = bytes(memoryview(src)[:4096])
    v = _native.header_version(head)
    return v is not None and v < 22


class TraceSummary:
    """What :func:`summary` computes: the goroutine summaries, procs, ranges, GC and STW
    sums of :attr:`Trace.analysis` (same tables, same values) and the trace's extent,
    event counts, distinct IDs, strings and stacks, without the events or the state
    intervals."""

    def __init__(self, raw: _native.RawTrace, analysis: dict[str, Any], seen: dict[str, Any]):
        self._raw = raw
        self._seen = seen
        #: The analysis (:class:`~gotrace_fast._analysis.Analysis`) without ``intervals``.
        self.analysis = Analysis(analysis, self)

    def __len__(self) -> int:
        """Number of events read."""
        return int(self._seen["events"])

    def __repr__(self) -> str:
        return (
            f"<gotrace_fast.TraceSummary go {self.version or '?'}, {len(self)} events, "
            f"{len(self.goroutines)} goroutines>"
        )

    @property
    def version(self) -> str | None:
        """Header version as ``"1.N"``, as :attr:`Trace.version`."""
        minor = self._raw.version
        return f"1.{minor}" if minor else None

    @property
    def version_minor(self) -> int:
        return self._raw.version

    @property
    def generations(self) -> int:
        return self._raw.generations

    @property
    def start_ns(self) -> int | None:
        """Time of the first event, as :attr:`Trace.start_ns`."""
        v = self._seen["start_ns"]
        return None if v is None else int(v)

    @property
    def end_ns(self) -> int | None:
        """Time of the last event, as :attr:`Trace.end_ns`."""
        v = self._seen["end_ns"]
        return None if v is None else int(v)

    @property
    def duration_ns(self) -> int:
        s, e = self.start_ns, self.end_ns
        return 0 if s is None or e is None else e - s

    def counts_by_kind(self) -> dict[str, int]:
        """Events per :class:`EventKind` name, as :meth:`Trace.counts_by_kind`."""
        names = _native.RawTrace.kind_names()
        return dict(zip(names, self._seen["counts_by_kind"], strict=True))

    def goroutine_ids(self) -> np.ndarray:
        """Sorted distinct goroutine IDs, as :meth:`Trace.goroutine_ids`."""
        return self._seen["goroutine_ids"]  # type: ignore[no-any-return]

    def proc_ids(self) -> np.ndarray:
        """Sorted distinct proc IDs, as :meth:`Trace.proc_ids`."""
        return self._seen["proc_ids"]  # type: ignore[no-any-return]

    def thread_ids(self) -> np.ndarray:
        """Sorted distinct thread IDs, as :meth:`Trace.thread_ids`."""
        return self._seen["thread_ids"]  # type: ignore[no-any-return]

    @property
    def goroutines(self) -> Table:
        """As :attr:`Trace.goroutines`."""
        return self.analysis.goroutines

    def goroutine_summaries(self, regions: bool = True) -> list[dict[str, Any]]:
        """As :meth:`Trace.goroutine_summaries`."""
        return self.analysis.goroutines_json(regions)

    @property
    def procs(self) -> Table:
        """As :attr:`Trace.procs`."""
        return self.analysis.procs

    @property
    def ranges(self) -> Table:
        """As :attr:`Trace.ranges`."""
        return self.analysis.ranges

    def string(self, i: int) -> str:
        """String ``i`` (see :meth:`Trace.string`)."""
        return self._raw.string(i)

    def string_bytes(self, i: int) -> bytes:
        return self._raw.string_bytes(i)

    def stack(self, i: int) -> list[Frame]:
        """Frames of stack ``i`` (see :meth:`Trace.stack`)."""
        return [Frame(*f) for f in self._raw.stack(i)]


def summary(
    source: Source, *, progress: Progress | None = None, threads: int | None = None
) -> TraceSummary:
    """The goroutine summaries, procs and ranges of a trace, computed generation by
    generation without keeping the events: equal to ``parse(source).goroutines``,
    ``.procs``, ``.ranges`` and the rest of :attr:`Trace.analysis` except the state
    intervals.

    Memory: one generation of events plus the results (the summaries grow with the number
    of goroutines). v1 traces (Go <= 1.21) have no generations and are read whole.
    ``source``, ``progress`` and ``threads`` as for :func:`parse`; with two or more threads
    the analysis of a v2 trace runs on one of them, beside the reader (the result is the
    same). Errors as for :func:`parse`, without ``partial`` (None).
    """
    _check_threads(threads)
    raw, analysis, seen = _native.stream_summary(_input(source), progress, threads)
    _raise_for(raw, source, None)
    assert analysis is not None
    return TraceSummary(raw, analysis, seen)


def write_events_tsv(
    source: Source,
    write: Callable[[bytes], object],
    *,
    progress: Progress | None = None,
    threads: int | None = None,
) -> None:
    """Writes every event of a trace as ``tracecheck-events/1`` lines (what
    ``gotrace-fast events`` prints: :meth:`Trace.events_tsv` of the whole trace) by
    calling ``write(chunk)``, a generation at a time, without keeping the events.

    On a broken trace the events Go's reader yields before the error are written, then
    the error is raised (its ``partial`` is None). An exception from ``write`` stops the
    parse and propagates. ``source``, ``progress`` and ``threads`` as for :func:`parse`.
    """
    _check_threads(threads)
    raw = _native.stream_events_tsv(_input(source), write, progress, threads)
    _raise_for(raw, source, None)


def heatmap(
    source: Source,
    bins: int | Sequence[int] | np.ndarray = 500,
    *,
    by: str = "goroutine",
    state: str | Sequence[str] | None = None,
    value: str = "time",
    start: int | None = None,
    end: int | None = None,
    top: int | None = None,
    sort: str = "total",
    progress: Progress | None = None,
    threads: int | None = None,
) -> Heatmap:
    """:meth:`Trace.heatmap` of a trace without keeping its events or intervals: each
    generation's state intervals are binned as they close, so memory is one generation
    plus the bins. Equal to ``parse(source).heatmap(bins, by=..., ...)`` (same values,
    edges, rows, labels, GC/STW ranges).

    With ``by="goroutine"`` and ``top``, a goroutine that has ended behind at least
    ``top`` others can never reach the top (the others only gain): its bins go to the
    "other" row at once and its memory is freed, so millions of short-lived goroutines
    cost little more than a few bytes each. (If a broken trace brings such a goroutine's
    ID back, the trace is read a second time keeping every row; a pipe keeps every row
    from the start.)

    ``bins``, ``by``, ``state``, ``value``, ``start``, ``end``, ``top``, ``sort`` as for
    :meth:`Trace.heatmap`. With an int ``bins`` and no ``start``/``end``, the bins span the
    first to the last event as for a parsed trace: those times are read beforehand by
    parsing only the trace's first and last generations; in the rare case where the whole
    trace ends elsewhere (event times pushed forward across the last generation boundary),
    the trace is read a second time with the right edges. A v1 trace (Go <= 1.21, no
    generations) is merged whole before its events are converted; its end is predicted
    from the merge (right unless the trace ends on equal times; then it is read a second
    time as above). A pipe is then parsed whole instead (``parse(source).heatmap(...)``).

    ``source``, ``progress`` and ``threads`` as for :func:`parse` (as for :func:`summary`,
    two or more threads put the binning beside the reader); errors as for :func:`parse`,
    without ``partial``.
    """
    states, codes = _check(by, state, value, top, sort)
    _check_threads(threads)
    src = _input(source)
    default_extent = isinstance(bins, (int, np.integer)) and (start is None or end is None)
    extent: tuple[int | None, int | None] = (None, None)
    if default_extent and isinstance(bins, (int, np.integer)) and _v1_header(src):
        # The v1 reader predicts the extent between its merge and its conversion, and
        # the edges are made from it when the first events arrive.
        if bins < 1:
            raise ValueError("bins must be >= 1")
        t0 = None if start is None else int(start)
        t1 = None if end is None else int(end)
        raw, h = _native.stream_heatmap(
            src, by, codes, value, [0, 0], top, sort, progress, threads, (int(bins), t0, t1)
        )
        _raise_for(raw, source, None)
        assert h is not None
        edges = _edges(bins, start, end, (h["start_ns"], h["end_ns"]))
        if not np.array_equal(edges, h["edges"]):
            raw, h = _native.stream_heatmap(
                src, by, codes, value, edges.tolist(), top, sort, progress, threads
            )
            _raise_for(raw, source, None)
            assert h is not None
        return _finish(
            h, raw, by, states, codes, value, edges, h["gc"], h["stw"], h["start_ns"] or 0
        )
    if default_extent:
        ext = _native.stream_extent(src)
        if ext is None:
            return parse(src, progress=progress, threads=threads).heatmap(
                bins, by=by, state=state, value=value, start=start, end=end, top=top, sort=sort
            )
        extent = ext
        if ext[1] < ext[0]:
            # Not the whole trace's end: its last generation's times were pushed forward
            # (see above). Any valid edges do for the first pass, which finds the end.
            extent = (ext[0], ext[0] if start is None else max(ext[0], int(start)))
    edges = _edges(bins, start, end, extent)
    raw, h = _native.stream_heatmap(
        src, by, codes, value, edges.tolist(), top, sort, progress, threads
    )
    _raise_for(raw, source, None)
    assert h is not None
    if default_extent and (h["start_ns"], h["end_ns"]) != extent:
        edges = _edges(bins, start, end, (h["start_ns"], h["end_ns"]))
        raw, h = _native.stream_heatmap(
            src, by, codes, value, edges.tolist(), top, sort, progress, threads
        )
        _raise_for(raw, source, None)
        assert h is not None

    return _finish(h, raw, by, states, codes, value, edges, h["gc"], h["stw"], h["start_ns"] or 0)
