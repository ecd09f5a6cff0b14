"""Parses, heatmaps and goroutine summaries from 4 threads at once equal the serial ones,
and the interpreter stays free while the extension works (the GIL is released)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import sysconfig
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gotrace_fast
import oracle
from gotrace_fast import _gotrace_fast as native

TRACES = [
    "go1.27.3-mixed-small.trace",
    "go1.22.10-mixed-small.trace",
    "go1.25.5-mixed-small.trace",
    "go1.21.13-mixed-small.trace",
    "gosrc-stress_1_21_good",
]


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _work(path: Path) -> dict[str, Any]:
    """Everything one thread computes from one trace, reduced to comparable values."""
    t = gotrace_fast.parse(path)
    ev = t.events
    h = t.heatmap(100)
    hs = t.heatmap(50, by="state")
    g = t.goroutines
    return {
        "events": _digest(ev.time, ev.kind, ev.g, ev.p, ev.m, ev.arg, ev.name, ev.stack),
        "counts": t.counts_by_kind(),
        "heatmap": _digest(h.values, h.edges, np.asarray(h.row_ids)),
        "heatmap_state": _digest(hs.values),
        "goroutines": _digest(*(np.asarray(g[c]) for c in ("id", "exec_ns", "sched_wait_ns"))),
        "summaries": len(t.goroutine_summaries()),
    }


@pytest.fixture(scope="module")
def paths() -> list[Path]:
    oracle.require_shared()
    return [oracle.CORPUS / n for n in TRACES]


def test_four_threads_give_the_serial_results(paths: list[Path]) -> None:
    serial = {p: _work(p) for p in paths}
    jobs = paths * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_work, jobs))
    for p, r in zip(jobs, results, strict=True):
        assert r == serial[p], p.name


def test_one_trace_shared_by_four_threads(paths: list[Path]) -> None:
    """The lazily computed parts (analysis, heatmaps) of one Trace object, from 4 threads."""

    def both(t: gotrace_fast.Trace) -> tuple[str, str]:
        h = t.heatmap(100)
        g = t.goroutines
        return _digest(h.values, h.edges), _digest(g["id"], g["exec_ns"], g["sched_wait_ns"])

    want = both(gotrace_fast.parse(paths[0]))
    shared = gotrace_fast.parse(paths[0])
    barrier = threading.Barrier(4)

    def go(_: int) -> tuple[str, str]:
        barrier.wait()
        return both(shared)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(go, range(4))) == [want] * 4


def test_interpreter_runs_while_the_extension_works(paths: list[Path]) -> None:
    """A pure-Python counter thread keeps counting during native parses and analyses.

    Each worker reads the counter right before and right after one native call: if the
    call held the GIL, the counter thread could not run in between and the difference
    would be 0.
    """
    big = max(paths, key=lambda p: p.stat().st_size)
    stop = threading.Event()
    count = [0]

    def counter() -> None:
        while not stop.is_set():
            count[0] += 1

    deltas: list[int] = []
    lock = threading.Lock()

    def worker(_: int) -> None:
        for _ in range(3):
            before = count[0]
            raw = native.parse_path(str(big))
            middle = count[0]
            raw.analysis()
            after = count[0]
            with lock:
                deltas.extend([middle - before, after - middle])

    c = threading.Thread(target=counter)
    c.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(worker, range(4)))
    finally:
        stop.set()
        c.join()
    assert len(deltas) == 24
    assert sum(d > 0 for d in deltas) >= 20, f"counter did not move during native calls: {deltas}"


FREE_THREADED_CHECK = (
    "import sys, sysconfig, gotrace_fast; "
    "assert sysconfig.get_config_var('Py_GIL_DISABLED'); "
    "t = gotrace_fast.parse(gotrace_fast.example_path()); "
    "assert len(t) > 0 and len(t.heatmap(10).values); "
    "print(sys._is_gil_enabled())"
)


def _free_threaded_pythons() -> list[str]:
    """This interpreter if it is free-threaded, else any python3.14t/3.15t on PATH that can
    import gotrace_fast (pyo3 builds free-threaded modules for 3.14+ only)."""
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return [sys.executable]
    found = []
    for name in ("python3.15t", "python3.14t"):
        exe = shutil.which(name)
        if (
            exe
            and subprocess.run([exe, "-c", "import gotrace_fast"], capture_output=True).returncode
            == 0
        ):
            found.append(exe)
    return found


def test_module_declares_free_threading_support() -> None:
    """The extension is built with ``gil_used = false``: under a free-threaded interpreter,
    importing and using it must not turn the GIL back on."""
    pythons = _free_threaded_pythons()
    if not pythons:
        pytest.skip(
            "no free-threaded CPython 3.14t with gotrace_fast installed here: no Debian suite "
            "packages one, PyPI ships no interpreters, and pyo3 0.30 does not build for 3.13t "
            "(tests/free_threaded.md says what was tried)"
        )
    for exe in pythons:
        out = subprocess.run(
            [exe, "-X", "gil=0", "-c", FREE_THREADED_CHECK], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "False", f"{exe}: the GIL was re-enabled: {out.stderr}"
