"""Atheris target: ``gotrace_fast.parse(bytes)``, then what a user does with the trace.

Any input may fail to parse, but only with a :class:`gotrace_fast.TraceError` subclass
naming a format, version or validation problem; a plain ``TraceError`` ("internal error",
a panic caught in the extension) or any other exception is a crash. The trace (or the
partial trace of a failed parse) then goes through the analysis, heatmaps, MMU,
scheduling metrics and the text dump; there only the documented exceptions may escape.

Usage (see fuzz/README.md): ``python fuzz/atheris_parse.py CORPUS_DIR... [libFuzzer flags]``
or ``fuzz/run.sh atheris SECONDS``.
"""

from __future__ import annotations

import sys
import warnings

import atheris
import numpy as np  # imported first, so that only gotrace_fast is instrumented

# Branch coverage of gotrace_fast's Python code, without comparison tracing: atheris 3.0's
# comparison hook leaks the result of every instrumented numpy `==` (about 13 KB per
# input here, until the RSS limit). The Rust code's comparisons are traced (run.sh).
with atheris.import_hook.HookManager({"gotrace_fast"}, set(), True, trace_dataflow=False):
    import gotrace_fast as gt
    from gotrace_fast import _analysis, _sched, heatmap  # noqa: F401  (instrumented)
    from gotrace_fast._stream import write_events_tsv

# Empty bins and empty traces give NaN fractions and statistics: expected, not errors.
warnings.simplefilter("ignore", RuntimeWarning)

HEATMAPS = (
    {"by": "goroutine"},
    {"by": "function", "top": 3},
    {"by": "state", "value": "count"},
    {"by": "reason", "value": "fraction"},
    {"by": "proc", "state": ["running", "idle"], "value": "fraction", "sort": "first"},
    {"by": "thread", "state": ["running", "syscall"], "sort": "id"},
)


def check_error(e: gt.TraceError) -> None:
    if type(e) is gt.TraceError or e.kind == "internal":
        raise AssertionError(f"internal error (a panic in the core): {e}") from e
    assert e.message, "error without a message"


def mmu_call(f, *args, **kwargs):  # type: ignore[no-untyped-def]
    """MMU raises ValueError("mmu: ...") where Go's code would panic (documented)."""
    try:
        return f(*args, **kwargs)
    except gt.TraceError as e:
        check_error(e)
    except ValueError as e:
        if not str(e).startswith(("mmu:", "mutator utilization:")):
            raise
    return None


def exercise(trace: gt.Trace) -> None:
    n = len(trace)
    _ = trace.version, trace.generations, trace.duration_ns, trace.start_ns, trace.end_ns
    counts = trace.counts_by_kind()
    assert sum(counts.values()) == n
    trace.goroutine_ids(), trace.proc_ids(), trace.thread_ids()
    ev = trace.events
    for i in {0, n // 2, n - 1} if n else ():
        ev.event(i)
        trace.stack(int(ev.stack[i]))
    strings = trace.strings[:]
    assert len(strings) == len(trace.strings)
    tsv = trace.events_tsv()
    assert tsv.count(b"\n") == n
    for resource in ("goroutine", "proc", "thread"):
        trace.intervals(resource)
    _ = trace.goroutines, trace.procs, trace.ranges
    trace.goroutine_summaries()
    for kw in HEATMAPS:
        h = trace.heatmap(16, **kw)  # type: ignore[arg-type]
        assert h.values.shape == (len(h.row_ids), 16)
        assert np.all(h.values >= 0) or kw.get("value") == "fraction"
    if n >= 2 and trace.end_ns is not None and trace.start_ns is not None:
        mid = (trace.start_ns + trace.end_ns) // 2
        trace.heatmap(np.array([trace.start_ns, mid, trace.end_ns], dtype=np.int64))
    mmu_call(trace.mmu, [1_000, 1_000_000])
    mmu_call(trace.mmu_worst_windows, 1_000_000, 3)
    mmu_call(trace.mutator_utilization, per_proc=True)
    trace.sched_latency()
    trace.sched_latency(by="function")
    trace.block_durations(by="reason")
    if trace.duration_ns > 0:  # else fairness needs explicit start and end (ValueError)
        trace.fairness(bins=8)


def streamed_tsv(data: bytes, events: gt.Trace | None, threads: int | None) -> bool:
    """``gotrace-fast events`` (write_events_tsv, no event table) writes exactly the
    parse's (or its partial trace's) events and fails where the parse fails."""
    out: list[bytes] = []
    failed = False
    try:
        write_events_tsv(data, out.append, threads=threads)
    except gt.TraceError as e:
        check_error(e)
        failed = True
    want = events.events_tsv() if events is not None else b""
    assert b"".join(out) == want, "streamed events differ"
    return failed


def streaming(data: bytes, trace: gt.Trace | None, partial: gt.Trace | None) -> None:
    """The streaming summary and heatmap (no event table): documented errors only, and
    on a trace that parses whole, the same matrix as the parsed trace's heatmap. Every
    other input with threads=2: the analysis on a thread of its own."""
    threads = 2 if len(data) % 2 else None
    failed = streamed_tsv(data, trace if trace is not None else partial, threads)
    assert failed == (trace is None), "streamed events fail where the parse does not"
    try:
        s = gt.summary(data, threads=threads)
        if trace is not None:
            assert np.array_equal(s.goroutine_ids(), trace.goroutine_ids())
            assert np.array_equal(s.thread_ids(), trace.thread_ids())
        h = gt.heatmap(data, 16, top=3, threads=threads)
    except gt.TraceError as e:
        check_error(e)
        return
    except ValueError as e:  # an empty time range needs explicit bins (documented)
        if "time range" not in str(e):
            raise
        return
    if trace is not None and trace.duration_ns > 0:
        want = trace.heatmap(16, top=3)
        assert np.array_equal(h.values, want.values), "streaming heatmap differs"
        assert list(h.row_ids) == list(want.row_ids), "streaming heatmap rows differ"


def test_one(data: bytes) -> None:
    try:
        trace = gt.parse(data)
    except gt.TraceError as e:
        check_error(e)
        streaming(data, None, e.partial)
        if e.partial is None:
            return
        trace = e.partial
    else:
        streaming(data, trace, None)
    exercise(trace)


def main() -> None:
    # The streaming heatmap (`top=3`) drops the rows of ended goroutines behind the top
    # after every ended goroutine instead of every 32,768, so that small inputs prune.
    gt._gotrace_fast._set_prune_min(1)
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
