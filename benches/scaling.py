#!/usr/bin/env python3
"""Issue 6 benchmark, in one run: Go's reader, our full parse with 1 thread and with all
threads, and our streaming heatmap, on traces of growing size.

For every trace:

* Go: ``tracecheck bench FILE -n N -warmup 1 -json`` with GOMAXPROCS=1 (Go 1.27.3
  ``internal/trace``: file read into memory, then N timed passes of ``ReadEvent`` to EOF).
* ``parse/1`` and ``parse/N``: ``gotrace_fast.parse(path, threads=k)`` in a fresh child
  per repetition (one untimed warm-up child first), timed around ``parse`` alone.
* ``stream``: ``gotrace_fast.heatmap(path, bins=1000, top=30)`` (goroutine x time,
  running), the streaming path that never holds the event table.

Peak RSS is each child's own ``ru_maxrss`` (``os.wait4``); it includes the interpreter
and numpy (the baseline child, which only imports, is printed and not subtracted).
Ratios are ours/Go of median events/s (> 1: we are faster); for ``stream`` the events
are the trace's event count, so the ratio is "Go reads the events" vs "we compute the
heatmap from the file". The scaling table gives seconds per MB for each size relative
to the smallest trace's (linear time = constant column).

Go runs first and our modes after it, so on a host whose load drifts the ratios drift
too (the streaming heatmap's moved between 1.4x and 3.3x within an hour, one build):
for issue 5's ratio use ``benches/heat_vs_go.py``, which runs the two in alternating
pairs and takes the ratio per pair.

Usage:
    python benches/scaling.py [--reps 3] [TRACE ...]
    (default traces: the medium corpus traces and /work/big/s10-1.27.3.trace,
    /work/big/large-1.27.3.trace, /work/big/s500-1.27.3.trace where present; make them
    with ../shared/corpus/gen.sh as benches/README.md says)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import CORPUS, go_bench, run_measured

BIG = Path(os.environ.get("GOTRACE_BIG", "/work/big"))
DEFAULT_TRACES = [
    CORPUS / "go1.27.3-mixed-medium.trace",
    CORPUS / "go1.25.5-mixed-medium.trace",
    CORPUS / "go1.22.10-mixed-medium.trace",
    CORPUS / "go1.21.13-mixed-medium.trace",
    BIG / "s10-1.27.3.trace",
    BIG / "large-1.27.3.trace",
    BIG / "s500-1.27.3.trace",
    BIG / "large-1.21.13.trace",
]

CHILD = r"""
import json, sys, time
import numpy  # noqa: F401
import gotrace_fast
path, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {}
s = time.perf_counter()
if mode == "parse":
    tr = gotrace_fast.parse(path, threads=threads or None)
    out["seconds"] = time.perf_counter() - s
    out["events"] = len(tr.events)
elif mode == "stream":
    hm = gotrace_fast.heatmap(path, bins=1000, top=30, threads=threads or None)
    out["seconds"] = time.perf_counter() - s
    out["matrix_bytes"] = int(hm.values.nbytes)
print(json.dumps(out))
"""


def child(python: str, path: Path | None, mode: str, threads: int, timeout: float) -> dict:
    cmd = [python, "-c", CHILD, str(path or ""), mode, str(threads)]
    if path is None:
        cmd = [python, "-c", "import numpy, gotrace_fast"]
    out, err, rc, _wall, rss = run_measured(cmd, timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"{mode} child for {path} exited {rc}: {err.strip()[-2000:]}")
    res = json.loads(out.strip().splitlines()[-1]) if path else {}
    res["maxrss_kb"] = rss
    return res


def ours(python: str, path: Path, mode: str, threads: int, reps: int, timeout: float) -> dict:
    child(python, path, mode, threads, timeout)
    runs = [child(python, path, mode, threads, timeout) for _ in range(reps)]
    secs = [r["seconds"] for r in runs]
    return {
        "seconds": secs,
        "seconds_median": statistics.median(secs),
        "events": runs[-1].get("events"),
        "matrix_bytes": runs[-1].get("matrix_bytes"),
        "peak_rss_kb": max(r["maxrss_kb"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("traces", nargs="*", type=Path)
    ap.add_argument("-n", "--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="the 'all' count")
    ap.add_argument("--tracecheck", default=os.environ.get("TRACECHECK", "/opt/tracecheck"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", dest="json_out", type=Path)
    args = ap.parse_args(argv)
    traces = args.traces or [t for t in DEFAULT_TRACES if t.is_file()]
    nt = args.threads
    base = child(args.python, None, "", 0, args.timeout)["maxrss_kb"]
    print(f"baseline child (import numpy + gotrace_fast): {base / 1024:.0f} MB", file=sys.stderr)
    results = []
    for t in traces:
        nbytes = t.stat().st_size
        row: dict = {"trace": t.name, "bytes": nbytes, "mb": nbytes / 1e6}
        print(f"{t.name}: go", file=sys.stderr, flush=True)
        row["go"] = go_bench(args.tracecheck, t, args.reps, 1, args.timeout)
        for key, mode, k in (
            ("parse1", "parse", 1),
            ("parseN", "parse", nt),
            ("stream", "stream", nt),
        ):
            print(f"{t.name}: {key}", file=sys.stderr, flush=True)
            row[key] = ours(args.python, t, mode, k, args.reps, args.timeout)
        results.append(row)

    def rate(r: dict, ev: int) -> float:
        return ev / r["seconds_median"]

    hdr = [
        "trace",
        "MB",
        "Mev",
        "Go MB/s",
        "p1 MB/s",
        "p1 x",
        f"p{nt} x",
        "stream x",
        "Go RSS/MB",
        "p1 RSS/MB",
        f"p{nt} RSS/MB",
        "stream RSS/MB",
    ]
    lines = []
    for r in results:
        g = r["go"]
        ev = g["events"]
        gr = g["events_per_sec_median"]
        mb = r["bytes"] / 2**20
        lines.append(
            [
                r["trace"],
                f"{r['mb']:.1f}",
                f"{ev / 1e6:.2f}",
                f"{g['mb_per_sec_median']:.1f}",
                f"{r['mb'] / r['parse1']['seconds_median']:.1f}",
                f"{rate(r['parse1'], ev) / gr:.2f}",
                f"{rate(r['parseN'], ev) / gr:.2f}",
                f"{rate(r['stream'], ev) / gr:.2f}",
                f"{g['peak_rss_kb'] / 1024 / mb:.2f}",
                f"{r['parse1']['peak_rss_kb'] / 1024 / mb:.2f}",
                f"{r['parseN']['peak_rss_kb'] / 1024 / mb:.2f}",
                f"{r['stream']['peak_rss_kb'] / 1024 / mb:.2f}",
            ]
        )
        if r["parse1"]["events"] != ev:
            print(
                f"WARNING {r['trace']}: ours {r['parse1']['events']} events, Go {ev}",
                file=sys.stderr,
            )
    _table(hdr, lines)
    print(
        f"\nmedians of {args.reps}; x = ours/Go events/s; Go GOMAXPROCS=1; RSS/MB = peak RSS "
        f"(MiB) / file MiB, whole process (baseline {base / 1024:.0f} MB not subtracted)"
    )

    v2 = [
        r for r in results if not r["trace"].startswith("large-1.21") and "1.21" not in r["trace"]
    ]
    v2.sort(key=lambda r: r["bytes"])
    if len(v2) > 1:
        print("\nscaling (v2): seconds per MB relative to the smallest trace")
        ref = {k: v2[0][k]["seconds_median"] / v2[0]["mb"] for k in ("parse1", "parseN", "stream")}
        ref["go"] = (v2[0]["go"]["events"] / v2[0]["go"]["events_per_sec_median"]) / v2[0]["mb"]
        rows = []
        for r in v2:
            go_s = r["go"]["events"] / r["go"]["events_per_sec_median"]
            rows.append(
                [r["trace"], f"{r['mb']:.1f}", f"{go_s / r['mb'] / ref['go']:.2f}"]
                + [
                    f"{r[k]['seconds_median'] / r['mb'] / ref[k]:.2f}"
                    for k in ("parse1", "parseN", "stream")
                ]
            )
        _table(["trace", "MB", "Go", "parse/1", f"parse/{nt}", "stream"], rows)

    if args.json_out:
        meta = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "reps": args.reps,
            "threads": nt,
            "baseline_rss_kb": base,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        args.json_out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    return 0


def _table(hdr: list[str], rows: list[list[str]]) -> None:
    w = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(hdr)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells))

    print(fmt(hdr))
    print(fmt(["-" * x for x in w]))
    for x in rows:
        print(fmt(x))


if __name__ == "__main__":
    sys.exit(main())
