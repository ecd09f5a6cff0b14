"""``parse(source, progress=...)``, how a path is read (memory map, or a stream for pipes
and empty files), and Ctrl-C during the parse of a v1 trace (read whole, no generations)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import gotrace_fast as gt
import oracle

needs_fifo = pytest.mark.skipif(
    not hasattr(os, "mkfifo") or sys.platform == "win32", reason="needs a named pipe"
)

V2_MEDIUM = "go1.27.3-mixed-medium.trace"
V1_MEDIUM = "go1.21.13-mixed-medium.trace"


def _corpus(name: str) -> Path:
    oracle.require_shared()
    return oracle.CORPUS / name


def _feed_fifo(tmp_path: Path, data: bytes) -> tuple[Path, threading.Thread]:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer)
    t.start()
    return fifo, t


@pytest.mark.parametrize("name", [V2_MEDIUM, V1_MEDIUM, "go1.22.10-mixed-medium.trace"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_progress_calls(name: str, as_bytes: bool) -> None:
    path = _corpus(name)
    size = path.stat().st_size
    calls: list[tuple[int, int | None]] = []
    gt.parse(path.read_bytes() if as_bytes else path, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (size, size)
    # The first call is made at the first check (after a generation, or 64K v1 events).
    assert len(calls) >= 2
    assert calls[0][0] < size
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert all(t == size for _, t in calls)


@needs_fifo
def test_progress_of_a_pipe_has_no_total(tmp_path: Path) -> None:
    data = _corpus(V2_MEDIUM).read_bytes()
    fifo, writer = _feed_fifo(tmp_path, data)
    calls: list[tuple[int, int | None]] = []
    try:
        trace = gt.parse(fifo, progress=lambda d, t: calls.append((d, t)))
    finally:
        writer.join(timeout=30)
    assert len(trace) == len(gt.parse(data))
    assert all(t is None for _, t in calls[:-1])
    assert calls[-1] == (len(data), len(data))


class Stop(Exception):
    pass


@pytest.mark.parametrize("name", [V2_MEDIUM, V1_MEDIUM])
def test_progress_exception_stops_the_parse(name: str) -> None:
    path = _corpus(name)
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        raise Stop(done)

    with pytest.raises(Stop):
        gt.parse(path, progress=progress)
    assert len(seen) == 1
    assert seen[0] < path.stat().st_size  # raised at the first call, before the end


def test_sigint_stops_a_v1_parse_midway() -> None:
    """v1 traces have no generations: signals are checked every 64K events instead.

    The signal is sent from another thread once the first progress call has returned, so
    that the parse (not the callback) notices it; the medium trace leaves it ~100 ms.
    """
    path = _corpus(V1_MEDIUM)
    size = path.stat().st_size
    calls: list[int] = []
    main = threading.main_thread().ident
    assert main is not None
    returned = threading.Event()

    def kill() -> None:
        returned.wait(10)
        time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGINT)

    def progress(done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) == 1:
            threading.Thread(target=kill).start()
        returned.set()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            gt.parse(path, progress=progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls
    assert calls[-1] < size, "the parse ran to its end before seeing the signal"


def test_empty_file_is_read_as_a_stream(tmp_path: Path) -> None:
    empty = tmp_path / "empty.trace"
    empty.write_bytes(b"")
    with pytest.raises(gt.TraceFormatError) as by_path:
        gt.parse(empty)
    with pytest.raises(gt.TraceFormatError) as by_bytes:
        gt.parse(b"")
    assert str(by_path.value) == str(by_bytes.value)


@needs_fifo
@pytest.mark.parametrize("name", [V2_MEDIUM, V1_MEDIUM])
def test_pipe_and_mapped_file_agree(tmp_path: Path, name: str) -> None:
    path = _corpus(name)
    fifo, writer = _feed_fifo(tmp_path, path.read_bytes())
    try:
        streamed = gt.parse(fifo)
    finally:
        writer.join(timeout=30)
    mapped = gt.parse(path)
    assert len(streamed) == len(mapped) > 0
    for col, values in mapped.events.columns.items():
        np.testing.assert_array_equal(values, streamed.events.columns[col], err_msg=col)
