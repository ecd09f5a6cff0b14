"""(b) Go's own v2 test cases (internal/trace/testdata/tests), converted to binary."""

from __future__ import annotations

from typing import Any

import pytest

import oracle

ROWS = oracle.read_index(oracle.GOLDEN / "INDEX.tsv")
FAILURES = [r for r in ROWS if r["expect"].startswith("FAILURE")]
SUCCESSES = [r for r in ROWS if r["expect"] == "SUCCESS"]


@pytest.fixture(scope="module", params=[pytest.param(r, id=r["name"]) for r in ROWS])
def case(request: pytest.FixtureRequest) -> Any:
    oracle.require_shared()
    row = request.param
    trace, err = oracle.load(oracle.GOLDEN / f"{row['name']}.trace")
    return row, trace, err


def test_outcome_and_events(case: Any) -> None:
    """SUCCESS: no error and the same events; FAILURE: an error after the same events."""
    row, trace, err = case
    name = row["name"]
    outcome, _ = oracle.read_expect(oracle.GOLDEN, name)
    if outcome == "SUCCESS":
        assert err is None, f"Go parses {name}; we raise {type(err).__name__}: {err}"
    else:
        assert err is not None, f"Go fails on {name}; we parse it ({len(trace)} events)"
    assert len(trace) == int(row["events"])
    oracle.assert_same_lines(
        oracle.tsv_chunks(trace), oracle.events_file(oracle.GOLDEN, name), name
    )


@pytest.mark.parametrize("row", [pytest.param(r, id=r["name"]) for r in FAILURES])
def test_failure_message(row: dict[str, str]) -> None:
    """The error message matches the Go regexp of the case's expectation."""
    oracle.require_shared()
    _, pattern = oracle.read_expect(oracle.GOLDEN, row["name"])
    assert pattern is not None
    _, err = oracle.load(oracle.GOLDEN / f"{row['name']}.trace")
    assert err is not None, "expected a TraceError"
    assert oracle.go_regexp_search(pattern, err.message), (
        f"message {err.message!r} does not match Go's expectation {pattern!r}"
    )


@pytest.mark.parametrize("row", [pytest.param(r, id=r["name"]) for r in SUCCESSES])
def test_summary_counts(row: dict[str, str]) -> None:
    """SUCCESS cases: counts by kind equal the oracle summary."""
    oracle.require_shared()
    trace, err = oracle.load(oracle.GOLDEN / f"{row['name']}.trace")
    assert err is None
    summary = oracle.load_summary(oracle.GOLDEN, row["name"])
    assert trace.counts_by_kind() == summary["events_by_kind"]
