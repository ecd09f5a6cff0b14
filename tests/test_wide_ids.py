"""IDs past 32 bits: ``tests/data/sched-ids-64.trace`` is ``sched-ids-32.trace`` (a
generated scheduler trace, see ``rust/gotrace-core/tests/wide_ids.rs``) with every
goroutine ID shifted by 2**33, proc ID by 2**31 and thread ID by 2**40. The ID columns
are int64 there and int32 in the original, and every result is the same up to the shift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gotrace_fast as gt
from gotrace_fast import EventKind, ResourceKind

DATA = Path(__file__).parent / "data"
SHIFT = {"g": 1 << 33, "p": 1 << 31, "m": 1 << 40}


@pytest.fixture(scope="module")
def pair() -> tuple[gt.Trace, gt.Trace]:
    return gt.parse(DATA / "sched-ids-32.trace"), gt.parse(DATA / "sched-ids-64.trace")


def shifted(a: np.ndarray, by: int) -> np.ndarray:
    a = a.astype(np.int64)
    return np.where(a == -1, -1, a + by)


def test_columns_widen_and_keep_every_value(pair: tuple[gt.Trace, gt.Trace]) -> None:
    small, big = pair
    a, b = small.events, big.events
    assert len(a) == len(b) > 100
    for col in ("g", "p", "m", "arg"):
        assert getattr(a, col).dtype == np.int32, col
        assert getattr(b, col).dtype == np.int64, col
    for col in ("time", "kind", "stack", "res_kind", "from_state", "to_state", "name", "aux"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col), err_msg=col)
    for col, by in SHIFT.items():
        np.testing.assert_array_equal(getattr(b, col), shifted(getattr(a, col), by), col)
    transition = a.kind == EventKind.StateTransition
    arg = a.arg.astype(np.int64)
    want = np.where(transition & (a.res_kind == ResourceKind.Goroutine), arg + SHIFT["g"], arg)
    want = np.where(transition & (a.res_kind == ResourceKind.Proc), want + SHIFT["p"], want)
    np.testing.assert_array_equal(b.arg, want)
    # The uint64 view sign-extends the narrow column: "no task" (-1) is 2**64 - 1 in both.
    np.testing.assert_array_equal(a.arg_u64, a.arg.astype(np.int64).view(np.uint64))
    assert a.arg_u64.dtype == b.arg_u64.dtype == np.uint64
    np.testing.assert_array_equal(big.goroutine_ids(), small.goroutine_ids() + SHIFT["g"])
    np.testing.assert_array_equal(big.proc_ids(), small.proc_ids() + SHIFT["p"])
    np.testing.assert_array_equal(big.thread_ids(), small.thread_ids() + SHIFT["m"])
    assert big.events.event(5)["goroutine"] in (-1, small.events.event(5)["goroutine"] + SHIFT["g"])


def test_analyses_are_the_same_up_to_the_shift(pair: tuple[gt.Trace, gt.Trace]) -> None:
    small, big = pair
    gs, gb = small.goroutines, big.goroutines
    assert len(gs) == len(gb) > 1
    np.testing.assert_array_equal(gb.id, gs.id + SHIFT["g"])
    for col in ("exec_ns", "sched_wait_ns", "syscall_ns", "total_ns", "start_time_ns"):
        np.testing.assert_array_equal(gs[col], gb[col], err_msg=col)
    assert gs.exec_ns.sum() > 0
    for by, key in (("goroutine", "g"), ("proc", "p"), ("thread", "m")):
        hs, hb = small.heatmap(bins=37, by=by), big.heatmap(bins=37, by=by)
        np.testing.assert_array_equal(hs.values, hb.values, err_msg=by)
        assert hs.values.sum() > 0, by
        np.testing.assert_array_equal(np.asarray(hb.row_ids), np.asarray(hs.row_ids) + SHIFT[key])
    # The streaming path reads the same columns in chunks.
    hs = gt.heatmap(DATA / "sched-ids-32.trace", bins=37)
    hb = gt.heatmap(DATA / "sched-ids-64.trace", bins=37)
    np.testing.assert_array_equal(hs.values, hb.values)
    np.testing.assert_array_equal(np.asarray(hb.row_ids), np.asarray(hs.row_ids) + SHIFT["g"])


def test_events_dump_names_the_wide_ids(pair: tuple[gt.Trace, gt.Trace]) -> None:
    small, big = pair
    a = small.events_tsv().decode().splitlines()
    b = big.events_tsv().decode().splitlines()
    assert len(a) == len(b)
    g = next(int(x) for x in big.events.g if x != -1)
    assert g > 2**33
    assert any(f"\t{g}\t" in line for line in b)


def test_interval_id_columns_widen_and_keep_every_value(pair: tuple[gt.Trace, gt.Trace]) -> None:
    small, big = pair
    shift = {"goroutine": SHIFT["g"], "proc": SHIFT["p"], "thread": SHIFT["m"]}
    for res, own in shift.items():
        a, b = small.intervals(res), big.intervals(res)
        assert len(a) == len(b) > 0, res
        for col in ("start", "end", "state", "reason", "stack", "unblocker_stack", "open"):
            np.testing.assert_array_equal(a[col], b[col], err_msg=f"{res} {col}")
        np.testing.assert_array_equal(b.id, a.id.astype(np.int64) + own, err_msg=res)
        for col in ("g", "p", "m"):
            np.testing.assert_array_equal(
                b[col], shifted(a[col], SHIFT[col]), err_msg=f"{res} {col}"
            )
        np.testing.assert_array_equal(b.unblocker, shifted(a.unblocker, SHIFT["g"]), err_msg=res)
        # Narrow while the values fit, wide once one does not (each table's columns
        # widen on their own: a proc table's `id` only holds procs).
        for col in ("id", "g", "p", "m", "unblocker"):
            assert a[col].dtype == np.int32, f"{res} {col}"
            want = np.int64 if (b[col] > np.iinfo(np.int32).max).any() else np.int32
            assert b[col].dtype == want, f"{res} {col}"
        assert b.id.dtype == np.int64, res
    # The kernels that read interval IDs take both widths.
    assert small.sched_latency().count == big.sched_latency().count > 0
    fa, fb = small.fairness(bins=9), big.fairness(bins=9)
    np.testing.assert_array_equal(fa.entropy, fb.entropy)
