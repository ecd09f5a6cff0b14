"""Mutator utilization and MMU against the oracle's ``mmu`` / ``mmu_with_sweep`` (Go's
``MutatorUtilizationV2`` -> ``NewMMUCurve`` -> ``MMU`` at 1 ms, 10 ms, 100 ms, 1 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gotrace_fast
import oracle

TOLERANCE = 1e-9
TRACEV1 = oracle.GOLDEN / "tracev1"
WINDOWS = [1_000_000, 10_000_000, 100_000_000, 1_000_000_000]


def _cases() -> list[Any]:
    out = []
    for row in oracle.read_index(oracle.EXPECTED / "INDEX.tsv"):
        if not row["summary"].startswith("json"):
            continue
        marks = [pytest.mark.slow] if int(row["bytes"]) > oracle.SLOW_BYTES else []
        path = oracle.CORPUS / row["file"]
        out.append(pytest.param(path, oracle.EXPECTED, row["name"], id=row["name"], marks=marks))
    for row in oracle.read_index(oracle.GOLDEN / "INDEX.tsv"):
        if row["expect"] == "SUCCESS":
            name = row["name"]
            path = oracle.GOLDEN / f"{name}.trace"
            out.append(pytest.param(path, oracle.GOLDEN, name, id=f"golden-{name}"))
    for row in oracle.read_index(TRACEV1 / "INDEX.tsv"):
        name = row["name"]
        out.append(pytest.param(TRACEV1 / f"{name}.trace", TRACEV1, name, id=f"tracev1-{name}"))
    for row in oracle.read_index(oracle.MALFORMED / "INDEX.tsv"):
        if row["outcome"] == "SUCCESS":  # the inputs Go reads completely: summary stored
            name = row["name"]
            path = oracle.MALFORMED / f"{name}.trace"
            out.append(pytest.param(path, oracle.MALFORMED, name, id=f"malformed-{name}"))
    return out


@pytest.mark.parametrize("sweep", [False, True], ids=["mmu", "mmu_with_sweep"])
@pytest.mark.parametrize(("path", "directory", "name"), _cases())
def test_mmu_matches_go(path: Path, directory: Path, name: str, sweep: bool) -> None:
    oracle.require_shared()
    trace, err = oracle.load(path)
    assert err is None, f"{name}: {err}"
    want = oracle.load_summary(directory, name)["mmu_with_sweep" if sweep else "mmu"]
    assert want["flags"] == ("STW|Background|Assist|Sweep" if sweep else "STW|Background|Assist")

    util = trace.mutator_utilization(sweep=sweep)
    assert len(util) == want["series"]
    assert sum(len(t) for t, _ in util) == want["util_points"]

    got = trace.mmu(WINDOWS, sweep=sweep)
    if not want["windows"]:
        assert np.isnan(got).all()
        return
    assert [w["window_ns"] for w in want["windows"]] == WINDOWS
    for w, g in zip(want["windows"], got, strict=True):
        assert w["mmu"] is not None
        assert abs(g - w["mmu"]) <= TOLERANCE, (
            f"{name}: window {w['window_ns']} ns: ours {g!r}, Go {w['mmu']!r}"
        )


def _first_with_util() -> Path:
    for row in oracle.read_index(oracle.EXPECTED / "INDEX.tsv"):
        if row["name"] == "go1.27.3-gc-small":
            return oracle.CORPUS / row["file"]
    pytest.skip("go1.27.3-gc-small not in the corpus")


def test_mutator_utilization_shape() -> None:
    oracle.require_shared()
    trace = gotrace_fast.parse(_first_with_util())
    (times, utils), *rest = trace.mutator_utilization()
    assert rest == []
    assert times.dtype == np.int64
    assert utils.dtype == np.float64
    assert len(times) == len(utils) >= 2
    assert (np.diff(times) > 0).all()
    assert ((utils >= 0) & (utils <= 1)).all()
    assert times[-1] == trace.end_ns
    assert utils[-1] == 0
    per_proc = trace.mutator_utilization(per_proc=True)
    assert len(per_proc) >= 1
    for _t, u in per_proc:
        assert set(np.unique(u)) <= {0.0, 1.0}


def test_mmu_api() -> None:
    oracle.require_shared()
    trace = gotrace_fast.parse(_first_with_util())
    both = trace.mmu([1_000_000, 1_000_000_000])
    assert both.dtype == np.float64
    assert both.shape == (2,)
    assert trace.mmu(1_000_000_000).tolist() == [both[1]]
    assert trace.mmu(np.array([1_000_000], dtype=np.int64)).tolist() == [both[0]]
    assert trace.mmu([]).shape == (0,)
    assert trace.mmu([0, -5]).tolist() == [0.0, 0.0]
    # A window at least as long as the series gives the series' mean utilization.
    times, utils = trace.mutator_utilization()[0]
    mean = float(np.sum(utils[:-1] * np.diff(times)) / (times[-1] - times[0]))
    assert trace.mmu(10 * trace.duration_ns)[0] == pytest.approx(mean, abs=1e-9)
    with pytest.raises(TypeError):
        trace.mmu([1.5])
    # Counting more GC work never raises utilization.
    assert (trace.mmu(WINDOWS, sweep=True) <= trace.mmu(WINDOWS) + 1e-12).all()
    assert (trace.mmu(WINDOWS, stw=False, background=False, assist=False) == 1).all()


def test_mmu_worst_windows() -> None:
    oracle.require_shared()
    trace = gotrace_fast.parse(_first_with_util())
    for w in WINDOWS:
        worst = trace.mmu_worst_windows(w, 3)
        assert 1 <= len(worst) <= 3
        assert worst[0][1] == trace.mmu(w)[0]
        assert [u for _, u in worst] == sorted(u for _, u in worst)
        assert all(isinstance(t, int) for t, _ in worst)
    assert trace.mmu_worst_windows(0) == []
    assert trace.mmu_worst_windows(1_000_000, 0) == []
    with pytest.raises(ValueError, match="n must be"):
        trace.mmu_worst_windows(1_000_000, -1)
