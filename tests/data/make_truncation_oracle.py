#!/usr/bin/env python3
"""Writes truncation_oracle.tsv: Go's verdict on a sample of cut and bit-flipped traces.

For every small trace of the shared corpus (<= 400 kB, plus the golden ``*-idle-ok``
traces) it picks cut offsets (batch boundaries, just after them, spread offsets, the last
bytes) and bit flips (spread positions, batch headers), seeded by the file name, runs
``tracecheck events`` on each variant and records its exit status, the number of events
it printed and hashes of that dump. ``tests/test_truncation_oracle.py`` parses the same
variants and checks that it agrees.

Usage: python tests/data/make_truncation_oracle.py [--tracecheck /opt/tracecheck]
(run from the repository root; reads ../shared, or $GOTRACE_SHARED). Only needed again
when the corpus changes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GOTRACE_SHARED") or REPO.parent / "shared")
OUT = Path(__file__).with_name("truncation_oracle.tsv")
SMALL_BYTES = 400_000
HEADER = 16

# Go's v1 parser orders events of equal timestamps in map order: their dumps differ from
# run to run (oracle README), so these are compared as sorted lines without the time.
NONDETERMINISTIC_V1 = {
    "gosrc-http_1_19_good",
    "gosrc-stress_1_11_good",
    "gosrc-stress_1_19_good",
    "gosrc-stress_1_21_good",
    "gosrc-stress_start_stop_1_11_good",
    "gosrc-stress_start_stop_1_19_good",
    "gosrc-stress_start_stop_1_21_good",
}


def small_traces() -> list[Path]:
    corpus = SHARED / "corpus" / "traces"
    out = [
        p
        for p in corpus.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix not in (".tsv", ".md")
        and p.stat().st_size <= SMALL_BYTES
    ]
    out += (SHARED / "oracle" / "golden" / "malformed").glob("*-idle-ok.trace")
    return sorted(out, key=lambda p: p.name)


def uvarint(d: bytes, i: int) -> tuple[int, int]:
    x = s = 0
    while True:
        b = d[i]
        i += 1
        x |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return x, i


def batch_starts(d: bytes) -> list[int]:
    """Start offsets of the batches of an intact v2 trace (empty for v1)."""
    if int(d[5:7].rstrip(b" ")) < 22:
        return []
    out, i = [], HEADER
    while i < len(d):
        out.append(i)
        b = d[i]
        i += 1
        if b == 52:  # EndOfGeneration
            continue
        if b == 49:  # ExperimentalBatch: one more byte (the experiment)
            i += 1
        for _ in range(3):  # gen, m, ts
            _, i = uvarint(d, i)
        size, i = uvarint(d, i)
        i += size
    return out


def variants(name: str, d: bytes) -> list[tuple[str, int, int]]:
    """(op, position, bit): op "cut" keeps d[:position]; "flip" flips one bit there."""
    rng = random.Random(name)
    n = len(d)
    starts = batch_starts(d)
    cuts: set[int] = set()
    if starts:
        cuts.update(rng.sample(starts[1:], min(2, len(starts) - 1)))
        cuts.add(rng.choice(starts) + rng.randint(1, 3))
    cuts.update(rng.randrange(HEADER, n) for _ in range(3))
    cuts.add(n - rng.randint(1, min(200, n - HEADER)))
    flips = {(rng.randrange(HEADER, n), rng.randrange(8)) for _ in range(4)}
    if starts:
        s = rng.choice(starts)
        flips.add((s + rng.randrange(4), rng.randrange(8)))
    out = [("cut", c, 0) for c in sorted(cuts)]
    out += [("flip", p, b) for p, b in sorted(flips)]
    return out


def mutate(d: bytes, op: str, pos: int, bit: int) -> bytes:
    if op == "cut":
        return d[:pos]
    m = bytearray(d)
    m[pos] ^= 1 << bit
    return bytes(m)


def hashes(dump: bytes) -> tuple[str, str]:
    """sha256 of the dump, and of its lines without the time column, sorted."""
    lines = dump.split(b"\n")[:-1] if dump else []
    rest = sorted(ln.split(b"\t", 1)[1] for ln in lines)
    return (
        hashlib.sha256(dump).hexdigest()[:16],
        hashlib.sha256(b"\n".join(rest)).hexdigest()[:16],
    )


def run(tracecheck: str, data: bytes) -> tuple[int, bytes, str]:
    p = subprocess.run(
        [tracecheck, "events", "-"], input=data, capture_output=True, timeout=120, check=False
    )
    if p.returncode not in (0, 1):
        sys.exit(f"tracecheck failed ({p.returncode}): {p.stderr[:500]!r}")
    first = p.stderr.decode("utf-8", "replace").split("\n", 1)[0]
    return p.returncode, p.stdout, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracecheck", default="/opt/tracecheck")
    args = ap.parse_args()
    rows = ["path\top\tpos\tbit\tstatus\tevents\tsha\tsorted_sha\tgo_error"]
    for path in small_traces():
        d = path.read_bytes()
        rel = path.relative_to(SHARED).as_posix()
        for op, pos, bit in variants(path.name, d):
            m = mutate(d, op, pos, bit)
            status, dump, err = run(args.tracecheck, m)
            events = dump.count(b"\n")
            sha, sorted_sha = hashes(dump)
            if path.name in NONDETERMINISTIC_V1:
                again = [run(args.tracecheck, m) for _ in range(3)]
                if any(
                    (s, hashes(o)[1]) != (status, sorted_sha) for s, o, _ in again
                ):  # Go itself is not stable on this input
                    status, events, sorted_sha = -1, -1, "unstable"
                sha = "-"
            err = err.replace("\t", " ")[:100]
            rows.append(
                f"{rel}\t{op}\t{pos}\t{bit}\t{status}\t{events}\t{sha}\t{sorted_sha}\t{err}"
            )
        print(f"{path.name}: done", file=sys.stderr)
    OUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows) - 1} variants to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
