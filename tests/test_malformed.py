"""(c) Truncated, corrupted, header-only and non-trace inputs: same outcome as Go, same events
before the error. Matching Go's message is optional here (see the oracle README)."""

from __future__ import annotations

import pytest

import oracle

ROWS = oracle.read_index(oracle.MALFORMED / "INDEX.tsv")


@pytest.mark.parametrize("row", [pytest.param(r, id=r["name"]) for r in ROWS])
def test_same_outcome_and_events_as_go(row: dict[str, str]) -> None:
    oracle.require_shared()
    name = row["name"]
    outcome, _ = oracle.read_expect(oracle.MALFORMED, name)
    trace, err = oracle.load(oracle.MALFORMED / f"{name}.trace")
    if outcome == "SUCCESS":
        if err is not None:
            raise err
    else:
        assert err is not None, f"Go fails on {name}; we parse it ({len(trace)} events)"
    assert len(trace) == int(row["events"])
    oracle.assert_same_lines(
        oracle.tsv_chunks(trace), oracle.events_file(oracle.MALFORMED, name), name
    )


def test_every_malformed_trace_has_a_case() -> None:
    """Every trace in golden/malformed is one of the cases above (none is left out)."""
    oracle.require_shared()
    files = {p.stem for p in oracle.MALFORMED.glob("*.trace")}
    assert files
    assert files == {r["name"] for r in ROWS}
