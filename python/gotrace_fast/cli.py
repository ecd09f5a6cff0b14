"""The ``gotrace-fast`` command (the only module that prints).

Exit status, as ``tracecheck``: 0 = success; 1 = the trace is broken (``events`` has
written the events read before the error, the error message is on stderr); 2 = usage or
I/O error.

Files of at least :data:`PROGRESS_MIN_BYTES` get a progress bar on stderr when stderr is a
terminal (``--no-progress`` turns it off): tqdm's if it is installed (the ``progress``
extra), else a plain percentage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, cast

from . import example_path, heatmap, summary
from ._heatmap import BY, MAX_PLOT_ROWS, VALUES
from ._stream import TraceSummary, write_events_tsv
from ._trace import Trace
from .exceptions import TraceError

PROG = "gotrace-fast"

#: Files at least this large get a progress bar (when stderr is a terminal).
PROGRESS_MIN_BYTES = 50_000_000


def _open_source(file: str) -> Any:
    """``-`` means stdin (read whole); anything else is a path, read by the extension."""
    if file == "-":
        return sys.stdin.buffer.read()
    return file


@contextlib.contextmanager
def _progress(file: str, enabled: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    """A ``progress=`` callback drawing a bar on stderr for a large ``file``, or None."""
    try:
        size = os.stat(file).st_size if file != "-" else 0
    except OSError:
        size = 0
    if not enabled or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        shown = [-1]

        def plain(done: int, total: int | None) -> None:
            pct = 100 * done // (total or size or 1)
            if pct != shown[0]:
                shown[0] = pct
                sys.stderr.write(f"\r{os.path.basename(file)}: {pct:3d}%")
                sys.stderr.flush()

        try:
            yield plain
        finally:
            if shown[0] >= 0:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
        return
    bar = tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=os.path.basename(file),
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )

    def update(done: int, total: int | None) -> None:
        if total is not None and total != bar.total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.refresh()  # draw the final state (tqdm skips updates within 0.1 s)
        bar.close()


def _error(msg: str) -> None:
    print(msg, file=sys.stderr)


def _trace_error(err: TraceError) -> None:
    """Go's message first (as ``tracecheck`` prints it), then where it was found."""
    _error(err.message)
    if err.location:
        _error(f"gotrace-fast: at {err.location}")


def _stdout_bytes() -> BinaryIO:
    return cast(BinaryIO, getattr(sys.stdout, "buffer", sys.stdout))


def cmd_events(args: argparse.Namespace) -> int:
    """Streams the trace (write_events_tsv): lines are written a generation at a time,
    the events before an error included, and the events are never all in memory."""
    out = _stdout_bytes()
    try:
        with _progress(args.file, args.progress) as cb:
            write_events_tsv(_open_source(args.file), out.write, progress=cb)
        out.flush()
    except TraceError as e:
        out.flush()
        _trace_error(e)
        return 1
    return 0


def summary_dict(trace: Trace | TraceSummary, name: str, analysis: bool = True) -> dict[str, Any]:
    """The ``--json`` summary; keys named as in the oracle's ``tracecheck-summary/1``
    (``generations`` is ours). ``analysis``: also the sections computed from the state
    intervals and Go's goroutine summary (``state_time_ns``, ``procs``,
    ``goroutine_states``, ``goroutines``, ``ranges``, ``gc``, ``stw``)."""
    s: dict[str, Any] = {
        "file": name,
        "header_version": trace.version,
        "header_version_minor": trace.version_minor,
        "events_total": len(trace),
        "events_by_kind": trace.counts_by_kind(),
        "first_event_ns": trace.start_ns,
        "last_event_ns": trace.end_ns,
        "duration_ns": trace.duration_ns,
        "distinct_ids": {
            "goroutines": len(trace.goroutine_ids()),
            "procs": len(trace.proc_ids()),
            "threads": len(trace.thread_ids()),
        },
        "generations": trace.generations,
    }
    if analysis:
        a = trace.analysis
        s["format"] = "v1" if 0 < trace.version_minor < 22 else "v2"
        s["state_time_ns"] = a.state_time_ns()
        s["procs"] = a.procs_json()
        s["goroutine_states"] = a.goroutine_states_json()
        s["goroutines"] = [
            {k: v for k, v in g.items() if k not in ("creator", "creation_stack")}
            for g in a.goroutines_json()
        ]
        s["task_summaries"] = a.task_summaries_json()
        s["ranges"] = a.ranges_json()
        s["gc"] = a.gc
        s["stw"] = a.stw
    return s


def _human_ns(ns: int) -> str:
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns} ns"


def format_summary(s: dict[str, Any]) -> str:
    ids = s["distinct_ids"]
    first, last = s["first_event_ns"], s["last_event_ns"]
    rows = [
        ("file", s["file"]),
        ("header", f"go {s['header_version']} trace" if s["header_version"] else "?"),
        ("generations", f"{s['generations']:,}"),
        ("events", f"{s['events_total']:,}"),
        ("first event", "-" if first is None else f"{first} ns"),
        ("last event", "-" if last is None else f"{last} ns"),
        ("duration", f"{_human_ns(s['duration_ns'])} ({s['duration_ns']:,} ns)"),
        ("goroutines", f"{ids['goroutines']:,}"),
        ("procs", f"{ids['procs']:,}"),
        ("threads", f"{ids['threads']:,}"),
    ]
    if "gc" in s:
        st = s["state_time_ns"]
        rows += [
            ("GC cycles", f"{s['gc']['count']:,} (mark {_human_ns(s['gc']['mark_total_ns'])})"),
            ("STW", f"{s['stw']['count']:,} ({_human_ns(s['stw']['total_ns'])})"),
            ("running", f"{_human_ns(st['goroutine']['Running'])} (goroutines, summed)"),
            ("runnable", f"{_human_ns(st['goroutine']['Runnable'])}"),
            ("proc busy", f"{_human_ns(st['proc']['Running'])} (procs, summed)"),
        ]
    lines = [f"{k:<13}{v}" for k, v in rows]
    counts = s["events_by_kind"]
    width = max(len(k) for k in counts)
    total = max(s["events_total"], 1)
    lines += ["", f"{'event kind':<{width}}  {'count':>12}  {'share':>6}"]
    for kind, n in counts.items():
        if n or kind != "Bad":
            lines.append(f"{kind:<{width}}  {n:>12,}  {100 * n / total:>5.1f}%")
    return "\n".join(lines)


def cmd_summary(args: argparse.Namespace) -> int:
    """Streams the trace (gotrace_fast.summary): the events are never all in memory, and
    the text form builds none of the per-goroutine records it does not print."""
    file = str(example_path()) if args.example else args.file
    try:
        with _progress(file, args.progress) as cb:
            trace = summary(_open_source(file), progress=cb)
        name = "-" if file == "-" else os.path.basename(file)
        if args.json:
            s = summary_dict(trace, name)
        else:
            s = summary_dict(trace, name, analysis=False)
            a = trace.analysis
            s.update(state_time_ns=a.state_time_ns(), gc=a.gc, stw=a.stw)
    except TraceError as e:
        _trace_error(e)
        return 1
    if args.json:
        print(json.dumps(s))
    else:
        print(format_summary(s))
    return 0


def cmd_heatmap(args: argparse.Namespace) -> int:
    """Streams the trace (gotrace_fast.heatmap): the events are never all in memory."""
    file = str(example_path()) if args.example else args.file
    states = args.state.split(",") if args.state else None
    try:
        with _progress(file, args.progress) as cb:
            hm = heatmap(
                _open_source(file),
                args.bins,
                by=args.by,
                state=states,
                value=args.value,
                # 0: what a plot draws (a state heatmap, a few rows, keeps their order).
                top=args.top or (None if args.by == "state" else MAX_PLOT_ROWS),
                progress=cb,
            )
    except TraceError as e:
        _trace_error(e)
        return 1
    except ValueError as e:
        _error(f"{PROG}: {e}")
        return 2
    try:
        hm.to_png(args.output, norm=args.norm, max_rows=None)
    except ImportError:
        _error(f"{PROG}: plotting needs matplotlib: pip install 'gotrace-fast[plot]'")
        return 2
    rows, bins = hm.shape
    print(f"{args.output}: {rows} rows x {bins} bins ({hm.by}, {','.join(hm.state)})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Read Go execution traces.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help=f"no progress bar (shown on a terminal for files >= {PROGRESS_MIN_BYTES // 10**6} MB)",
    )

    ev = sub.add_parser(
        "events",
        parents=[common],
        help="dump every event, one TSV line each (tracecheck-events/1)",
        description="Writes one TAB-separated line per event in Go's reader order, the "
        "format of the oracle's `tracecheck events`. On a broken trace: the events read "
        "before the error, then the error on stderr and exit status 1.",
    )
    ev.add_argument("file", help="trace file, or - for stdin")
    ev.set_defaults(func=cmd_events)

    sm = sub.add_parser(
        "summary",
        parents=[common],
        help="header version, duration, event counts, distinct IDs",
        description="Prints an overview of a trace (--json: one JSON object).",
    )
    src = sm.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?", help="trace file, or - for stdin")
    src.add_argument("--example", action="store_true", help="use the packaged example trace")
    sm.add_argument("--json", action="store_true", help="print one JSON object")
    sm.set_defaults(func=cmd_summary)

    hm = sub.add_parser(
        "heatmap",
        parents=[common],
        help="draw a time x goroutine (proc, thread, ...) heatmap to a PNG file",
        description="Bins the state intervals of a trace over time (gotrace_fast.heatmap, "
        "which streams the trace) and writes the plot as PNG (needs matplotlib: the `plot` "
        "extra).",
    )
    src = hm.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?", help="trace file, or - for stdin")
    src.add_argument("--example", action="store_true", help="use the packaged example trace")
    hm.add_argument("-o", "--output", default="heatmap.png", help="PNG file (heatmap.png)")
    hm.add_argument("--by", default="goroutine", choices=BY, help="rows (goroutine)")
    hm.add_argument("--bins", type=int, default=500, help="time bins (500)")
    hm.add_argument(
        "--state",
        help="state or comma-separated states (default running; all for --by state)",
    )
    hm.add_argument("--value", default="time", choices=VALUES, help="cell value (time)")
    hm.add_argument(
        "--top",
        type=int,
        default=30,
        help=f"rows drawn, the rest summed into 'other' (30; 0 = {MAX_PLOT_ROWS})",
    )
    hm.add_argument("--norm", default="log", choices=("log", "linear"), help="colour scale")
    hm.set_defaults(func=cmd_heatmap)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            # The reader went away (e.g. `| head`): silence the final flush at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        _error(f"{PROG}: {e}")
        return 2
