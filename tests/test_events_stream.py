"""``gotrace-fast events`` streams (``gotrace_fast._stream.write_events_tsv``: no event
table): its bytes equal the whole parse's ``events_tsv()`` (checked against the oracle by
``test_corpus``/``test_golden``/``test_malformed``), for every corpus, golden and
malformed trace, with one and two threads, including the events before an error and the
error itself."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import gotrace_fast as gt
import oracle
from gotrace_fast import TraceError
from gotrace_fast._stream import write_events_tsv


def _files() -> list[Any]:
    if not oracle.HAVE_SHARED:
        return [pytest.param(None, id="no-shared")]
    paths = sorted(oracle.CORPUS.glob("*.trace"))
    for d in (oracle.GOLDEN, oracle.GOLDEN / "tracev1", oracle.MALFORMED):
        paths += sorted(d.glob("*.trace"))
    return [
        pytest.param(
            p,
            id=f"{p.parent.name}/{p.name}",
            marks=[pytest.mark.slow] if p.stat().st_size > oracle.SLOW_BYTES else [],
        )
        for p in paths
    ]


def _streamed(path: Path, threads: int | None) -> tuple[bytes, TraceError | None]:
    out: list[bytes] = []
    try:
        write_events_tsv(path, out.append, threads=threads)
    except TraceError as e:
        return b"".join(out), e
    return b"".join(out), None


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("path", _files())
def test_streamed_events_equal_the_parse(path: Path | None, threads: int) -> None:
    oracle.require_shared()
    assert path is not None
    try:
        trace, err = gt.parse(path), None
    except TraceError as e:
        trace, err = e.partial, e
    got, got_err = _streamed(path, threads)
    want = trace.events_tsv() if trace is not None else b""
    if got != want:
        oracle.assert_same_lines([got], io.BytesIO(want), path.name)
    assert got == want
    assert (got_err is None) == (err is None)
    if err is not None and got_err is not None:
        assert got_err.message == err.message
        assert type(got_err) is type(err)


@pytest.mark.parametrize("threads", [1, 2])
def test_write_error_stops_the_parse(threads: int) -> None:
    calls = []

    def write(b: bytes) -> None:
        calls.append(len(b))
        raise BrokenPipeError("reader gone")

    with pytest.raises(BrokenPipeError, match="reader gone"):
        write_events_tsv(gt.example_path(), write, threads=threads)
    assert len(calls) == 1
    assert calls[0] > 0
