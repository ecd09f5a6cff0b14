"""Scheduling metrics (sched_latency, block_durations, fairness) against the oracle's
summaries and plain numpy references, for every corpus trace and golden SUCCESS case."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gotrace_fast
import oracle
from gotrace_fast import DurationStats, GoState, ProcState, Trace
from test_summary import CASES, V1_JITTER_NS

Case = tuple[str, Trace, dict[str, Any]]


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest) -> Case:
    oracle.require_shared()
    path, directory, name = request.param
    trace, err = oracle.load(Path(path))
    assert err is None, f"{name}: {err}"
    return name, trace, oracle.load_summary(directory, name)


def _tol(name: str) -> int:
    return V1_JITTER_NS if oracle.is_nondeterministic_v1(name) else 0


# -- numpy references ------------------------------------------------------------------------


def _sched_waits(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """(goroutine id, duration) of every Runnable interval directly followed by a Running
    interval of the same goroutine; computed from the interval table alone."""
    iv = trace.intervals("goroutine")
    o = np.argsort(iv.id, kind="stable")  # each goroutine's intervals stay in time order
    gid, st, en, s = iv.id[o], iv.start[o], iv.end[o], iv.state[o]
    nxt = np.zeros(len(o), dtype=bool)
    nxt[:-1] = (
        (gid[1:] == gid[:-1])
        & (s[:-1] == GoState.Runnable)
        & (s[1:] == GoState.Running)
        & (st[1:] == en[:-1])
    )
    return gid[nxt], (en - st)[nxt]


def _check_stats(got: DurationStats, durs: np.ndarray) -> None:
    assert got.count == len(durs)
    assert got.sum_ns == int(durs.sum())
    if len(durs) == 0:
        assert np.isnan(got.mean_ns)
        assert len(got.counts) == 0
        return
    assert got.mean_ns == pytest.approx(durs.sum() / len(durs), rel=1e-12)
    assert got.min_ns == durs.min()
    assert got.max_ns == durs.max()
    for q, v in ((50, got.p50_ns), (90, got.p90_ns), (99, got.p99_ns)):
        assert v == np.percentile(durs, q, method="inverted_cdf"), q
    e = got.edges
    assert e[0] == 0
    assert e[1] == 1
    assert np.all(e[2:] == 2 * e[1:-1])
    assert e[-1] > durs.max()
    assert len(e) == 2 or e[-2] <= durs.max()
    counts, _ = np.histogram(durs, bins=e)
    np.testing.assert_array_equal(got.counts, counts)


def _overlap(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Overlap (ns) of each interval with each bin: (intervals, bins)."""
    lo = np.maximum(starts[:, None], edges[None, :-1])
    hi = np.minimum(ends[:, None], edges[None, 1:])
    return np.clip(hi - lo, 0, None)


# -- sched_latency ------------------------------------------------------------------------------


def test_sched_latency_matches_intervals(case: Case) -> None:
    _, trace, _ = case
    _, durs = _sched_waits(trace)
    _check_stats(trace.sched_latency(), durs)


def test_sched_latency_is_runnable_time_of_the_oracle(case: Case) -> None:
    """Per goroutine: the waits add up to the oracle's runnable_ns minus the Runnable
    intervals still open at the end (every closed Runnable interval ends in Running)."""
    name, trace, want = case
    iv = trace.intervals("goroutine")
    still = (iv.state == GoState.Runnable) & iv.open
    open_ns: dict[int, int] = defaultdict(int)
    for g, d in zip(iv.id[still].tolist(), (iv.end - iv.start)[still].tolist(), strict=True):
        open_ns[g] += d
    per_g = trace.sched_latency(by="goroutine")
    tol = _tol(name)
    for g in want["goroutine_states"]:
        i = g["id"]
        got = per_g[i].sum_ns if i in per_g else 0
        assert abs(got - (g["runnable_ns"] - open_ns.get(i, 0))) <= tol, f"{name}: goroutine {i}"
    assert set(per_g) <= {g["id"] for g in want["goroutine_states"]}


def test_sched_latency_by_function(case: Case) -> None:
    _, trace, want = case
    gid, durs = _sched_waits(trace)
    names = {g["id"]: g["name"] for g in want["goroutines"]}
    by: dict[str, list[int]] = defaultdict(list)
    for g, d in zip(gid.tolist(), durs.tolist(), strict=True):
        by[names.get(g, "")].append(d)
    got = trace.sched_latency(by="function")
    assert set(got) == set(by)
    for fn, ds in by.items():
        _check_stats(got[fn], np.array(ds, dtype=np.int64))


# -- block_durations ----------------------------------------------------------------------------


def test_block_durations_are_waiting_time_of_the_oracle(case: Case) -> None:
    """Per reason: the closed Waiting intervals add up to the oracle's waiting_ns_by_reason
    summed over goroutines minus the Waiting intervals still open at the end."""
    name, trace, want = case
    iv = trace.intervals("goroutine")
    waiting = iv.state == GoState.Waiting
    want_ns: dict[str, int] = defaultdict(int)
    for g in want["goroutine_states"]:
        for r, ns in g["waiting_ns_by_reason"].items():
            want_ns[r] += ns
    still = waiting & iv.open
    for r, d in zip(iv.reason[still].tolist(), (iv.end - iv.start)[still].tolist(), strict=True):
        want_ns[trace.string(r)] -= d
    got = trace.block_durations(by="reason")
    tol = _tol(name) * len(want["goroutine_states"])
    for r, ns in want_ns.items():
        assert abs((got[r].sum_ns if r in got else 0) - ns) <= tol, f"{name}: {r!r}"
    assert set(got) <= set(want_ns)
    closed = waiting & ~iv.open
    total = trace.block_durations()
    _check_stats(total, (iv.end - iv.start)[closed])
    for r, st in got.items():
        sel = closed & np.isin(iv.reason, [i for i in np.unique(iv.reason) if trace.string(i) == r])
        _check_stats(st, (iv.end - iv.start)[sel])
        assert trace.block_durations(r) == st


# -- fairness -----------------------------------------------------------------------------------


def test_fairness_against_oracle_heatmap_and_numpy(case: Case) -> None:
    name, trace, want = case
    h = want["heatmap"]
    f = trace.fairness(bins=h["bins"])
    tol = _tol(name)  # v1 event times may differ by a few ns: compare within tol per bin
    for got, key in (
        (f.edges, "edges_ns"),
        (f.exec_ns, "goroutine_running_ns"),
        (f.proc_busy_ns, "proc_running_ns"),
    ):
        np.testing.assert_allclose(got, h[key], rtol=0, atol=tol, err_msg=f"{name}: {key}")
    _check_fairness(trace, f)


def _check_fairness(trace: Trace, f: gotrace_fast.Fairness) -> None:
    g, p = trace.intervals("goroutine"), trace.intervals("proc")
    _check_fairness_cols(f, (g.id, g.start, g.end, g.state), (p.id, p.start, p.end, p.state))


def _check_fairness_cols(f: Any, g: tuple[np.ndarray, ...], p: tuple[np.ndarray, ...]) -> None:
    """``f`` against a dense numpy reference from goroutine and proc interval columns
    ``(id, start, end, state)``."""
    edges = f.edges
    g_id, g_start, g_end, g_state = g
    run = g_state == GoState.Running
    ids, inv = np.unique(g_id[run], return_inverse=True)
    x = np.zeros((len(ids), len(edges) - 1), dtype=np.int64)
    np.add.at(x, inv, _overlap(g_start[run], g_end[run], edges))
    np.testing.assert_array_equal(f.exec_ns, x.sum(axis=0))
    np.testing.assert_array_equal(f.goroutines, (x > 0).sum(axis=0))
    for b in range(len(edges) - 1):
        xs = np.sort(x[x[:, b] > 0, b]).astype(np.float64)
        n = len(xs)
        if n == 0:
            assert np.isnan(f.entropy[b])
            assert np.isnan(f.gini[b])
            continue
        assert 0.0 <= f.entropy[b] <= 1.0
        assert 0.0 <= f.gini[b] <= 1.0
        if n == 1:
            assert (f.entropy[b], f.gini[b]) == (1.0, 0.0)
            continue
        s = xs / xs.sum()
        assert f.entropy[b] == pytest.approx(-(s * np.log(s)).sum() / np.log(n), abs=1e-9)
        gini = np.abs(xs[:, None] - xs[None, :]).sum() / (2 * n * n * xs.mean())
        assert f.gini[b] == pytest.approx(gini, abs=1e-9)
    p_id, p_start, p_end, p_state = p
    live = (p_state == ProcState.Running) | (p_state == ProcState.Idle)
    pids, pinv = np.unique(p_id[live], return_inverse=True)
    ov = _overlap(p_start[live], p_end[live], edges)
    busy = np.zeros((len(pids), len(edges) - 1), dtype=np.int64)
    exists = np.zeros_like(busy)
    np.add.at(busy, pinv, np.where((p_state[live] == ProcState.Running)[:, None], ov, 0))
    np.add.at(exists, pinv, ov)
    np.testing.assert_array_equal(f.proc_busy_ns, busy.sum(axis=0))
    np.testing.assert_array_equal(f.procs, (exists > 0).sum(axis=0))
    for b in range(len(edges) - 1):
        y = busy[exists[:, b] > 0, b].astype(np.float64)
        if len(y) == 0 or y.mean() == 0:
            assert np.isnan(f.proc_busy_cv[b])
            continue
        assert f.proc_busy_var[b] == pytest.approx(y.var(), rel=1e-9, abs=1e-6)
        assert f.proc_busy_cv[b] == pytest.approx(y.std() / y.mean(), rel=1e-9, abs=1e-12)


# -- random inputs against numpy ---------------------------------------------------------------


def _random_intervals(rng: np.random.Generator, n: int, ids: int, states: list[int]) -> tuple:
    start = rng.integers(-50, 1000, n)
    end = start + rng.integers(0, 300, n)
    return (
        rng.integers(0, ids, n).astype(np.int64),
        start.astype(np.int64),
        end.astype(np.int64),
        rng.choice(states, n).astype(np.uint8),
    )


@pytest.mark.parametrize("seed", range(40))
def test_fairness_random_intervals(seed: int) -> None:
    """Overlapping, zero-length and out-of-range intervals, random (also repeated) edges."""
    rng = np.random.default_rng(seed)
    g = _random_intervals(rng, int(rng.integers(0, 60)), 8, [2, 3, 3, 4, 5])
    p = _random_intervals(rng, int(rng.integers(0, 30)), 4, [0, 2, 3])
    if seed % 2:
        edges = np.sort(rng.integers(0, 1000, int(rng.integers(2, 30)))).astype(np.int64)
    else:
        edges = gotrace_fast._gotrace_fast.uniform_edges(0, int(rng.integers(1, 60)), 40)
    f = gotrace_fast.Fairness(**gotrace_fast._gotrace_fast.fairness(*g, *p, edges))
    _check_fairness_cols(f, g, p)


@pytest.mark.parametrize("seed", range(40))
def test_duration_stats_random(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.choice([0, 1, 2, 3, 7, 100, 1001]))
    durs = (rng.lognormal(5, 3, n) * rng.integers(0, 2, n)).astype(np.int64)
    got = gotrace_fast.DurationStats._from(gotrace_fast._gotrace_fast.duration_stats(durs))
    _check_stats(got, durs)


# -- API on the example trace -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> Trace:
    return gotrace_fast.parse(gotrace_fast.example_path())


def test_fairness_non_uniform_edges(example: Trace) -> None:
    t0, t1 = example.start_ns, example.end_ns
    assert t0 is not None
    assert t1 is not None
    edges = np.unique(np.r_[t0, t0 + (t1 - t0) // 7, np.linspace(t0, t1, 5).astype(np.int64)])
    f = example.fairness(edges)
    _check_fairness(example, f)
    assert f.exec_ns.sum() == example.fairness(1).exec_ns.sum()
    w = example.fairness(10, start=t0 + 1000, end=t0 + 10_000_000)
    assert w.edges[0] == t0 + 1000
    assert w.edges[-1] == t0 + 10_000_000
    _check_fairness(example, w)


def test_bad_arguments(example: Trace) -> None:
    with pytest.raises(ValueError, match="by must be"):
        example.sched_latency(by="proc")
    with pytest.raises(ValueError, match="by must be"):
        example.block_durations(by="goroutine")
    for bins in (0, [5], [3, 2], np.array([1.0, 2.0])):
        with pytest.raises(ValueError, match="bin"):
            example.fairness(bins)
    with pytest.raises(ValueError, match="must be after"):
        example.fairness(10, start=5, end=5)
    assert example.block_durations("no such reason").count == 0
