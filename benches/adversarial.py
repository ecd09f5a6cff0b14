#!/usr/bin/env python3
"""Adversarially ordered traces: Go's reader against ours, in one run.

Go's reader searches its whole frontier (sort, then try every M) whenever the M with the
earliest next event cannot move, and Go's v1 parser tries every P without an event in its
merge heap for every event: O(threads) per event. The generators of
``rust/gotrace-core/tests/pathological.rs`` build traces that hit that on every event:

* ``frontier-K``: K threads at one timestamp pass one goroutine along (K+1 .. 3K events);
* ``frontier_shuffled-K``: the same at distinct times in shuffled order, which leaves the
  frontier unsorted at every step (the one shape where we still sort per event);
* ``v1_pass_along-K/2``: the v1 (Go 1.21) form, K/2 Ps at one timestamp.

For each K (default 2000, 8000, 32000) the traces are written with
``PATHOLOGICAL_DUMP=DIR PATHOLOGICAL_K=K cargo test --release -p gotrace-core --test
pathological dump_for_tracecheck``, then timed: Go with ``tracecheck bench FILE -n 1
-warmup 0 -json`` (GOMAXPROCS=1), ours with ``gotrace_fast.parse(path, threads=1)`` in a
fresh child (best of ``--reps``). With ``--check`` the event dumps (``tracecheck events``
and ``gotrace-fast events``) are compared too, for the v2 traces of every K (Go's v1 order
among equal timestamps changes from run to run, so the v1 ones are not compared).

Usage: python benches/adversarial.py [--k 2000 8000 32000] [--reps 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import go_bench, run_measured

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, sys, time
import gotrace_fast
s = time.perf_counter()
t = gotrace_fast.parse(sys.argv[1], threads=1)
print(json.dumps({"seconds": time.perf_counter() - s, "events": len(t.events)}))
"""


def dump(k: int, out: Path) -> None:
    env = dict(os.environ, PATHOLOGICAL_DUMP=str(out), PATHOLOGICAL_K=str(k))
    cmd = ["cargo", "test", "--quiet", "--release", "-p", "gotrace-core", "--test"]
    cmd += ["pathological", "dump_for_tracecheck"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def ours(python: str, path: Path, reps: int, timeout: float) -> dict:
    best: dict = {}
    for _ in range(reps):
        out, err, rc, _wall, _rss = run_measured([python, "-c", CHILD, str(path)], timeout=timeout)
        if rc != 0:
            raise RuntimeError(f"parse of {path} exited {rc}: {err.strip()[-2000:]}")
        r = json.loads(out.strip().splitlines()[-1])
        if not best or r["seconds"] < best["seconds"]:
            best = r
    return best


def same_dump(tracecheck: str, python: str, path: Path, timeout: float) -> bool:
    go = subprocess.run([tracecheck, "events", str(path)], capture_output=True, timeout=timeout)
    cmd = [python, "-m", "gotrace_fast", "events", str(path)]
    us = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return go.returncode == us.returncode == 0 and go.stdout == us.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, nargs="+", default=[2000, 8000, 32000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="compare the v2 event dumps with Go's")
    ap.add_argument("--tracecheck", default=os.environ.get("TRACECHECK", "/opt/tracecheck"))
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.k:
            d = Path(tmp) / str(k)
            dump(k, d)
            for name in (f"frontier-{k}", f"frontier_shuffled-{k}", f"v1_pass_along-{k // 2}"):
                path = d / f"{name}.trace"
                go = go_bench(args.tracecheck, path, 1, 1, args.timeout)
                us = ours(sys.executable, path, args.reps, args.timeout)
                assert us["events"] == go["events"], (name, us["events"], go["events"])
                same = ""
                if args.check and not name.startswith("v1"):
                    ok = same_dump(args.tracecheck, sys.executable, path, args.timeout)
                    same = "yes" if ok else "NO"
                rows.append((name, go["events"], go["seconds_best"], us["seconds"], same))
                print(
                    f"{name}: Go {go['seconds_best']:.3f} s, ours {us['seconds']:.3f} s",
                    file=sys.stderr,
                )
    print(f"{'trace':<26} {'events':>8} {'Go s':>8} {'ours s':>8} {'x Go':>7} {'same dump':>9}")
    for name, ev, g, u, same in rows:
        print(f"{name:<26} {ev:>8} {g:>8.3f} {u:>8.3f} {g / u:>7.1f} {same:>9}")
    print("Go: tracecheck bench (GOMAXPROCS=1, one pass); ours: parse(threads=1), best of reps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
