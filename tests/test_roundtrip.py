"""Nothing lost on valid input: for every corpus trace, the events by kind equal the
oracle's (Go's own reader) under every ``threads=`` setting and under the streaming path,
and the event dump equals the oracle's with helper threads forced on (``threads=2``; the
default leaves inputs under 1 MiB on one thread, which ``test_corpus`` covers)."""

from __future__ import annotations

from typing import Any

import pytest

import gotrace_fast
import oracle

ROWS = oracle.read_index(oracle.EXPECTED / "INDEX.tsv")


def _param(row: dict[str, str]) -> Any:
    marks = [pytest.mark.slow] if int(row["bytes"]) > oracle.SLOW_BYTES else []
    return pytest.param(row, id=row["name"], marks=marks)


CASES = [_param(r) for r in ROWS]


@pytest.mark.parametrize("row", CASES)
def test_counts_equal_the_oracle_under_every_setting(row: dict[str, str]) -> None:
    oracle.require_shared()
    path = oracle.CORPUS / row["file"]
    want = oracle.load_summary(oracle.EXPECTED, row["name"])
    data = path.read_bytes()
    runs = {
        "threads=1": gotrace_fast.parse(path, threads=1),
        "threads=2": gotrace_fast.parse(path, threads=2),
        "threads=3 (bytes)": gotrace_fast.parse(data, threads=3),
        "default": gotrace_fast.parse(path),
    }
    for label, trace in runs.items():
        assert trace.counts_by_kind() == want["events_by_kind"], label
        assert len(trace) == want["events_total"] == int(row["events"]), label
    for threads in (1, 2):
        s = gotrace_fast.summary(path, threads=threads)
        assert s.counts_by_kind() == want["events_by_kind"], f"summary threads={threads}"
        assert len(s) == want["events_total"], f"summary threads={threads}"


@pytest.mark.parametrize("row", CASES)
def test_dump_equals_the_oracle_with_helper_threads(row: dict[str, str]) -> None:
    oracle.require_shared()
    if not row["events_dump"].startswith("ok"):
        pytest.skip(f"the oracle has no events dump ({row['events_dump']})")
    trace = gotrace_fast.parse(oracle.CORPUS / row["file"], threads=2)
    oracle.assert_same_events(trace, oracle.EXPECTED / f"{row['name']}.events.tsv.gz", row["name"])
