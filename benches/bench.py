#!/usr/bin/env python3
"""End-to-end parse benchmark: gotrace_fast.parse() against Go's own reader.

For every trace, in the same run:

* Go: ``tracecheck bench FILE -n N -warmup 1 -json`` (Go 1.27.3
  ``internal/trace``: the file is read into memory first, then N timed passes
  of ``trace.NewReader`` + ``ReadEvent`` to EOF, events only counted). Run with
  GOMAXPROCS=1 by default (single-threaded comparison; ``--gomaxprocs 0``
  leaves Go's default).
* Ours: ``gotrace_fast.parse(path, threads=T)`` in a fresh Python subprocess
  per repetition (after one untimed warm-up child), N repetitions, for each T
  of ``--threads`` (default ``1,2``; ``0`` = the default, all cores). After its
  imports the child waits ``--settle`` seconds (default 0.1: numpy's OpenBLAS
  threads spin for a few tens of ms after import, taking the second core). The child
  times ``parse()`` alone with ``time.perf_counter`` (the interpreter start
  and imports are reported separately) and then counts the events. The peak
  RSS of each child comes from ``os.wait4`` (``ru_maxrss`` of that child
  only), cross-checked with the child's own ``VmHWM``. A baseline child that
  only imports ``numpy`` and ``gotrace_fast`` gives the RSS that is not the
  trace's; it is reported, not subtracted.

Throughputs use MB = 10^6 bytes, as tracecheck does. The ratio is
ours/Go of the median events/s (> 1: we are faster).

Standard library only (plus the installed gotrace_fast in the child).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORPUS = Path(os.environ.get("GOTRACE_CORPUS", "/work/shared/corpus/traces"))
DEFAULT_TRACES = [
    CORPUS / "go1.27.3-mixed-medium.trace",
    CORPUS / "go1.25.5-mixed-medium.trace",
    CORPUS / "go1.22.10-mixed-medium.trace",
    CORPUS / "go1.21.13-mixed-medium.trace",  # v1 format
]

# The code each measuring child runs: argv[1] is the trace path, or "" for the
# baseline child (imports only); argv[2] is the --events-attr value; argv[3] the
# threads= value ("" = leave the default); argv[4] seconds to wait after the imports.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
try:
    import numpy  # noqa: F401  (part of the baseline: the package's results are numpy arrays)
except ImportError:
    pass
import gotrace_fast
t1 = time.perf_counter()
path, attr, threads = sys.argv[1], sys.argv[2], sys.argv[3]
out = {"import_s": t1 - t0}
time.sleep(float(sys.argv[4]))
if path:
    kw = {"threads": int(threads)} if threads else {}
    s = time.perf_counter()
    tr = gotrace_fast.parse(path, **kw)
    out["parse_s"] = time.perf_counter() - s

    def count(tr):
        names = [attr] if attr else []
        names += ["num_events", "n_events", "event_count", "events_total", "len"]
        for name in names:
            if name == "len":
                try:
                    return len(tr), "len()"
                except TypeError:
                    continue
            v = getattr(tr, name, None)
            if v is None:
                continue
            if callable(v):
                v = v()
            try:
                return int(v), name
            except TypeError:
                return len(v), "len(." + name + ")"
        ev = getattr(tr, "events", None)
        if ev is not None:
            ev = ev() if callable(ev) else ev
            return len(ev), "len(.events)"
        return None, None

    out["events"], out["events_via"] = count(tr)
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith(("VmHWM:", "VmRSS:")):
            k, v = line.split(":", 1)
            out[k.lower() + "_kb"] = int(v.split()[0])
print(json.dumps(out))
"""


def run_measured(cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None):
    """Run cmd as a dedicated child; return (stdout, stderr, returncode, wall_s, maxrss_kb).

    os.wait4 gives the rusage of exactly this child, so ru_maxrss is its own
    peak RSS (RUSAGE_CHILDREN would be the maximum over all children so far).
    """
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = _communicate_no_wait(p, timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        os.wait4(p.pid, 0)
        p.returncode = -9
        raise
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    return out.decode(), err.decode(errors="replace"), p.returncode, wall, ru.ru_maxrss


def _communicate_no_wait(p: subprocess.Popen, timeout: float | None):
    # Popen.communicate() reaps the child itself (losing its rusage), so read
    # the pipes with threads and leave the reaping to os.wait4.
    import threading

    bufs: dict[str, bytes] = {}

    def reader(name, stream):
        bufs[name] = stream.read()
        stream.close()

    ts = [
        threading.Thread(target=reader, args=(n, s))
        for n, s in (("out", p.stdout), ("err", p.stderr))
    ]
    for t in ts:
        t.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    for t in ts:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise subprocess.TimeoutExpired(p.args, timeout)
    return bufs["out"], bufs["err"]


def go_bench(tracecheck: str, path: Path, n: int, gomaxprocs: int, timeout: float | None) -> dict:
    env = dict(os.environ)
    if gomaxprocs > 0:
        env["GOMAXPROCS"] = str(gomaxprocs)
    cmd = [tracecheck, "bench", str(path), "-n", str(n), "-warmup", "1", "-json"]
    out, err, rc, wall, rss = run_measured(cmd, env=env, timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}: {err.strip()}")
    res = json.loads(out)
    res["process_wall_s"] = wall
    res["peak_rss_kb"] = rss  # whole file in memory + one pass
    return res


def child(
    python: str,
    path: Path | None,
    attr: str,
    timeout: float | None,
    threads: int = 0,
    settle: float = 0.0,
) -> dict:
    cmd = [
        python,
        "-c",
        CHILD,
        str(path) if path else "",
        attr,
        str(threads) if threads else "",
        str(settle),
    ]
    out, err, rc, wall, rss = run_measured(cmd, timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"child for {path or 'baseline'} exited {rc}: {err.strip()[-2000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["process_wall_s"] = wall
    res["maxrss_kb"] = rss
    return res


def ours_bench(
    python: str,
    path: Path,
    n: int,
    warmup: int,
    attr: str,
    timeout: float | None,
    threads: int,
    settle: float,
) -> dict:
    for _ in range(warmup):
        child(python, path, attr, timeout, threads, settle)
    runs = [child(python, path, attr, timeout, threads, settle) for _ in range(n)]
    secs = [r["parse_s"] for r in runs]
    events = {r["events"] for r in runs}
    nbytes = path.stat().st_size
    med, best = statistics.median(secs), min(secs)
    ev = runs[-1]["events"]
    rss_kb = max(r["maxrss_kb"] for r in runs)
    res = {
        "threads": threads or "default",
        "events": ev,
        "events_via": runs[-1]["events_via"],
        "events_consistent": len(events) == 1,
        "reps": n,
        "seconds": secs,
        "seconds_median": med,
        "seconds_best": best,
        "events_per_sec_median": ev / med if ev else None,
        "events_per_sec_best": ev / best if ev else None,
        "mb_per_sec_median": nbytes / 1e6 / med,
        "mb_per_sec_best": nbytes / 1e6 / best,
        "process_wall_s_median": statistics.median(r["process_wall_s"] for r in runs),
        "import_s_median": statistics.median(r["import_s"] for r in runs),
        "peak_rss_kb": rss_kb,
        "peak_rss_kb_per_rep": [r["maxrss_kb"] for r in runs],
        "vmhwm_kb_per_rep": [r.get("vmhwm_kb") for r in runs],
        "rss_per_file_mb": rss_kb * 1024 / nbytes,
    }
    return res


def fmt_rate(x, unit=1e6, nd=2):
    return "-" if x is None else f"{x / unit:.{nd}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Benchmark gotrace_fast.parse() against Go's internal/trace reader (tracecheck bench).",
        epilog="Default traces: the 1.27.3, 1.25.5, 1.22.10 and (v1) 1.21.13 mixed-medium corpus traces; "
        "paths given on the command line are benchmarked after them (--only: instead of them).",
    )
    ap.add_argument(
        "traces", nargs="*", type=Path, help="extra trace files (e.g. /work/big/large-1.27.3.trace)"
    )
    ap.add_argument(
        "--only", action="store_true", help="benchmark only the given traces, not the defaults"
    )
    ap.add_argument(
        "-n", "--reps", type=int, default=5, help="timed repetitions for both sides (default 5)"
    )
    ap.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed warm-up children for ours (default 1; Go always uses -warmup 1)",
    )
    ap.add_argument(
        "--tracecheck",
        default=os.environ.get("TRACECHECK", "/opt/tracecheck"),
        help="tracecheck binary (default: $TRACECHECK or /opt/tracecheck)",
    )
    ap.add_argument(
        "--gomaxprocs",
        type=int,
        default=1,
        help="GOMAXPROCS for tracecheck (default 1 = single-threaded like ours; 0 = Go's default)",
    )
    ap.add_argument(
        "--python", default=sys.executable, help="interpreter for the measuring children"
    )
    ap.add_argument(
        "--events-attr",
        default="",
        help="attribute/method of the parsed trace giving the event count "
        "(default: try len(), num_events, n_events, event_count, events_total, events)",
    )
    ap.add_argument(
        "--go-only", action="store_true", help="run only the Go half (no gotrace_fast needed)"
    )
    ap.add_argument("--ours-only", action="store_true", help="run only gotrace_fast")
    ap.add_argument(
        "--settle",
        type=float,
        default=0.1,
        help="seconds each child waits between its imports and the timed parse (default "
        "0.1: numpy's OpenBLAS threads spin on the CPUs for some tens of ms after import, "
        "which would take a helper thread's core; 0 = parse right away)",
    )
    ap.add_argument(
        "--threads",
        default="1,2",
        help="comma-separated threads= values for ours, each measured and shown in its own "
        "columns (default 1,2; 0 = parse's default, all cores)",
    )
    ap.add_argument(
        "--timeout", type=float, default=1800, help="per-process timeout in seconds (default 1800)"
    )
    ap.add_argument(
        "--json", dest="json_out", type=Path, help="write all results as JSON to this file"
    )
    args = ap.parse_args(argv)
    if args.go_only and args.ours_only:
        ap.error("--go-only and --ours-only exclude each other")

    traces = ([] if args.only else list(DEFAULT_TRACES)) + list(args.traces)
    if not traces:
        ap.error("no traces")
    for t in traces:
        if not t.is_file():
            ap.error(f"no such trace: {t}")
    do_go, do_ours = not args.ours_only, not args.go_only
    try:
        thread_settings = [int(x) for x in args.threads.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--threads: not a list of ints: {args.threads!r}")
    if not thread_settings or min(thread_settings) < 0:
        ap.error("--threads needs values >= 0")

    meta = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "reps": args.reps,
        "gomaxprocs": args.gomaxprocs if args.gomaxprocs > 0 else "default",
        "tracecheck": args.tracecheck,
        "threads": thread_settings,
        "settle_s": args.settle,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg_start": os.getloadavg(),
    }
    if do_go:
        meta["tracecheck_version"] = subprocess.run(
            [args.tracecheck, "version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    baseline = None
    if do_ours:
        b = child(args.python, None, "", args.timeout)
        baseline = {
            "maxrss_kb": b["maxrss_kb"],
            "vmhwm_kb": b.get("vmhwm_kb"),
            "import_s": b["import_s"],
        }
        ver = subprocess.run(
            [args.python, "-c", "import gotrace_fast as g; print(getattr(g, '__version__', '?'))"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        meta["gotrace_fast_version"] = ver
        print(
            f"baseline child (import numpy + gotrace_fast): peak RSS {b['maxrss_kb'] / 1024:.1f} MB, "
            f"import {b['import_s'] * 1e3:.0f} ms",
            file=sys.stderr,
        )

    results = []
    for t in traces:
        nbytes = t.stat().st_size
        row = {"trace": t.name, "path": str(t), "bytes": nbytes, "mb": nbytes / 1e6}
        if do_go:
            print(f"go   {t.name} ...", file=sys.stderr, flush=True)
            row["go"] = go_bench(args.tracecheck, t, args.reps, args.gomaxprocs, args.timeout)
        if do_ours:
            row["ours_by_threads"] = {}
            for th in thread_settings:
                print(f"ours {t.name} threads={th or 'default'} ...", file=sys.stderr, flush=True)
                o = ours_bench(
                    args.python,
                    t,
                    args.reps,
                    args.warmup,
                    args.events_attr,
                    args.timeout,
                    th,
                    args.settle,
                )
                o["rss_above_baseline_per_file_mb"] = (
                    (o["peak_rss_kb"] - baseline["maxrss_kb"]) * 1024 / nbytes
                )
                if do_go:
                    g = row["go"]
                    o["events_match"] = g["events"] == o["events"]
                    o["ratio_events_per_sec"] = (
                        o["events_per_sec_median"] / g["events_per_sec_median"]
                        if o["events_per_sec_median"]
                        else None
                    )
                    o["ratio_mb_per_sec"] = o["mb_per_sec_median"] / g["mb_per_sec_median"]
                row["ours_by_threads"][str(th)] = o
            # The first setting also under the keys earlier versions of this script wrote.
            row["ours"] = first = row["ours_by_threads"][str(thread_settings[0])]
            if do_go:
                row["events_match"] = all(
                    o["events_match"] for o in row["ours_by_threads"].values()
                )
                row["ratio_events_per_sec"] = first["ratio_events_per_sec"]
                row["ratio_mb_per_sec"] = first["ratio_mb_per_sec"]
        results.append(row)
    meta["loadavg_end"] = os.getloadavg()

    # Table: Go's columns, then per threads= setting ours Mev/s, ratio, peak RSS.
    labels = [f"t{th}" if th else "tdef" for th in thread_settings] if do_ours else []
    hdr = ["trace", "MB", "events", "Go Mev/s", "Go MB/s", "Go RSS MB"]
    for lab in labels:
        hdr += [f"{lab} Mev/s", f"{lab} MB/s", f"{lab} ratio", f"{lab} RSS MB", f"{lab} RSS/MB"]
    rows = []
    for r in results:
        g = r.get("go")
        by = r.get("ours_by_threads", {})
        ev = (g or r.get("ours"))["events"]
        evs = f"{ev:,}" if ev is not None else "?"
        if g and by and not r["events_match"]:
            evs += " (ours " + "/".join(f"{o['events']:,}" for o in by.values()) + "!)"
        cells = [
            r["trace"],
            f"{r['mb']:.1f}",
            evs,
            fmt_rate(g and g["events_per_sec_median"]),
            fmt_rate(g and g["mb_per_sec_median"], 1, 1),
            "-" if not g else f"{g['peak_rss_kb'] / 1024:.0f}",
        ]
        for th in thread_settings if do_ours else []:
            o = by[str(th)]
            ratio = o.get("ratio_events_per_sec")
            cells += [
                fmt_rate(o["events_per_sec_median"]),
                fmt_rate(o["mb_per_sec_median"], 1, 1),
                "-" if ratio is None else f"{ratio:.2f}x",
                f"{o['peak_rss_kb'] / 1024:.0f}",
                f"{o['rss_per_file_mb']:.2f}",
            ]
        rows.append(cells)
    widths = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(hdr)]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(hdr))
    print(line(["-" * w for w in widths]))
    for x in rows:
        print(line(x))
    gm = meta["gomaxprocs"]
    print(
        f"\nmedians of {args.reps} reps; MB = 10^6 bytes; ratio = ours/Go events/s; Go GOMAXPROCS={gm}; "
        "Go times parse of an in-memory copy, ours times gotrace_fast.parse(path, threads=N) "
        f"(file I/O included; tN = threads=N, tdef = the default, all cores; each child waits "
        f"{args.settle:g} s after its imports)."
    )
    la0, la1 = meta["loadavg_start"], meta["loadavg_end"]
    print(
        f"load average (1/5/15 min) at start {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, "
        f"at end {la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f} on {meta['cpus']} CPUs."
    )
    if baseline:
        print(
            f"ours RSS = peak RSS of the whole child (Python + numpy + gotrace_fast: baseline "
            f"{baseline['maxrss_kb'] / 1024:.0f} MB, not subtracted); RSS/MB = that / file MB. "
            f"Go RSS = tracecheck bench process (file in memory)."
        )
    if any(r.get("events_match") is False for r in results):
        print(
            "WARNING: event counts differ between gotrace_fast and Go for rows marked '!'",
            file=sys.stderr,
        )

    if args.json_out:
        args.json_out.write_text(
            json.dumps({"meta": meta, "baseline": baseline, "results": results}, indent=1) + "\n"
        )
        print(f"wrote {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
