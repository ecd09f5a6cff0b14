"""Heatmaps: how goroutines, procs or threads spent their time, binned over the trace.

:meth:`Trace.heatmap` builds a :class:`Heatmap` from the state intervals
(:meth:`Trace.intervals`) in one native call with the GIL released
(``gotrace_core::analysis::heat``: rows chosen and ordered first, then exact integer
overlaps binned by ``gotrace_core::binning`` straight into the float64 matrix). Plotting
lives in :mod:`gotrace_fast.plot` (matplotlib is imported only there, only when a plot is
asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _gotrace_fast as _native
from ._enums import GoState, ProcState

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    from matplotlib.axes import Axes

    from ._trace import Trace

__all__ = ["BY", "VALUES", "Heatmap", "heatmap"]

#: ``by`` values.
BY = ("goroutine", "proc", "thread", "function", "state", "reason")
#: ``value`` values.
VALUES = ("time", "fraction", "count")

_GO_STATES = {
    "running": GoState.Running,
    "runnable": GoState.Runnable,
    "waiting": GoState.Waiting,
    "syscall": GoState.Syscall,
}
_PROC_STATES = {"running": ProcState.Running, "idle": ProcState.Idle}
# Threads run goroutines: their intervals are Running or Syscall.
_THREAD_STATES = {"running": GoState.Running, "syscall": GoState.Syscall}
_SORTS = ("total", "first", "id")
#: Rows a plot draws at most by default (besides ``other``): see :meth:`Heatmap.plot`.
MAX_PLOT_ROWS = 200


class Heatmap:
    """A rows x bins matrix of time (or counts) with its bin edges and row names.

    Attributes:
        values: float64 ``[rows, bins]``. ``value="time"``: ns of overlap of the rows'
            intervals with the bin (exact integers, summed in int64: exact in float64 up
            to 2**53 ns, 104 days, per cell); ``"fraction"``: that divided by the
            bin width (0 for an empty bin); ``"count"``: intervals of the state(s) that
            begin in the bin (transitions into it).
        edges: int64 ``[bins + 1]`` bin edges, ns on the trace clock; bin ``i`` is
            ``[edges[i], edges[i+1])``, the last bin also holds ``edges[-1]``.
        row_ids: one per row: goroutine / proc / thread ID, string ID of the start
            function (``by="function"``) or of the block reason (``by="reason"``), the
            state's enum value (``by="state"``); -1 for the ``other`` row.
        row_labels: list of str, one per row.
        by, state, value: the arguments (``state`` as a tuple of names).
        gc, stw: int64 ``[k, 2]`` arrays of ``[begin, end)`` ns of the GC mark phases and
            stop-the-world ranges (for overlays).
        trace_start: ns of the trace's first event (the plots' time origin).
    """

    def __init__(
        self,
        values: np.ndarray,
        edges: np.ndarray,
        row_ids: np.ndarray,
        row_labels: list[str],
        by: str,
        state: tuple[str, ...],
        value: str,
        gc: np.ndarray,
        stw: np.ndarray,
        trace_start: int,
    ) -> None:
        self.values = values
        self.edges = edges
        self.row_ids = row_ids
        self.row_labels = row_labels
        self.by = by
        self.state = state
        self.value = value
        self.gc = gc
        self.stw = stw
        self.trace_start = trace_start

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    @property
    def bins(self) -> int:
        return len(self.edges) - 1

    def __repr__(self) -> str:
        rows, bins = self.shape
        return (
            f"<Heatmap by={self.by} state={','.join(self.state)} value={self.value}: "
            f"{rows} rows x {bins} bins>"
        )

    @property
    def unit(self) -> str:
        """What one cell measures (colour bar label)."""
        return {
            "time": "ns per bin",
            "fraction": "fraction of bin",
            "count": "transitions per bin",
        }[self.value]

    def to_pandas(self) -> pd.DataFrame:
        """``values`` as a DataFrame: one row per heatmap row (index = ``row_labels``),
        one column per bin (columns = the bins' start ns)."""
        import pandas as pd

        return pd.DataFrame(
            self.values,
            index=pd.Index(self.row_labels, name=self.by),
            columns=pd.Index(self.edges[:-1], name="bin_start_ns"),
        )

    def to_xarray(self) -> Any:
        """``values`` as an ``xarray.DataArray`` with dims ``(by, time)``: coordinates
        ``row_label``/``row_id`` per row and ``bin_start_ns``/``bin_end_ns`` per bin
        (needs xarray)."""
        import xarray as xr  # type: ignore[import-not-found,unused-ignore]

        return xr.DataArray(
            self.values,
            dims=(self.by, "time"),
            coords={
                "row_label": (self.by, list(self.row_labels)),
                "row_id": (self.by, self.row_ids),
                "bin_start_ns": ("time", self.edges[:-1]),
                "bin_end_ns": ("time", self.edges[1:]),
            },
            attrs={"state": ",".join(self.state), "value": self.value, "unit": self.unit},
        )

    @property
    def has_other(self) -> bool:
        """Whether the last row is the ``other`` row (the rows after ``top``, summed)."""
        return (
            bool(len(self.row_ids))
            and int(self.row_ids[-1]) == -1
            and (self.row_labels[-1] == "other")
        )

    def top(self, n: int) -> Heatmap:
        """The first ``n`` rows and one ``other`` row summing the rest (with this heatmap's
        own ``other`` row, if any): what ``top=n`` gives when the heatmap is computed,
        since rows come in their ``sort`` order (with ``value="fraction"`` up to float
        rounding in ``other``: the kernel divides the summed ns, this sums quotients).
        Unchanged if there are at most ``n`` rows besides ``other``. A ``by="state"``
        heatmap computed without ``top`` has its rows in the order of ``state``, unranked:
        its first ``n`` states are kept (``top=n`` would rank them first)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        real = len(self.row_ids) - int(self.has_other)
        if real <= n:
            return self
        other = self.values[n:].sum(axis=0, keepdims=True)
        return self._with_rows(
            np.concatenate([self.values[:n], other]),
            np.concatenate([self.row_ids[:n], np.array([-1], self.row_ids.dtype)]),
            [*self.row_labels[:n], "other"],
        )

    def _with_rows(self, values: np.ndarray, row_ids: np.ndarray, labels: list[str]) -> Heatmap:
        """This heatmap with other rows (same bins, arguments and overlays)."""
        return Heatmap(
            values=values,
            edges=self.edges,
            row_ids=row_ids,
            row_labels=labels,
            by=self.by,
            state=self.state,
            value=self.value,
            gc=self.gc,
            stw=self.stw,
            trace_start=self.trace_start,
        )

    def select(self, labels: Sequence[str]) -> Heatmap:
        """A heatmap of the rows named ``labels`` (in that order; unknown names raise
        ``KeyError``), e.g. ``trace.heatmap(by="reason").select(["network"])``."""
        where = {lbl: i for i, lbl in enumerate(self.row_labels)}
        idx = [where[lbl] for lbl in labels]
        return self._with_rows(self.values[idx], self.row_ids[idx], list(labels))

    def plot(
        self,
        ax: Axes | None = None,
        *,
        norm: str = "log",
        cmap: Any = None,
        gc: bool = True,
        stw: bool = True,
        max_rows: int | None = MAX_PLOT_ROWS,
        **kwargs: Any,
    ) -> Axes:
        """Draws the heatmap with matplotlib (see :func:`gotrace_fast.plot.plot_heatmap`;
        beyond ``max_rows`` rows, the rest are drawn summed in one ``other`` row)."""
        from .plot import plot_heatmap

        return plot_heatmap(
            self, ax, norm=norm, cmap=cmap, gc=gc, stw=stw, max_rows=max_rows, **kwargs
        )

    def to_png(self, path: Any, **kwargs: Any) -> None:
        """Writes the plot to a PNG file (``kwargs`` as :meth:`plot`)."""
        from .plot import heatmap_png

        heatmap_png(self, path, **kwargs)

    def _repr_png_(self) -> bytes | None:
        try:
            from .plot import heatmap_png_bytes
        except ImportError:  # pragma: no cover - matplotlib missing
            return None
        return heatmap_png_bytes(self)


def _states(by: str, state: str | Sequence[str] | None) -> tuple[str, ...]:
    if state is None:
        if by == "state":
            return tuple(_GO_STATES)
        if by == "reason":
            return ("waiting",)
        return ("running",)
    names = (state,) if isinstance(state, str) else tuple(state)
    allowed = _PROC_STATES if by == "proc" else _THREAD_STATES if by == "thread" else _GO_STATES
    if not names:
        raise ValueError("state must name at least one state")
    for s in names:
        if s not in allowed:
            raise ValueError(f"state {s!r} is not one of {sorted(allowed)} for by={by!r}")
    if by == "reason" and names != ("waiting",):
        raise ValueError("by='reason' bins Waiting time: state must be 'waiting'")
    return names


def _edges(
    bins: int | Sequence[int] | np.ndarray,
    start: int | None,
    end: int | None,
    extent: tuple[int | None, int | None],
) -> np.ndarray:
    """The bin edges; ``extent`` = (first, last) event times, used for a missing start/end."""
    if isinstance(bins, (int, np.integer)):
        if bins < 1:
            raise ValueError("bins must be >= 1")
        t0 = extent[0] if start is None else int(start)
        t1 = extent[1] if end is None else int(end)
        if t0 is None or t1 is None:
            t0 = t1 = 0
        if t1 < t0:
            raise ValueError(f"end ({t1}) is before start ({t0})")
        return np.asarray(_native.uniform_edges(t0, t1, int(bins)), dtype=np.int64)
    if start is not None or end is not None:
        raise ValueError("start/end apply to an int bins; give the edges themselves instead")
    e = np.asarray(bins)
    if e.ndim != 1 or len(e) < 2:
        raise ValueError("bins must be an int or a 1-D array of at least 2 edges (ns)")
    if e.size and not np.issubdtype(e.dtype, np.integer):
        raise TypeError(f"edges must be integers (ns), not {e.dtype}")
    e = np.ascontiguousarray(e, dtype=np.int64)
    if np.any(np.diff(e) < 0):
        raise ValueError("edges must be increasing")
    return e


def _ranges(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    r = trace.ranges
    names = r.name
    gc_mask = np.zeros(len(names), dtype=bool)
    stw_mask = np.zeros(len(names), dtype=bool)
    for sid in np.unique(names).tolist():
        s = trace.string(sid)
        if s == "GC concurrent mark phase":
            gc_mask |= names == sid
        elif s.startswith("stop-the-world"):
            stw_mask |= names == sid

    def pairs(m: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.stack([r.begin[m], r.end[m]], axis=1), dtype=np.int64)

    return pairs(gc_mask), pairs(stw_mask)


def _check(
    by: str, state: str | Sequence[str] | None, value: str, top: int | None, sort: str
) -> tuple[tuple[str, ...], list[int]]:
    """Checks the arguments; returns the state names and their codes."""
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, not {by!r}")
    if value not in VALUES:
        raise ValueError(f"value must be one of {VALUES}, not {value!r}")
    if sort not in _SORTS:
        raise ValueError(f"sort must be one of {_SORTS}, not {sort!r}")
    if top is not None and top < 0:
        raise ValueError("top must be >= 0")
    states = _states(by, state)
    table = _PROC_STATES if by == "proc" else _THREAD_STATES if by == "thread" else _GO_STATES
    return states, [int(table[s]) for s in states]


def _finish(
    m: dict[str, Any],
    raw: _native.RawTrace,
    by: str,
    states: tuple[str, ...],
    codes: list[int],
    value: str,
    edges: np.ndarray,
    gc: np.ndarray,
    stw: np.ndarray,
    trace_start: int,
) -> Heatmap:
    """The :class:`Heatmap` of a native heatmap dict (``heat_matrix`` / ``stream_heatmap``:
    ``values`` float64 already, ``row_ids``, ``names``, ``other``)."""
    row_ids = m["row_ids"]
    real = row_ids[:-1] if m["other"] else row_ids
    if by == "state":
        inv = {int(c): name for name, c in zip(states, codes, strict=True)}
        labels = [inv[i] for i in real.tolist()]
    else:
        labels = _native.heat_labels(raw, by, real, m["names"])
    if m["other"]:
        labels.append("other")
    return Heatmap(
        values=m["values"],
        edges=edges,
        row_ids=row_ids,
        row_labels=labels,
        by=by,
        state=states,
        value=value,
        gc=gc,
        stw=stw,
        trace_start=trace_start,
    )


def heatmap(
    trace: Trace,
    bins: int | Sequence[int] | np.ndarray = 500,
    *,
    by: str = "goroutine",
    state: str | Sequence[str] | None = None,
    value: str = "time",
    start: int | None = None,
    end: int | None = None,
    top: int | None = None,
    sort: str = "total",
) -> Heatmap:
    """See :meth:`Trace.heatmap`."""
    states, codes = _check(by, state, value, top, sort)
    edges = _edges(bins, start, end, (trace.start_ns, trace.end_ns))
    iv = trace.intervals({"proc": "proc", "thread": "thread"}.get(by, "goroutine"))
    if by in ("goroutine", "function"):
        g_id, g_name = trace._goroutine_names()
    else:
        g_id, g_name = np.empty(0, np.int64), np.empty(0, np.uint32)

    def col(a: np.ndarray, dtype: Any) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=dtype)

    # Rows are chosen and ordered before binning, and the kernel writes the float64
    # matrix itself (only top + 1 rows with ``top``): see gotrace_core::analysis::heat.
    m = _native.heat_matrix(
        col(iv.id, np.int64),
        col(iv.start, np.int64),
        col(iv.end, np.int64),
        col(iv.state, np.uint8),
        col(iv.reason, np.uint32),
        col(g_id, np.int64),
        col(g_name, np.uint32),
        by,
        codes,
        value,
        edges.tolist(),
        top,
        sort,
    )
    gc, stw = _ranges(trace)
    return _finish(m, trace._raw, by, states, codes, value, edges, gc, stw, trace.start_ns or 0)
