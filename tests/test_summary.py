"""Interval analysis and Go's goroutine summary against the oracle's summaries, for every
corpus trace (v1 and v2) and every golden SUCCESS case, plus invariants of the intervals."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import oracle
from gotrace_fast import GoState, ProcState, Trace
from summary_diff import diff_summary


def _cases() -> list[Any]:
    out = []
    for r in oracle.read_index(oracle.EXPECTED / "INDEX.tsv"):
        if r["summary"] == "fail":
            continue
        marks = [pytest.mark.slow] if int(r["bytes"]) > oracle.SLOW_BYTES else []
        out.append(
            pytest.param(
                (oracle.CORPUS / r["file"], oracle.EXPECTED, r["name"]), id=r["name"], marks=marks
            )
        )
    for d in (oracle.GOLDEN, oracle.GOLDEN / "tracev1"):
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.summary.json*")):
            name = p.name.split(".summary.json")[0]
            out.append(pytest.param((d / f"{name}.trace", d, name), id=f"golden-{name}"))
    return out


CASES = _cases()


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[str, Trace, dict[str, Any]]:
    oracle.require_shared()
    path, directory, name = request.param
    trace, err = oracle.load(Path(path))
    assert err is None, f"{name}: {err}"
    return name, trace, oracle.load_summary(directory, name)


#: Go's v1 event order, and through the +1 ns bump event times, is run-dependent on some
#: files (oracle README, "v1 event order is not deterministic"); the oracle is one run.
#: Their times may differ by a few ns; durations summed over a goroutine or a trace too.
V1_JITTER_NS = 64


def _assert_equal(name: str, trace: Trace, want: dict[str, Any], *sections: str) -> None:
    tol = V1_JITTER_NS if oracle.is_nondeterministic_v1(name) else 0
    diffs = list(islice(diff_summary(trace, want, sections, tol), 10))
    assert not diffs, f"{name}: first differences:\n  " + "\n  ".join(diffs)


def test_goroutine_states(case: Any) -> None:
    _assert_equal(*case, "goroutine_states")


def test_procs(case: Any) -> None:
    _assert_equal(*case, "procs")


def test_state_time_ns(case: Any) -> None:
    _assert_equal(*case, "state_time_ns")


def test_summarizer_goroutines(case: Any) -> None:
    """Go's trace.Summarizer, every field including regions."""
    _assert_equal(*case, "goroutines")


def test_task_summaries(case: Any) -> None:
    _assert_equal(*case, "task_summaries")


def test_ranges_gc_stw(case: Any) -> None:
    _assert_equal(*case, "ranges", "gc", "stw")


def _no_overlap(t: Any, what: str) -> None:
    order = np.lexsort((t.start, t.id))
    ids, start, end = t.id[order], t.start[order], t.end[order]
    assert np.all(start <= end), f"{what}: interval ends before it starts"
    same = ids[1:] == ids[:-1]
    bad = np.flatnonzero(same & (start[1:] < end[:-1]))
    assert len(bad) == 0, f"{what} {ids[bad[0]]}: overlapping intervals at {start[bad[0] + 1]}"


def test_interval_invariants(case: Any) -> None:
    name, trace, want = case
    first, last = want["first_event_ns"], want["last_event_ns"]
    for res in ("goroutine", "proc", "thread"):
        t = trace.intervals(res)
        _no_overlap(t, res)
        if len(t):
            assert t.start.min() >= first, res
            assert t.end.max() <= last, res
    # Per goroutine: interval sums equal goroutine_states; per proc: Running/Idle sums.
    g = trace.intervals("goroutine")
    gs = trace.analysis.goroutine_states
    ids = gs.id
    row = np.searchsorted(ids, g.id)
    d = g.end - g.start
    for state, col in (
        (GoState.Running, "running_ns"),
        (GoState.Runnable, "runnable_ns"),
        (GoState.Waiting, "waiting_ns"),
        (GoState.Syscall, "syscall_ns"),
    ):
        m = g.state == state
        sums = np.bincount(row[m], weights=d[m], minlength=len(ids)).astype(np.int64)
        assert np.array_equal(sums, gs[col]), col
        oracle_col = np.array([x[col] for x in want["goroutine_states"]], dtype=np.int64)
        tol = V1_JITTER_NS if oracle.is_nondeterministic_v1(name) else 0
        assert np.abs(sums - oracle_col).max(initial=0) <= tol, col
    p = trace.intervals("proc")
    prow = np.searchsorted(trace.procs.id, p.id)
    pd_ = p.end - p.start
    for state, col in ((ProcState.Running, "running_ns"), (ProcState.Idle, "idle_ns")):
        m = p.state == state
        sums = np.bincount(prow[m], weights=pd_[m], minlength=len(trace.procs)).astype(np.int64)
        assert np.array_equal(sums, trace.procs[col]), col
    for res in ("goroutine", "proc", "thread"):
        t = trace.intervals(res)
        assert np.all(t.end[t.open] == last), f"{res}: open intervals end at the last event"


def test_states_vs_summarizer(case: Any) -> None:
    """Per goroutine, the interval sums equal Go's Summarizer fields except the three
    documented differences (oracle README, "goroutine_states vs. trace.Summarizer"):
    ``reused-id`` (lifetimes > 1), ``forever`` waits, and ``syscall-end``."""
    name, trace, _ = case
    a = trace.analysis
    states = {s["id"]: s for s in a.goroutine_states_json()}
    summ = {g["id"]: g for g in a.goroutines_json(regions=False)}
    assert set(states) == set(summ)
    g = trace.intervals("goroutine")
    in_syscall_at_end = set(g.id[g.open & (g.state == GoState.Syscall)].tolist())
    for gid, s in states.items():
        if s["lifetimes"] > 1:
            continue  # reused-id: the Summarizer keeps the last lifetime only
        z = summ[gid]
        where = f"{name}: goroutine {gid}"
        assert s["running_ns"] == z["exec_ns"], where
        assert s["syscall_ns"] == z["syscall_ns"] + z["syscall_block_ns"], where
        if gid in in_syscall_at_end:
            assert z["sched_wait_ns"] >= s["runnable_ns"], where  # syscall-end
        else:
            assert s["runnable_ns"] == z["sched_wait_ns"], where
        waits = {k: v for k, v in s["waiting_ns_by_reason"].items() if v and k != "forever"}
        blocks = {k: v for k, v in z["block_ns_by_reason"].items() if v}
        assert waits == blocks, where


def test_intervals_api() -> None:
    import gotrace_fast

    trace = gotrace_fast.parse(gotrace_fast.example_path())
    g, p, m = (trace.intervals(r) for r in ("goroutine", "proc", "thread"))
    assert g.states is GoState
    assert p.states is ProcState
    assert m.states is GoState
    assert set(np.unique(g.state).tolist()) <= {int(s) for s in GoState}
    assert set(np.unique(p.state).tolist()) <= {ProcState.Running, ProcState.Idle}
    assert set(np.unique(m.state).tolist()) <= {GoState.Running, GoState.Syscall}
    assert g.state_of(0) in GoState
    with pytest.raises(ValueError, match="resource"):
        trace.intervals("bogus")
    # An unblocked Runnable interval follows a Waiting one of the same goroutine.
    order = np.lexsort((g.start, g.id))
    ids, state, ub = g.id[order], g.state[order], g.unblocker[order]
    woken = np.flatnonzero(ub[1:] != -1) + 1
    assert len(woken) > 0
    assert np.all(state[woken] == GoState.Runnable)
    assert np.all(state[woken - 1] == GoState.Waiting)
    assert np.all(ids[woken - 1] == ids[woken])
    # Running goroutine intervals know their proc and thread.
    running = g.state == GoState.Running
    assert np.all(g.p[running] >= 0)
    assert np.all(g.m[running] >= 0)
    # Creators are goroutines of the trace.
    gs = trace.goroutines
    creators = gs.creator[gs.creator != -1]
    assert len(creators) > 0
    assert np.isin(creators, trace.analysis.goroutine_states.id).all()
    assert len(trace.procs) == len(np.unique(p.id))
    assert len(trace.ranges) > 0


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, id=p.name)
        for d in (oracle.GOLDEN, oracle.MALFORMED)
        if d.is_dir()
        for p in sorted(d.glob("*.trace"))
    ],
)
def test_analysis_of_partial_traces(path: Path) -> None:
    """The analysis also runs on what a broken trace yields (``TraceError.partial``)."""
    trace, _ = oracle.load(path)
    a = trace.analysis
    assert len(a.goroutines_json()) == len(trace.goroutines)
    a.task_summaries_json()
    a.ranges_json()
    for res in ("goroutine", "proc", "thread"):
        _no_overlap(trace.intervals(res), res)


# -- heatmaps (Trace.heatmap) against the same oracle summaries ------------------------------


def _heat_diff(label: str, ours: dict[int, int], theirs: dict[int, int], tol: int) -> list[str]:
    """``label[id]: ours != oracle`` for ids whose sums differ by more than ``tol``."""
    return [
        f"{label}[{k}]: {ours.get(k, 0)} != {theirs.get(k, 0)}"
        for k in sorted(set(ours) | set(theirs))
        if abs(ours.get(k, 0) - theirs.get(k, 0)) > tol
    ]


def _row_sums(h: Any) -> dict[int, int]:
    sums = h.values.sum(axis=1)
    assert np.array_equal(sums, np.round(sums)), "time cells are whole ns"
    return {int(i): int(v) for i, v in zip(h.row_ids, sums, strict=True)}


def test_heatmap_goroutine_rows(case: Any) -> None:
    """Per goroutine, the row sums of the running/runnable/syscall/waiting heatmaps are the
    oracle's times: running = the Summarizer's ``exec_ns`` (``goroutine_states.running_ns``
    for a reused ID, oracle README "reused-id"), the others ``goroutine_states``; Waiting
    time by reason is the sum of ``waiting_ns_by_reason``."""
    name, trace, want = case
    tol = V1_JITTER_NS if oracle.is_nondeterministic_v1(name) else 0
    gs = {d["id"]: d for d in want["goroutine_states"]}
    bins = 7
    diffs: list[str] = []
    running = _row_sums(trace.heatmap(bins, state="running"))
    exec_ns = {
        d["id"]: gs[d["id"]]["running_ns"]
        if d["id"] in gs and gs[d["id"]]["lifetimes"] > 1
        else d["exec_ns"]
        for d in want["goroutines"]
    }
    diffs += _heat_diff("running", running, {k: v for k, v in exec_ns.items() if v}, tol)
    for st in ("runnable", "syscall", "waiting"):
        ours = _row_sums(trace.heatmap(bins, state=st))
        theirs = {k: d[f"{st}_ns"] for k, d in gs.items() if d[f"{st}_ns"]}
        diffs += _heat_diff(st, ours, theirs, tol)
    h = trace.heatmap(bins, by="reason")
    by_reason: dict[str, int] = {}
    for i, v in zip(h.row_ids.tolist(), h.values.sum(axis=1).tolist(), strict=True):
        by_reason[trace.string(i)] = by_reason.get(trace.string(i), 0) + int(v)
    theirs_r: dict[str, int] = {}
    for d in gs.values():
        for r, ns in d["waiting_ns_by_reason"].items():
            theirs_r[r] = theirs_r.get(r, 0) + ns
    for r in sorted(set(by_reason) | set(theirs_r)):
        a, b = by_reason.get(r, 0), theirs_r.get(r, 0)
        if abs(a - b) > tol * max(1, len(gs)):
            diffs.append(f"reason[{r!r}]: {a} != {b}")
    assert not diffs, f"{name}: first differences:\n  " + "\n  ".join(diffs[:10])


def test_heatmap_state_bins(case: Any) -> None:
    """``by="state"`` with 100 bins is the oracle's ``heatmap`` section bin by bin (edges
    too), and the ``by="proc"`` rows sum bin by bin to its ``proc_running_ns`` and row by
    row to ``procs`` running time."""
    name, trace, want = case
    tol = V1_JITTER_NS if oracle.is_nondeterministic_v1(name) else 0
    hm = want["heatmap"]
    h = trace.heatmap(hm["bins"], by="state")
    assert h.edges.tolist() == hm["edges_ns"]
    assert h.row_labels == ["running", "runnable", "waiting", "syscall"]
    ntol = tol * max(1, len(want["goroutine_states"]))
    for row, label in zip(h.values, h.row_labels, strict=True):
        theirs = np.array(hm[f"goroutine_{label}_ns"], dtype=np.float64)
        assert np.abs(row - theirs).max(initial=0) <= ntol, f"{name}: {label} bins differ"
    p = trace.heatmap(hm["bins"], by="proc")
    theirs = np.array(hm["proc_running_ns"], dtype=np.float64)
    assert np.abs(p.values.sum(axis=0) - theirs).max(initial=0) <= ntol
    running = {d["id"]: d["running_ns"] for d in want["procs"] if d["running_ns"]}
    diffs = _heat_diff("proc", _row_sums(p), running, tol)
    assert not diffs, f"{name}: first differences:\n  " + "\n  ".join(diffs[:10])


def test_heatmap_fraction_and_edges(case: Any) -> None:
    """Goroutine fractions (all states at once) lie in [0, 1]; random non-uniform edges over
    the same span give the same row totals as uniform bins."""
    name, trace, _ = case
    states = ["running", "runnable", "waiting", "syscall"]
    f = trace.heatmap(13, state=states, value="fraction")
    assert f.values.min(initial=0) >= 0
    assert f.values.max(initial=0) <= 1
    u = trace.heatmap(13, state=states, sort="id")
    t0, t1 = trace.start_ns or 0, trace.end_ns or 0
    rng = np.random.default_rng(len(name))
    inner = np.sort(rng.integers(t0, t1 + 1, size=20))
    edges = np.concatenate([[t0], inner, [t1]]).astype(np.int64)
    n = trace.heatmap(edges, state=states, sort="id")
    assert np.array_equal(n.row_ids, u.row_ids)
    assert np.array_equal(n.values.sum(axis=1), u.values.sum(axis=1))


TOP_CASES: list[dict[str, Any]] = [
    {},
    {"sort": "first"},
    {"sort": "id", "state": ["running", "syscall"]},
    {"by": "function"},
    {"by": "reason", "sort": "first"},
    {"by": "thread", "state": "syscall"},
    {"by": "proc", "state": ["running", "idle"], "value": "count"},
    {"state": "waiting", "value": "count", "sort": "first"},
    {"by": "state", "sort": "id"},
]


def test_heatmap_top_is_full_with_the_rest_summed(case: Any) -> None:
    """``top=N`` (rows chosen before binning) is the full heatmap's first N rows, same IDs
    and labels, plus an ``other`` row equal to the sum of the remaining rows, bin by bin
    (cells are whole ns or counts: the float64 sums are exact); also for a window that
    clips intervals and for ``top`` at or past the row count (no ``other`` row). Rows by
    state are ordered only when ``top`` is given."""
    name, trace, _ = case
    t0, t1 = trace.start_ns or 0, trace.end_ns or 0
    windows: list[dict[str, Any]] = [{}, {"start": t0 + (t1 - t0) // 3, "end": t1 - (t1 - t0) // 5}]
    for kw in TOP_CASES:
        for win in windows:
            full = trace.heatmap(60, top=10**9, **kw, **win)
            if kw.get("by") != "state":
                unranked = trace.heatmap(60, **kw, **win)
                np.testing.assert_array_equal(unranked.values, full.values)
                assert unranked.row_labels == full.row_labels
            n = len(full.row_ids)
            for top in sorted({0, 1, 3, n - 1, n, n + 2} - {-1}):
                h = trace.heatmap(60, top=top, **kw, **win)
                what = f"{name} top={top} {kw} {win}"
                if top >= n:
                    np.testing.assert_array_equal(h.values, full.values, err_msg=what)
                    assert h.row_labels == full.row_labels, what
                    continue
                assert h.values.shape == (top + 1, 60), what
                np.testing.assert_array_equal(h.row_ids[:top], full.row_ids[:top], err_msg=what)
                assert h.row_ids[-1] == -1, what
                assert h.row_labels == [*full.row_labels[:top], "other"], what
                np.testing.assert_array_equal(h.values[:top], full.values[:top], err_msg=what)
                np.testing.assert_array_equal(
                    h.values[top], full.values[top:].sum(axis=0), err_msg=what
                )
