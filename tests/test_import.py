"""``import gotrace_fast`` is cheap: no matplotlib, pandas or tqdm, and < 100 ms (numpy
included) in a fresh interpreter.

The time asserted is the importing thread's CPU time: on an idle machine it is the wall
time (the import reads only cached files), but on these shared 2-core machines the wall
time of numpy's import alone varies from 40 to 200 ms with the load of other processes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

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


def test_import_takes_under_100_ms() -> None:
    _import("gotrace_fast")  # warm-up: bytecode and OS file cache
    runs = [_import("gotrace_fast") for _ in range(5)]
    numpy = [_import("numpy") for _ in range(3)]
    cpu = _median(runs, "cpu")
    msg = (
        f"import gotrace_fast: {cpu * 1e3:.0f} ms CPU, {_median(runs, 'wall') * 1e3:.0f} ms wall"
        f" (numpy alone: {_median(numpy, 'cpu') * 1e3:.0f} ms CPU,"
        f" {_median(numpy, 'wall') * 1e3:.0f} ms wall)"
    )
    assert cpu < 0.100, msg
