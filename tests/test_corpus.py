"""(a) Every trace of the shared corpus (v2, and v1 = Go 1.11-1.21) against the oracle (Go 1.27.3's
own parser)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gotrace_fast
import oracle
from gotrace_fast import EventKind, ResourceKind, Trace, TraceError

ROWS = oracle.read_index(oracle.EXPECTED / "INDEX.tsv")


def _param(row: dict[str, str]) -> Any:
    marks = [pytest.mark.slow] if int(row["bytes"]) > oracle.SLOW_BYTES else []
    return pytest.param(row, id=row["name"], marks=marks)


@pytest.fixture(scope="module", params=[_param(r) for r in ROWS])
def case(request: pytest.FixtureRequest) -> tuple[dict[str, str], Trace, TraceError | None]:
    """(INDEX row, trace, error); module scope: each trace is parsed once for all tests."""
    oracle.require_shared()
    row = request.param
    trace, err = oracle.load(oracle.CORPUS / row["file"])
    return row, trace, err


def _ok(case: tuple[dict[str, str], Trace, TraceError | None]) -> tuple[dict[str, str], Trace]:
    row, trace, err = case
    if err is not None:
        pytest.fail(f"{row['name']}: Go parses it, we raise {type(err).__name__}: {err}")
    return row, trace


def test_events_tsv(case: Any) -> None:
    row, trace = _ok(case)
    if not row["events_dump"].startswith("ok"):
        pytest.skip(f"the oracle has no events dump ({row['events_dump']})")
    oracle.assert_same_events(trace, oracle.EXPECTED / f"{row['name']}.events.tsv.gz", row["name"])


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=r["name"])
        for r in ROWS
        if oracle.is_nondeterministic_v1(r["name"]) and int(r["bytes"]) <= oracle.SLOW_BYTES
    ],
)
def test_v1_order_is_deterministic(row: dict[str, str]) -> None:
    """Go's order is run-dependent on these files; ours must not be."""
    oracle.require_shared()
    data = (oracle.CORPUS / row["file"]).read_bytes()
    dumps = {b"".join(gotrace_fast.parse(data).iter_events_tsv(1 << 18)) for _ in range(3)}
    assert len(dumps) == 1


def test_counts_by_kind(case: Any) -> None:
    row, trace = _ok(case)
    summary = oracle.load_summary(oracle.EXPECTED, row["name"])
    assert trace.counts_by_kind() == summary["events_by_kind"]
    assert len(trace) == summary["events_total"] == int(row["events"])


def test_summary_fields(case: Any) -> None:
    row, trace = _ok(case)
    s = oracle.load_summary(oracle.EXPECTED, row["name"])
    assert trace.version == s["header_version"] == row["header_version"]
    assert trace.version_minor == s["header_version_minor"]
    assert trace.start_ns == s["first_event_ns"]
    assert trace.end_ns == s["last_event_ns"]
    assert trace.duration_ns == s["duration_ns"]
    n_syncs = int(np.count_nonzero(trace.events.kind == EventKind.Sync))
    assert n_syncs == s["events_by_kind"]["Sync"]


def _ids_by_numpy(trace: Any, column: np.ndarray, resource: ResourceKind) -> np.ndarray:
    """The distinct-ID rule in numpy: contexts plus resources of transitions, labels and
    range scopes (the native pass must give the same IDs, not only as many)."""
    ev = trace.events
    named = [EventKind.StateTransition, EventKind.Label, EventKind.RangeBegin]
    named += [EventKind.RangeActive, EventKind.RangeEnd]
    is_res = (ev.res_kind == resource) & np.isin(ev.kind, [int(k) for k in named])
    ids = np.concatenate([column[column != -1].astype(np.int64), ev.arg[is_res].astype(np.int64)])
    return np.unique(ids)


def test_distinct_ids(case: Any) -> None:
    row, trace = _ok(case)
    ids = oracle.load_summary(oracle.EXPECTED, row["name"])["distinct_ids"]
    assert {
        "goroutines": len(trace.goroutine_ids()),
        "procs": len(trace.proc_ids()),
        "threads": len(trace.thread_ids()),
    } == ids
    ev = trace.events
    for got, col, res in (
        (trace.goroutine_ids(), ev.g, ResourceKind.Goroutine),
        (trace.proc_ids(), ev.p, ResourceKind.Proc),
        (trace.thread_ids(), ev.m, ResourceKind.Thread),
    ):
        np.testing.assert_array_equal(got, _ids_by_numpy(trace, col, res), err_msg=res.name)
