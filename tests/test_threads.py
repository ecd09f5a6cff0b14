"""``parse(..., threads=N)``: helper threads never change the result. Every trace of the
shared corpus (and every golden and malformed case, which end in errors) parsed with one
thread and with two gives the same columns, tables and error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gotrace_fast
import oracle
from gotrace_fast import Trace, TraceError


def _files(directory: Path, pattern: str) -> list[Path]:
    return sorted(directory.glob(pattern)) if directory.is_dir() else []


CORPUS = _files(oracle.CORPUS, "*.trace")
BROKEN = _files(oracle.GOLDEN, "**/*.trace")


def _parse(source: Path | bytes, threads: int) -> tuple[Trace, TraceError | None]:
    try:
        return gotrace_fast.parse(source, threads=threads), None
    except TraceError as e:
        if e.partial is None:
            pytest.fail(f"TraceError without .partial: {e}")
        return e.partial, e


def _state(t: Trace, err: TraceError | None) -> dict[str, object]:
    return {
        "error": None if err is None else (type(err), err.message, err.offset, err.generation),
        "version": t.version,
        "generations": t.generations,
        "strings": [t.string_bytes(i) for i in range(len(t.strings))],
        "stacks": [t.stack(i) for i in range(t.num_stacks)],
        "range_attrs": t.range_attrs.tolist(),
        "u64s": t.u64s.tolist(),
        "clock_snapshots": {k: v.tolist() for k, v in t.clock_snapshots.items()},
        "experimental": [a.tolist() for a in t.experimental],
    }


def _assert_same(source: Path | bytes, label: str) -> None:
    one, err1 = _parse(source, 1)
    two, err2 = _parse(source, 2)
    assert len(one) == len(two), label
    for name, col in one.events.columns.items():
        assert np.array_equal(col, two.events.columns[name]), f"{label}: column {name}"
    assert _state(one, err1) == _state(two, err2), label


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p, id=p.name, marks=[pytest.mark.slow] * (p.stat().st_size > oracle.SLOW_BYTES)
        )
        for p in CORPUS
    ],
)
def test_corpus_same_with_two_threads(path: Path) -> None:
    oracle.require_shared()
    _assert_same(path, path.name)  # streamed from the file
    _assert_same(path.read_bytes(), path.name)  # in memory


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(oracle.GOLDEN))) for p in BROKEN]
)
def test_golden_same_with_two_threads(path: Path) -> None:
    oracle.require_shared()
    _assert_same(path.read_bytes(), path.name)


def test_corpus_found() -> None:
    oracle.require_shared()
    assert len(CORPUS) > 20
    assert len(BROKEN) > 20


def test_threads_argument_checked() -> None:
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="threads"):
            gotrace_fast.parse(b"", threads=bad)  # type: ignore[arg-type]
