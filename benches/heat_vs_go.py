#!/usr/bin/env python3
"""Issue 5's speed point, measured in pairs: file -> goroutine x time heatmap (1000 bins)
against Go's reader alone on the same trace, the two run alternately.

Each pair is one Go run, ``tracecheck bench FILE -n 1 -warmup 1`` with GOMAXPROCS=1 (Go
1.27.3 ``internal/trace``: the file read into memory, one untimed pass, then one timed
pass of ``ReadEvent`` to EOF; its ``seconds_best``), and one fresh Python child timed
around ``gotrace_fast.heatmap(path, bins=1000, top=30)`` alone (the file opened and
read by the call; imports before the timer). Their ratio (Go s / ours s: > 1 means we
are faster) is taken per pair, so that a host whose load drifts over the minutes of a
run (shared machines: Go's pass took 1.8 s to 4 s over one evening) moves both sides of
a ratio together. The order within a pair alternates. Printed: every pair, then the
median ratio with its quartiles, and the peak RSS of the heatmap children over the
file size.

Usage:
    python benches/heat_vs_go.py [--pairs 9] [--threads N] [TRACE]
    (default trace: /work/big/large-1.27.3.trace; make it with ../shared/corpus/gen.sh
    as benches/README.md says)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import go_bench, run_measured

BIG = Path(os.environ.get("GOTRACE_BIG", "/work/big"))

CHILD = r"""
import json, sys, time
import numpy  # noqa: F401
import gotrace_fast
path, threads = sys.argv[1], int(sys.argv[2])
s = time.perf_counter()
hm = gotrace_fast.heatmap(path, bins=1000, top=30, threads=threads or None)
secs = time.perf_counter() - s
print(json.dumps({"seconds": secs, "rows": int(hm.values.shape[0]),
                  "bins": int(hm.values.shape[1])}))
"""


def ours(python: str, path: Path, threads: int, timeout: float) -> dict:
    cmd = [python, "-c", CHILD, str(path), str(threads)]
    out, err, rc, _wall, rss = run_measured(cmd, timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"heatmap child exited {rc}: {err.strip()[-2000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["maxrss_kb"] = rss
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", nargs="?", type=Path, default=BIG / "large-1.27.3.trace")
    ap.add_argument("-n", "--pairs", type=int, default=9)
    ap.add_argument("--threads", type=int, default=0, help="0: the package's default")
    ap.add_argument("--tracecheck", default=os.environ.get("TRACECHECK", "/opt/tracecheck"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", dest="json_out", type=Path)
    args = ap.parse_args(argv)
    path: Path = args.trace
    # Warm-ups (page cache, first-run costs), not counted.
    ours(args.python, path, args.threads, args.timeout)
    go_bench(args.tracecheck, path, 1, 1, args.timeout)
    pairs = []
    for i in range(args.pairs):
        first_go = i % 2 == 0
        if first_go:
            g = go_bench(args.tracecheck, path, 1, 1, args.timeout)
        o = ours(args.python, path, args.threads, args.timeout)
        if not first_go:
            g = go_bench(args.tracecheck, path, 1, 1, args.timeout)
        go_s = float(g["seconds_best"])
        pairs.append(
            {
                "go_s": go_s,
                "ours_s": o["seconds"],
                "ratio": go_s / o["seconds"],
                "ours_rss_kb": o["maxrss_kb"],
            }
        )
        print(
            f"pair {i + 1}: Go {go_s:.3f} s, heatmap {o['seconds']:.3f} s, "
            f"ratio {go_s / o['seconds']:.2f}",
            file=sys.stderr,
            flush=True,
        )
    ratios = sorted(p["ratio"] for p in pairs)
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    rss = max(p["ours_rss_kb"] for p in pairs) * 1024 / path.stat().st_size
    print(
        f"{path.name}: {len(pairs)} pairs; ratio Go/heatmap median {statistics.median(ratios):.2f}"
        f" (quartiles {q[0]:.2f} - {q[2]:.2f}, range {ratios[0]:.2f} - {ratios[-1]:.2f});"
        f" Go median {statistics.median(p['go_s'] for p in pairs):.3f} s,"
        f" heatmap median {statistics.median(p['ours_s'] for p in pairs):.3f} s;"
        f" heatmap peak RSS {rss:.2f}x the file"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps({"trace": str(path), "pairs": pairs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
