"""Time the analysis and a heatmap against the parse alone.

Issue 4 asks that summary and intervals of a large trace take at most 1.5x the time of
its parse; issue 5 that a 1000-bin goroutine heatmap takes at most 20 % of it. For each
trace, N fresh Python processes each time ``gotrace_fast.parse``, then
``trace.analysis`` plus the three interval tables and the goroutine table, then
``trace.heatmap(1000)`` (every goroutine a row; it reuses the analysis), then
``trace.heatmap(1000, top=30)``; medians, ratios to the parse and the processes' peak
RSS are printed.

    python3 benches/analysis.py [TRACE ...] [-n N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import gotrace_fast
t = time.perf_counter()
tr = gotrace_fast.parse(sys.argv[1])
parse_s = time.perf_counter() - t
t = time.perf_counter()
tr.analysis
for r in ("goroutine", "proc", "thread"):
    tr.intervals(r)
tr.goroutines
analysis_s = time.perf_counter() - t
t = time.perf_counter()
h = tr.heatmap(1000)
heatmap_s = time.perf_counter() - t
del h
t = time.perf_counter()
tr.heatmap(1000, top=30)
top_s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"events": len(tr), "parse_s": parse_s, "analysis_s": analysis_s,
                  "heatmap_s": heatmap_s, "top_s": top_s, "rss_mb": rss}))
"""

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/corpus/traces"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("traces", nargs="*", type=Path)
    ap.add_argument("-n", type=int, default=3)
    args = ap.parse_args()
    traces = args.traces or [DEFAULT / "go1.27.3-mixed-medium.trace"]
    print(
        f"{'trace':<34} {'events':>12} {'parse s':>9} {'analysis s':>11} {'ratio':>6}"
        f" {'heatmap s':>10} {'/parse':>7} {'top30 s':>8} {'/parse':>7} {'RSS MB':>7}"
    )
    for path in traces:
        runs = []
        for _ in range(args.n):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True
            ).stdout
            runs.append(json.loads(out))
        p = statistics.median(r["parse_s"] for r in runs)
        a = statistics.median(r["analysis_s"] for r in runs)
        h = statistics.median(r["heatmap_s"] for r in runs)
        t = statistics.median(r["top_s"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        print(
            f"{path.name:<34} {runs[0]['events']:>12,} {p:>9.3f} {a:>11.3f} {a / p:>5.2f}x"
            f" {h:>10.3f} {h / p:>6.2f}x {t:>8.3f} {t / p:>6.2f}x {rss:>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
