"""Ctrl-C stops a parse in progress: the parse runs with the GIL released and checks for
signals once per generation, so KeyboardInterrupt surfaces instead of the trace."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

import gotrace_fast as gt
import oracle
from gotrace_fast._stream import write_events_tsv

pytestmark = pytest.mark.skipif(
    not hasattr(os, "mkfifo") or sys.platform == "win32", reason="needs a named pipe"
)


def _uvarint(data: bytes, i: int) -> tuple[int, int]:
    x = s = 0
    while True:
        b = data[i]
        i += 1
        x |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return x, i


def _end_of_first_generation(data: bytes) -> int:
    """Offset of the first EndOfGeneration byte of a Go >= 1.26 trace."""
    i = 16
    while True:
        typ = data[i]
        if typ == 52:  # EvEndOfGeneration
            return i
        i += 2 if typ == 49 else 1  # EvExperimentalBatch has an experiment byte
        for _ in range(3):  # gen, M, timestamp
            _, i = _uvarint(data, i)
        size, i = _uvarint(data, i)
        i += size


READS = {
    "parse": gt.parse,
    "summary": gt.summary,
    "events": lambda path: write_events_tsv(path, lambda chunk: None),
}


@pytest.mark.parametrize("read", list(READS))
def test_sigint_during_parse_raises_keyboard_interrupt(tmp_path: Path, read: str) -> None:
    """The parse, and the streaming summary and events dump (no event table)."""
    oracle.require_shared()
    # A Go 1.27 trace with hundreds of generations (GODEBUG=traceadvanceperiod=0).
    data = (oracle.CORPUS / "go1.27.3-testprog-stress-advance0.trace").read_bytes()
    cut = _end_of_first_generation(data)
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    got_signal = threading.Event()
    stopped_reading = threading.Event()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def writer() -> None:
        # Everything up to the end of generation 1 but its closing byte: the parser is
        # blocked inside generation 1 when the signal arrives, then gets the rest, emits
        # generation 1's events and sees the signal at the next generation boundary.
        with open(fifo, "wb") as f:
            f.write(data[:cut])
            f.flush()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            got_signal.set()
            try:
                f.write(data[cut:])
                f.flush()
            except BrokenPipeError:
                stopped_reading.set()  # the parser gave up midway: the point of the test

    t = threading.Thread(target=writer)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            READS[read](fifo)
    finally:
        signal.signal(signal.SIGINT, previous)
        t.join(timeout=30)
    assert got_signal.is_set()
    # Had the parse run to the end and the signal only been handled after it returned,
    # the writer would have delivered the whole file.
    assert stopped_reading.is_set(), "the parse was not interrupted midway"
