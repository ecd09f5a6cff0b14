"""(b') Go's own v1-format test traces (internal/trace/internal/tracev1/testdata/*_good):
all parse, with the same events as Go (as multisets for the run-dependent ones)."""

from __future__ import annotations

from typing import Any

import pytest

import oracle

TRACEV1 = oracle.GOLDEN / "tracev1"
ROWS = oracle.read_index(TRACEV1 / "INDEX.tsv")


@pytest.fixture(scope="module", params=[pytest.param(r, id=r["name"]) for r in ROWS])
def case(request: pytest.FixtureRequest) -> Any:
    oracle.require_shared()
    row = request.param
    trace, err = oracle.load(TRACEV1 / f"{row['name']}.trace")
    return row, trace, err


def test_outcome_and_events(case: Any) -> None:
    row, trace, err = case
    name = row["name"]
    outcome, _ = oracle.read_expect(TRACEV1, name)
    assert outcome == "SUCCESS"
    assert err is None, f"Go parses {name}; we raise {type(err).__name__}: {err}"
    assert len(trace) == int(row["events"])
    oracle.assert_same_events(trace, oracle.events_file(TRACEV1, name), name)


def test_summary_counts(case: Any) -> None:
    row, trace, err = case
    assert err is None
    summary = oracle.load_summary(TRACEV1, row["name"])
    assert trace.counts_by_kind() == summary["events_by_kind"]
    assert trace.version == summary["header_version"]
