"""Scheduling metrics: scheduling latency, block durations and per-bin fairness, computed
by the extension (``gotrace_core::analysis::sched``) from the state interval tables.

Definitions shared by :class:`DurationStats`:

* Percentiles are nearest-rank: of ``n`` durations sorted ascending ``d[1] <= ... <=
  d[n]``, the ``q``-th percentile is ``d[ceil(q * n / 100)]`` (an observed duration; what
  ``numpy.percentile(d, q, method="inverted_cdf")`` gives).
* The histogram has log-spaced integer edges ``0, 1, 2, 4, ..., 2**k`` ns, ``2**k`` being
  the first power of two above the maximum; ``counts[i]`` counts ``edges[i] <= d <
  edges[i + 1]`` (``counts[0]``: zero-length waits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _gotrace_fast as _native
from ._enums import GoState

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = ["DurationStats", "Fairness"]


@dataclass(frozen=True, eq=False)
class DurationStats:
    """Statistics of a set of durations (ns); see the module docstring for the exact
    percentile and histogram definitions. When empty: ``count`` 0, ``mean_ns`` NaN, the
    other values 0 and no histogram bins."""

    count: int
    sum_ns: int
    mean_ns: float
    min_ns: int
    p50_ns: int
    p90_ns: int
    p99_ns: int
    max_ns: int
    #: int64 histogram edges (``len(counts) + 1``).
    edges: np.ndarray
    #: uint64 counts per histogram bin.
    counts: np.ndarray

    @classmethod
    def _from(cls, d: dict[str, Any]) -> DurationStats:
        return cls(**d)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DurationStats):
            return NotImplemented
        return (
            all(
                getattr(self, k) == getattr(other, k)
                for k in ("count", "sum_ns", "min_ns", "p50_ns", "p90_ns", "p99_ns", "max_ns")
            )
            and (self.mean_ns == other.mean_ns or self.count == other.count == 0)
            and np.array_equal(self.edges, other.edges)
            and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Fairness:
    """Per-bin fairness metrics (arrays of ``len(edges) - 1``); see
    :meth:`gotrace_fast.Trace.fairness` for the formulas."""

    edges: np.ndarray
    exec_ns: np.ndarray
    goroutines: np.ndarray
    entropy: np.ndarray
    gini: np.ndarray
    procs: np.ndarray
    proc_busy_ns: np.ndarray
    proc_busy_var: np.ndarray
    proc_busy_cv: np.ndarray


def _stats(durations: np.ndarray, keys: np.ndarray | None, label: Any) -> Any:
    d = np.ascontiguousarray(durations, dtype=np.int64)
    if keys is None:
        return DurationStats._from(_native.duration_stats(d))
    k = np.ascontiguousarray(keys, dtype=np.int64)
    return {label(int(key)): DurationStats._from(s) for key, s in _native.duration_stats(d, k)}


def _i64(ids: np.ndarray) -> np.ndarray:
    """An ID column as the kernels take it (interval IDs are int32 while they fit)."""
    return np.ascontiguousarray(ids, dtype=np.int64)


def sched_wait_index(trace: Trace) -> np.ndarray:
    """Rows of ``trace.intervals("goroutine")`` that are scheduling waits."""

    def make() -> np.ndarray:
        iv = trace.intervals("goroutine")
        return _native.sched_wait_index(_i64(iv.id), iv.start, iv.end, iv.state)

    return trace._cached("sched_wait_index", make)  # type: ignore[no-any-return]


def _function_keys(trace: Trace, ids: np.ndarray) -> np.ndarray:
    """Summarizer start-function name (string ID) of each goroutine ID in ``ids``."""
    gid, name = trace._goroutine_names()
    name = name.astype(np.int64)
    pos = np.searchsorted(gid, ids)
    pos = np.minimum(pos, max(len(gid) - 1, 0))
    found = (gid[pos] == ids) if len(gid) else np.zeros(len(ids), dtype=bool)
    # A goroutine the Summarizer does not know gets name 0 (the empty string).
    return np.where(found, name[pos] if len(gid) else 0, 0)


def sched_latency(trace: Trace, by: str | None) -> Any:
    iv = trace.intervals("goroutine")
    idx = sched_wait_index(trace)
    durs = iv.end[idx] - iv.start[idx]
    if by is None:
        return _stats(durs, None, None)
    if by == "function":
        return _stats(durs, _function_keys(trace, iv.id[idx]), trace.string)
    if by == "goroutine":
        return _stats(durs, iv.id[idx], int)
    raise ValueError(f"by must be None, 'function' or 'goroutine', not {by!r}")


def block_index(trace: Trace) -> np.ndarray:
    """Rows of ``trace.intervals("goroutine")`` counted by :func:`block_durations`:
    Waiting intervals not open at the end."""
    iv = trace.intervals("goroutine")
    return np.flatnonzero((iv.state == GoState.Waiting) & ~iv.open)


def block_durations(trace: Trace, reason: str | None, by: str | None) -> Any:
    iv = trace.intervals("goroutine")
    idx = block_index(trace)
    if reason is not None:
        wanted = [r for r in np.unique(iv.reason[idx]) if trace.string(int(r)) == reason]
        idx = idx[np.isin(iv.reason[idx], wanted)]
    durs = iv.end[idx] - iv.start[idx]
    if by is None:
        return _stats(durs, None, None)
    if by == "reason":
        return _stats(durs, iv.reason[idx].astype(np.int64), trace.string)
    if by == "function":
        return _stats(durs, _function_keys(trace, iv.id[idx]), trace.string)
    raise ValueError(f"by must be None, 'reason' or 'function', not {by!r}")


def edges_of(trace: Trace, bins: Any, start: int | None, end: int | None) -> np.ndarray:
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if bins < 1:
            raise ValueError("bins must be >= 1")
        s = trace.start_ns if start is None else start
        e = trace.end_ns if end is None else end
        if s is None or e is None:
            raise ValueError("the trace has no events: give start and end")
        if e <= s:
            raise ValueError(f"end ({e}) must be after start ({s})")
        return _native.uniform_edges(int(s), int(e), int(bins))
    edges = np.asarray(bins)
    if edges.ndim != 1 or len(edges) < 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError("bins must be an int or a 1-D integer array of >= 2 edges (ns)")
    if np.any(np.diff(edges) <= 0):
        raise ValueError("bin edges must be strictly increasing")
    return np.ascontiguousarray(edges, dtype=np.int64)


def fairness(trace: Trace, bins: Any, start: int | None, end: int | None) -> Fairness:
    g = trace.intervals("goroutine")
    p = trace.intervals("proc")
    edges = edges_of(trace, bins, start, end)
    d = _native.fairness(
        _i64(g.id), g.start, g.end, g.state, _i64(p.id), p.start, p.end, p.state, edges
    )
    return Fairness(**d)
