"""``import gotrace_fast`` is cheap: no matplotlib, pandas or tqdm, and < 100 ms (numpy
included) in a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

HEAVY = ("matplotlib", "pandas", "tqdm", "xarray")

_PROBE = """
import json, sys, time
t = time.perf_counter()
import {module}
dt = time.perf_counter() - t
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"seconds": dt, "heavy": heavy}}))
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


def test_import_takes_under_100_ms() -> None:
    _import("gotrace_fast")  # warm-up: bytecode and OS file cache
    runs = [_import("gotrace_fast") for _ in range(5)]
    median = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
    numpy = statistics.median(
        float(_import("numpy")["seconds"])  # type: ignore[arg-type]
        for _ in range(3)
    )
    msg = f"import gotrace_fast: {median * 1e3:.0f} ms (numpy alone: {numpy * 1e3:.0f} ms)"
    assert median < 0.100, msg
