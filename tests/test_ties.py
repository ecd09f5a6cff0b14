"""Equal timestamps on many threads: the event order must be Go's.

tests/data/ties/ties-N.trace (written by ``random_ties`` in
rust/gotrace-core/tests/pathological.rs) have 16-36 threads passing goroutines around with
many events at the same timestamp. Go's reader then sorts its frontier with the unstable
``slices.SortFunc``, whose tie order decides which thread goes first; the expected dumps
are ``tracecheck events`` output. (With a stable sort, every one of them differed.)

tests/data/ties/index-*.trace (``write_tie_traces`` there too) have 64 to 170 threads, so
the reader searches their frontier through its index (rust/gotrace-core/src/frontier.rs),
which skips threads known to wait and the sort of an already sorted frontier: the order
must still be Go's. ``index-frontier`` has a hundred threads at one timestamp passing one
goroutine along, ``index-shuffled`` the same with shuffled distinct times, and
``index-sched-N`` are random schedules (procs taken, stolen in syscalls, goroutines
blocked and unblocked, GC) with equal and skewed times.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gotrace_fast
import oracle

DATA = Path(__file__).with_name("data") / "ties"
TRACES = sorted(DATA.glob("ties-*.trace"))
INDEXED = sorted(DATA.glob("index-*.trace"))


def test_data_present() -> None:
    assert len(TRACES) == 6
    assert len(INDEXED) == 5


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.stem)
def test_same_order_as_go(path: Path) -> None:
    trace = gotrace_fast.parse(path)
    expected = path.with_name(path.stem + ".events.tsv.gz")
    oracle.assert_same_lines(oracle.tsv_chunks(trace), expected, path.name)


@pytest.mark.parametrize("path", INDEXED, ids=lambda p: p.stem)
def test_indexed_search_same_order_as_go(path: Path) -> None:
    trace = gotrace_fast.parse(path)
    expected = path.with_name(path.stem + ".events.tsv.gz")
    oracle.assert_same_lines(oracle.tsv_chunks(trace), expected, path.name)
    assert len(trace.events) > 90
