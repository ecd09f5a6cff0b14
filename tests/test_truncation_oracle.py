"""Cut and bit-flipped traces against Go's own parser, through the Python API.

tests/data/truncation_oracle.tsv holds, for ~800 variants of the small corpus traces
(see tests/data/make_truncation_oracle.py), what ``tracecheck events`` did: exit status,
number of events, hashes of the dump. We must agree on error vs success and yield the same
events before the error (Go's message text may differ). The dense sweep without Go is
rust/gotrace-core/tests/truncation.rs.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import pytest

import gotrace_fast
import oracle
from gotrace_fast import Trace, TraceError

DATA = Path(__file__).with_name("data") / "truncation_oracle.tsv"


def _rows() -> dict[str, list[dict[str, str]]]:
    by_path: dict[str, list[dict[str, str]]] = {}
    with DATA.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_path.setdefault(row["path"], []).append(row)
    return by_path


ROWS = _rows()


@functools.lru_cache(maxsize=1)
def _original(path: str) -> bytes:
    return (oracle.SHARED / path).read_bytes()


def _mutate(d: bytes, op: str, pos: int, bit: int) -> bytes:
    if op == "cut":
        return d[:pos]
    m = bytearray(d)
    m[pos] ^= 1 << bit
    return bytes(m)


def _hashes(dump: bytes) -> tuple[str, str]:
    lines = dump.split(b"\n")[:-1] if dump else []
    rest = sorted(ln.split(b"\t", 1)[1] for ln in lines)
    return (
        hashlib.sha256(dump).hexdigest()[:16],
        hashlib.sha256(b"\n".join(rest)).hexdigest()[:16],
    )


def _parse(data: bytes | Path) -> tuple[Trace, TraceError | None]:
    try:
        return gotrace_fast.parse(data), None
    except TraceError as e:
        if e.partial is None:
            pytest.fail(f"TraceError without .partial: {e}")
        return e.partial, e


def test_sample_covers_every_small_trace() -> None:
    oracle.require_shared()
    corpus = {
        p.relative_to(oracle.SHARED).as_posix()
        for p in oracle.CORPUS.iterdir()
        if p.is_file() and p.suffix not in (".tsv", ".md") and p.stat().st_size <= 400_000
    }
    assert corpus
    missing = corpus - set(ROWS)
    assert not missing, f"no oracle variants for {sorted(missing)}: rerun the generator"


@pytest.mark.parametrize("path", sorted(ROWS), ids=lambda p: Path(p).name)
def test_same_outcome_and_events_as_go(path: str, tmp_path: Path) -> None:
    oracle.require_shared()
    original = _original(path)
    bad = []
    for i, row in enumerate(ROWS[path]):
        op, pos, bit = row["op"], int(row["pos"]), int(row["bit"])
        what = f"{op} {pos}" + (f" bit {bit}" if op == "flip" else "")
        if row["status"] == "-1":
            continue  # Go's own result changes from run to run
        data = _mutate(original, op, pos, bit)
        trace, err = _parse(data)
        if i % 4 == 0:  # the streaming reader (a path) must agree with the in-memory one
            f = tmp_path / "variant.trace"
            f.write_bytes(data)
            t2, e2 = _parse(f)
            assert (len(t2), str(e2)) == (len(trace), str(err)), f"{what}: streamed"
        if err is not None:
            assert type(err) is not TraceError, f"{what}: internal error {err}"
            v1_consistency = oracle.version_minor(trace.version) < 22 and err.kind == "validation"
            assert err.offset is not None or err.generation is not None or v1_consistency, (
                f"{what}: {err!r} names neither an offset nor a generation"
            )
        go_fails = row["status"] == "1"
        if go_fails != (err is not None):
            bad.append(
                f"{what}: Go {'fails: ' + row['go_error'] if go_fails else 'parses'}; "
                f"we {'raise ' + str(err) if err else 'parse'}"
            )
            continue
        if len(trace) != int(row["events"]):
            bad.append(f"{what}: {len(trace)} events, Go {row['events']} ({err})")
            continue
        sha, sorted_sha = _hashes(b"".join(trace.iter_events_tsv()))
        if row["sha"] == "-":
            if sorted_sha != row["sorted_sha"]:
                bad.append(f"{what}: events differ from Go's (as multisets)")
        elif sha != row["sha"]:
            bad.append(f"{what}: events differ from Go's")
    assert not bad, "\n".join(bad)
