"""parse(..., max_events=N): LimitError past N events, with exactly the first N kept."""

from __future__ import annotations

from pathlib import Path

import pytest

import gotrace_fast
import oracle
from gotrace_fast import LimitError, TraceError

TRACES = [
    "go1.27.3-testprog-annotations.trace",
    "go1.22.10-mixed-small.trace",
    "gosrc-user_task_region_1_21_good",
]


def _lines(trace: gotrace_fast.Trace) -> list[bytes]:
    return b"".join(trace.iter_events_tsv()).splitlines()


@pytest.mark.parametrize("name", TRACES)
def test_limit_keeps_the_first_events(name: str) -> None:
    oracle.require_shared()
    path = oracle.CORPUS / name
    full = gotrace_fast.parse(path)
    n = len(full)
    expected = _lines(full)
    for max_events in (0, 1, n // 3, n - 1):
        for source in (path, path.read_bytes()):
            with pytest.raises(LimitError) as info:
                gotrace_fast.parse(source, max_events=max_events)
            e = info.value
            assert isinstance(e, TraceError)
            assert isinstance(e, ValueError)
            assert e.kind == "limit"
            assert f"max_events={max_events}" in str(e)
            assert e.offset is not None
            assert (e.generation is None) == (oracle.version_minor(full.version) < 22)
            assert e.partial is not None
            assert len(e.partial) == max_events
            assert _lines(e.partial) == expected[:max_events]
    for max_events in (n, n + 1, 2**64 - 1, 10**30):
        assert len(gotrace_fast.parse(path, max_events=max_events)) == n


def test_limit_argument_checked() -> None:
    data = Path(gotrace_fast.example_path()).read_bytes()
    with pytest.raises(ValueError, match="max_events"):
        gotrace_fast.parse(data, max_events=-1)
    with pytest.raises(TypeError, match="max_events"):
        gotrace_fast.parse(data, max_events=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_events"):
        gotrace_fast.parse(data, max_events=True)
    assert len(gotrace_fast.parse(data, max_events=None)) == len(gotrace_fast.parse(data))
