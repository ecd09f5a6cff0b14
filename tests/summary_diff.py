#!/usr/bin/env python3
"""Prints every field of the interval/goroutine analysis that differs from the oracle.

    python tests/summary_diff.py TRACE [ORACLE_SUMMARY_JSON[.gz]] [--max N]

Without ORACLE_SUMMARY_JSON, the summary is looked up by the trace's name in
shared/oracle/expected/, golden/ and golden/tracev1/. Compares the sections
``state_time_ns``, ``procs``, ``goroutine_states``, ``goroutines`` (Go's Summarizer,
regions included), ``ranges``, ``gc`` and ``stw``. Exit status 0 = equal, 1 = differences.
Also importable (``diff_summary``), as the tests do.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SECTIONS = (
    "state_time_ns",
    "procs",
    "goroutine_states",
    "goroutines",
    "task_summaries",
    "ranges",
    "gc",
    "stw",
)


def _region_key(r: dict[str, Any]) -> tuple:
    s, e = r.get("start_ns"), r.get("end_ns")
    return (s is not None, s or 0, e is not None, e or 0, r.get("name"), r.get("task_id"))


def diff_values(path: str, ours: Any, theirs: Any, tol: int = 0) -> Iterator[str]:
    """``path: ours != oracle`` lines for every differing leaf (integers within ``tol``
    count as equal)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for k in sorted(set(ours) | set(theirs), key=str):
            if k not in theirs:
                yield f"{path}.{k}: ours {ours[k]!r}, oracle has no such key"
            elif k not in ours:
                yield f"{path}.{k}: missing, oracle {theirs[k]!r}"
            else:
                yield from diff_values(f"{path}.{k}", ours[k], theirs[k], tol)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if ours and isinstance(ours[0], dict) and "id" in ours[0]:
            a = {r["id"]: r for r in ours}
            b = {r["id"]: r for r in theirs}
            for i in sorted(set(a) | set(b)):
                if i not in b:
                    yield f"{path}[id={i}]: ours only"
                elif i not in a:
                    yield f"{path}[id={i}]: oracle only"
                elif a[i] != b[i]:
                    yield from diff_values(f"{path}[id={i}]", a[i], b[i], tol)
            return
        if path.endswith(".regions"):
            ours, theirs = sorted(ours, key=_region_key), sorted(theirs, key=_region_key)
        if len(ours) != len(theirs):
            yield f"{path}: {len(ours)} items, oracle {len(theirs)}"
        for j, (x, y) in enumerate(zip(ours, theirs, strict=False)):
            yield from diff_values(f"{path}[{j}]", x, y, tol)
    elif tol and type(ours) is int and type(theirs) is int and abs(ours - theirs) <= tol:
        return
    elif ours != theirs or isinstance(ours, bool) != isinstance(theirs, bool):
        yield f"{path}: ours {ours!r}, oracle {theirs!r}"


def ours_section(trace: Any, section: str) -> Any:
    a = trace.analysis
    if section == "goroutines":
        return [
            {k: v for k, v in g.items() if k not in ("creator", "creation_stack")}
            for g in a.goroutines_json()
        ]
    make = {
        "state_time_ns": a.state_time_ns,
        "procs": a.procs_json,
        "goroutine_states": a.goroutine_states_json,
        "task_summaries": a.task_summaries_json,
        "ranges": a.ranges_json,
        "gc": lambda: a.gc,
        "stw": lambda: a.stw,
    }
    return make[section]()


def diff_summary(
    trace: Any, oracle_summary: dict[str, Any], sections: tuple[str, ...] = SECTIONS, tol: int = 0
) -> Iterator[str]:
    for sec in sections:
        yield from diff_values(sec, ours_section(trace, sec), oracle_summary[sec], tol)


def find_oracle(trace_path: Path) -> Path:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import oracle

    name = trace_path.name.removesuffix(".trace")
    for d in (oracle.EXPECTED, oracle.GOLDEN, oracle.GOLDEN / "tracev1"):
        for suffix in (".summary.json", ".summary.json.gz"):
            p = d / f"{name}{suffix}"
            if p.is_file():
                return p
    raise SystemExit(f"no oracle summary for {name}; pass its path")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", type=Path)
    ap.add_argument("oracle_summary", type=Path, nargs="?")
    ap.add_argument("--max", type=int, default=50, help="print at most N differences")
    ap.add_argument("--tol", type=int, default=0, help="integers within N count as equal")
    args = ap.parse_args(argv)
    import gotrace_fast

    path = args.oracle_summary or find_oracle(args.trace)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        want = json.load(f)
    trace = gotrace_fast.parse(args.trace)
    n = 0
    for line in diff_summary(trace, want, tol=args.tol):
        n += 1
        if n <= args.max:
            print(line)
    if n > args.max:
        print(f"... {n - args.max} more")
    if n == 0:
        print(f"{args.trace.name}: equal ({', '.join(SECTIONS)})")
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
