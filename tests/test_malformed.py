"""(c) Truncated, corrupted, header-only and non-trace inputs: same outcome as Go, same events
before the error. Matching Go's message is optional here (see the oracle README)."""

from __future__ import annotations

from typing import Any

import pytest

import oracle
from gotrace_fast import UnsupportedVersionError

ROWS = oracle.read_index(oracle.MALFORMED / "INDEX.tsv")


def _minor(row: dict[str, str]) -> int | None:
    return oracle.header_minor(oracle.MALFORMED / f"{row['name']}.trace")


def _is_v1(row: dict[str, str]) -> bool:
    minor = _minor(row)
    return minor is not None and minor < 22


def _param(row: dict[str, str]) -> Any:
    marks = []
    if _is_v1(row) and row["expect"] == "SUCCESS":
        marks.append(pytest.mark.xfail(raises=UnsupportedVersionError, reason="v1 traces: issue 3"))
    return pytest.param(row, id=row["name"], marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
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


@pytest.mark.parametrize("row", [pytest.param(r, id=r["name"]) for r in ROWS if _is_v1(r)])
def test_v1_header_is_unsupported_for_now(row: dict[str, str]) -> None:
    """Until v1 support lands (issue 3), every v1 header raises UnsupportedVersionError."""
    oracle.require_shared()
    _, err = oracle.load(oracle.MALFORMED / f"{row['name']}.trace")
    assert isinstance(err, UnsupportedVersionError)
    assert len(err.partial) == 0
