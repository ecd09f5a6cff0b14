"""`parse` and the `Trace` / `EventTable` wrappers around the extension's ``RawTrace``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, Union, cast, overload

import numpy as np

from . import _gotrace_fast as _native
from . import _sched
from ._analysis import INTERVAL_STATES, Analysis, Table
from ._enums import EventKind, GoState, ProcState, ResourceKind
from .exceptions import TraceError, error_from_tuple

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from ._heatmap import Heatmap

__all__ = ["EventTable", "Frame", "StringTable", "Trace", "parse"]

Source = Union[
    str, "os.PathLike[str]", "os.PathLike[bytes]", bytes, bytearray, memoryview, BinaryIO
]

#: Events per chunk when streaming the TSV dump (bounds the memory of one chunk).
TSV_CHUNK_EVENTS = 1 << 20

_COLUMN_NAMES = (
    "time",
    "kind",
    "g",
    "p",
    "m",
    "stack",
    "res_kind",
    "from_state",
    "to_state",
    "arg",
    "name",
    "aux",
)
# The extension's names for the two columns renamed here (``from`` is a Python keyword).
_NATIVE_NAME = {"from_state": "from", "to_state": "to"}

_RANGE_KINDS = (EventKind.RangeBegin, EventKind.RangeActive, EventKind.RangeEnd)
# Kinds whose (res_kind, arg) name a resource: transitions, labels, range scopes.
_RESOURCE_KINDS = (EventKind.StateTransition, EventKind.Label, *_RANGE_KINDS)


class Frame(NamedTuple):
    """One stack frame; function and file are decoded like :meth:`Trace.string`."""

    pc: int
    function: str
    file: str
    line: int


class EventTable:
    """The events as numpy columns (one row per event, in Go's reader order).

    All columns are read-only 1-D arrays of one length that share the parser's memory
    (no copy). Common columns:

    ============  ======  ===============================================================
    ``time``      int64   ``Event.Time()`` in ns (trace clock, not rebased)
    ``kind``      uint8   :class:`EventKind`
    ``g``         int32*  goroutine of the execution context (-1 = none)
    ``p``         int32*  proc of the execution context (-1 = none)
    ``m``         int32*  thread of the execution context (-1 = none)
    ``stack``     uint32  stack ID (:meth:`Trace.stack`), 0 = no stack
    ============  ======  ===============================================================

    (*) ``g``, ``p``, ``m`` and ``arg`` are int32 when every value of the column fits in 32
    bits, which IDs written by the Go runtime do in practice, and int64 otherwise (e.g.
    goroutine IDs past 2**31 in a long-lived service, large metric values): the narrow
    type halves the memory of these columns, and the values are the same either way.
    Mix them with other integers as usual; numpy widens where needed.

    Kind-specific columns ``res_kind``, ``arg``, ``name`` (a string ID, see
    :meth:`Trace.string`) and ``aux`` mean, per kind:

    ===================  ==============  ===================  ===========  =====================
    kind                 res_kind        arg                  name         aux
    ===================  ==============  ===================  ===========  =====================
    StateTransition      Goroutine/Proc  resource id          reason       transition stack ID
    RangeBegin/Active    scope kind      scope id (0: None)   range name   --
    RangeEnd             scope kind      scope id (0: None)   range name   1 + range_attrs row
    Metric               --              value (uint64 bits)  metric name  --
    Label                Goroutine       goroutine id         label        --
    TaskBegin/TaskEnd    --              task id (uint64)     task type    u64s row: parent ID
    RegionBegin/End      --              task id (uint64)     region type  --
    Log                  --              task id (uint64)     category     message (string ID)
    Sync                 --              N (1-based)          --           1 + clock_snapshots
                                                                           row (0: no snapshot)
    Experimental         --              experimental row     event name   experiment (string)
    StackSample          --              --                   --           --
    ===================  ==============  ===================  ===========  =====================

    ``from_state``/``to_state`` are set for StateTransition only: :class:`GoState` when
    ``res_kind`` is Goroutine, :class:`ProcState` when it is Proc. "1 + row" columns use 0
    for "none"; ``--`` cells are 0.

    Named views of the shared columns: :attr:`resource_kind`, :attr:`resource_id`,
    :attr:`arg_u64`, :attr:`reason`, :attr:`transition_stack`; :meth:`event` decodes
    one row into a dict with Go's field names.
    """

    time: np.ndarray
    kind: np.ndarray
    g: np.ndarray
    p: np.ndarray
    m: np.ndarray
    stack: np.ndarray
    res_kind: np.ndarray
    from_state: np.ndarray
    to_state: np.ndarray
    arg: np.ndarray
    name: np.ndarray
    aux: np.ndarray

    def __init__(self, trace: Trace) -> None:
        self._trace = trace
        native = trace._raw.columns()
        for col in _COLUMN_NAMES:
            setattr(self, col, native[_NATIVE_NAME.get(col, col)])

    def __len__(self) -> int:
        return len(self.time)

    def __repr__(self) -> str:
        return f"<EventTable {len(self)} events>"

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """All columns by name, in table order (the same array objects as the attributes)."""
        return {col: getattr(self, col) for col in _COLUMN_NAMES}

    # -- named views of the shared columns ------------------------------------------------

    @property
    def resource_kind(self) -> np.ndarray:
        """:class:`ResourceKind` of StateTransition/Label resources and Range scopes."""
        return self.res_kind

    @property
    def resource_id(self) -> np.ndarray:
        """Goroutine/proc ID of StateTransition and Label events, scope ID of Range events."""
        return self.arg

    @property
    def arg_u64(self) -> np.ndarray:
        """``arg`` as uint64: Metric values, task IDs (NoTask = 2**64-1). No copy when
        ``arg`` is int64; an int32 ``arg`` is sign-extended first (a new array)."""
        return self.arg.astype(np.int64, copy=False).view(np.uint64)

    @property
    def reason(self) -> np.ndarray:
        """String ID of a StateTransition's reason (0 = "")."""
        return self.name

    @property
    def transition_stack(self) -> np.ndarray:
        """Stack ID of a StateTransition's own stack (e.g. the new goroutine's start)."""
        return self.aux

    def mask(self, kind: EventKind | int) -> np.ndarray:
        """Boolean mask of the events of ``kind``."""
        return cast(np.ndarray, self.kind == int(kind))

    # -- one row, decoded -----------------------------------------------------------------

    def event(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a dict with the fields Go's ``trace.Event`` exposes for its kind.

        Strings are decoded (see :meth:`Trace.string`), stacks are lists of :class:`Frame`.
        """
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"event index {i} out of range (0..{n})")
        i %= n
        t = self._trace
        kind = EventKind(int(self.kind[i]))
        arg = int(self.arg[i])
        arg_u = arg & (2**64 - 1)
        name = t.string(int(self.name[i]))
        aux = int(self.aux[i])
        ev: dict[str, Any] = {
            "time": int(self.time[i]),
            "kind": kind,
            "goroutine": int(self.g[i]),
            "proc": int(self.p[i]),
            "thread": int(self.m[i]),
            "stack": t.stack(int(self.stack[i])),
        }
        res = ResourceKind(int(self.res_kind[i])) if kind in _RESOURCE_KINDS else None
        if kind == EventKind.StateTransition:
            states = GoState if res == ResourceKind.Goroutine else ProcState
            ev.update(
                resource_kind=res,
                resource_id=arg,
                from_state=states(int(self.from_state[i])),
                to_state=states(int(self.to_state[i])),
                reason=name,
                transition_stack=t.stack(aux),
            )
        elif kind in _RANGE_KINDS:
            ev.update(name=name, scope_kind=res, scope_id=arg)
            if kind == EventKind.RangeEnd:
                attrs: dict[str, int] = {}
                if aux:
                    swept, reclaimed = (int(x) for x in t.range_attrs[aux - 1])
                    attrs = {"bytes swept": swept, "bytes reclaimed": reclaimed}
                ev["attributes"] = attrs
        elif kind == EventKind.Metric:
            ev.update(name=name, value=arg_u)
        elif kind == EventKind.Label:
            ev.update(label=name, resource_kind=res, resource_id=arg)
        elif kind in (EventKind.TaskBegin, EventKind.TaskEnd):
            ev.update(task_id=arg_u, parent_id=int(t.u64s[aux]), type=name)
        elif kind in (EventKind.RegionBegin, EventKind.RegionEnd):
            ev.update(task_id=arg_u, type=name)
        elif kind == EventKind.Log:
            ev.update(task_id=arg_u, category=name, message=t.string(aux))
        elif kind == EventKind.Sync:
            snap = None
            if aux:
                cs = t.clock_snapshots
                snap = {k: int(v[aux - 1]) for k, v in cs.items()}
            ev.update(n=arg, clock_snapshot=snap)
        elif kind == EventKind.Experimental:
            typ, args = t.experimental
            ev.update(
                name=name,
                experiment=t.string(aux),
                type=int(typ[arg]),
                args=[int(x) for x in args[arg]],
            )
        return ev

    def to_pandas(self) -> pd.DataFrame:
        """The columns as a ``pandas.DataFrame`` (needs the ``pandas`` extra).

        Numeric columns as in :attr:`columns`, plus ``kind_name``, a categorical of the
        :class:`EventKind` names. Strings and stacks stay IDs (see :meth:`Trace.string`).
        """
        import pandas as pd

        df = pd.DataFrame(self.columns, copy=False)
        df["kind_name"] = pd.Categorical.from_codes(
            np.minimum(self.kind, len(EventKind) - 1).astype(np.int8),
            categories=[k.name for k in EventKind],
        )
        return df


class StringTable(Sequence[str]):
    """The trace's strings (read-only sequence; ``[0]`` is ""). See :meth:`Trace.string`."""

    def __init__(self, raw: _native.RawTrace) -> None:
        self._raw = raw

    def __len__(self) -> int:
        return self._raw.num_strings

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self._raw.string(j) for j in range(*i.indices(len(self)))]
        return self._raw.string(i)

    def raw(self, i: int) -> bytes:
        """String ``i`` as the trace's bytes."""
        return self._raw.string_bytes(i)


class Trace:
    """A parsed Go execution trace. Make one with :func:`parse`."""

    def __init__(self, raw: _native.RawTrace) -> None:
        self._raw = raw
        self.events = EventTable(self)
        self.strings = StringTable(raw)
        self._side: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        v = self.version or "?"
        return f"<gotrace_fast.Trace go {v}, {len(self)} events, {self.generations} generations>"

    # -- header and extent ----------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """Header version as ``"1.N"`` (Go 1.24 writes ``"1.23"``, 1.27 ``"1.26"``), or None."""
        minor = self._raw.version
        return f"1.{minor}" if minor else None

    @property
    def version_minor(self) -> int:
        """N of the header ``go 1.N trace`` (0 if unknown)."""
        return self._raw.version

    @property
    def generations(self) -> int:
        """Number of generations read."""
        return self._raw.generations

    @property
    def error(self) -> TraceError | None:
        """None, or (for the ``partial`` trace of a failed parse) the error it ended with."""
        err = self._raw.error
        return None if err is None else error_from_tuple(err)

    @property
    def start_ns(self) -> int | None:
        """Time of the first event (a Sync), or None for no events."""
        t = self.events.time
        return int(t[0]) if len(t) else None

    @property
    def end_ns(self) -> int | None:
        """Time of the last event (a Sync), or None for no events."""
        t = self.events.time
        return int(t[-1]) if len(t) else None

    @property
    def duration_ns(self) -> int:
        """``end_ns - start_ns`` (0 for no events)."""
        t = self.events.time
        return int(t[-1] - t[0]) if len(t) else 0

    # -- aggregates -----------------------------------------------------------------------

    def counts_by_kind(self) -> dict[str, int]:
        """Number of events per :class:`EventKind` name, every kind included (zeros too)."""
        counts = self._raw.counts_by_kind()
        return {k.name: int(counts[k.value]) for k in EventKind}

    def _ids(self, which: int) -> np.ndarray:
        ids: tuple[np.ndarray, np.ndarray, np.ndarray] = self._cached(
            "distinct_ids", self._raw.distinct_ids
        )
        return ids[which]

    def goroutine_ids(self) -> np.ndarray:
        """Sorted distinct goroutine IDs: execution contexts (``g`` != -1) plus goroutines
        named by transitions, labels and range scopes (the oracle's ``distinct_ids``)."""
        return self._ids(0)

    def proc_ids(self) -> np.ndarray:
        """Sorted distinct proc IDs (``p`` != -1, proc transitions, proc range scopes)."""
        return self._ids(1)

    def thread_ids(self) -> np.ndarray:
        """Sorted distinct thread IDs (``m`` != -1, thread range scopes)."""
        return self._ids(2)

    # -- analysis (state intervals, goroutine summary, procs, ranges) ----------------------

    @property
    def analysis(self) -> Analysis:
        """Everything below, computed once in one pass over the events (GIL released):
        the state intervals and Go's goroutine summaries side by side on two threads, or
        only the summaries if the intervals were computed already (by :meth:`intervals`,
        a heatmap or a scheduling metric, which leave the summaries out)."""

        def make() -> Analysis:
            states = self._side.pop("states", None)
            self._side.pop("state_tables", None)
            if states is None:
                return Analysis(self._raw.analysis(), self)
            return Analysis({**states, **self._raw.analysis("summaries")}, self)

        return cast("Analysis", self._cached("analysis", make))

    def _states(self) -> dict[str, Any]:
        """The analysis' state part: interval, proc and range tables and the goroutines'
        names (``Table`` objects), without Go's goroutine summaries (which cost more
        memory than the intervals: regions, block and range time per goroutine)."""
        if "analysis" in self._side:
            a = self.analysis
            g = a.goroutines
            return {
                "intervals": a.intervals,
                "procs": a.procs,
                "ranges": a.ranges,
                "names": (g.id, g.name),
            }

        def make() -> dict[str, Any]:
            raw = self._cached("states", lambda: self._raw.analysis("states"))
            names = raw["goroutine_names"]
            return {
                "intervals": {k: Table(v, INTERVAL_STATES[k]) for k, v in raw["intervals"].items()},
                "procs": Table(raw["procs"]),
                "ranges": Table(raw["range_table"]),
                "names": (names["id"], names["name"]),
            }

        return cast("dict[str, Any]", self._cached("state_tables", make))

    def _goroutine_names(self) -> tuple[np.ndarray, np.ndarray]:
        """(goroutine IDs increasing, their name string IDs): Go's Summarizer names."""
        return cast("tuple[np.ndarray, np.ndarray]", self._states()["names"])

    def intervals(self, resource: str = "goroutine") -> Table:
        """State intervals of ``"goroutine"``, ``"proc"`` or ``"thread"`` resources.

        Columns: ``id``, ``start``, ``end`` (ns), ``state`` (``table.states``:
        :class:`GoState` for goroutines and threads, :class:`ProcState` for procs),
        ``reason`` (string ID of the transition that began the interval), ``stack``
        (its transition stack), ``g``/``p``/``m`` (the goroutine, proc and thread
        involved: where a goroutine ran, which thread started a proc, which goroutine a
        thread ran; -1 = none), ``unblocker``/``unblocker_stack`` (for a Runnable
        goroutine interval begun by an unblock: the goroutine that unblocked it and its
        stack; -1/0 otherwise) and ``open`` (still open at the end; closed at the last
        event). Intervals follow the oracle's generation-start interval rule: a
        resource first seen as ``Undetermined->X`` is in X since the preceding Sync
        (except procs of v1 traces); ``X->X`` is no change. Thread intervals are those of
        the goroutines running / in a syscall on the thread, clipped so they never
        overlap.

        The ID columns (``id``, ``g``, ``p``, ``m``, ``unblocker``) are int32 when every
        value fits in 32 bits, as the event table's ``g``/``p``/``m``, else int64.
        """
        try:
            return cast(Table, self._states()["intervals"][resource])
        except KeyError:
            raise ValueError(
                f"resource must be 'goroutine', 'proc' or 'thread', not {resource!r}"
            ) from None

    @property
    def goroutines(self) -> Table:
        """One row per goroutine with Go's ``trace.Summarizer`` fields (sorted by ``id``):
        ``name`` (string ID), ``pc``, ``is_system``, ``creation_time_ns``,
        ``start_time_ns``, ``end_time_ns``, ``exec_ns``, ``sched_wait_ns``,
        ``syscall_ns``, ``syscall_block_ns``, ``total_ns``, ``unknown_ns``, ``creator``
        (the creating goroutine, -1 if unknown) and ``creation_stack`` (its stack at the
        ``go`` statement). Block time by reason, range time and regions:
        :meth:`goroutine_summaries` (records exactly as ``tracecheck summary`` writes them).
        """
        return self.analysis.goroutines

    def goroutine_summaries(self, regions: bool = True) -> list[dict[str, Any]]:
        """The oracle's ``goroutines`` section: one dict per goroutine."""
        return self.analysis.goroutines_json(regions)

    @property
    def procs(self) -> Table:
        """Per proc (sorted by ``id``): ``running_ns``, ``running_intervals``, ``idle_ns``,
        ``transitions``, ``running_at_end`` (the oracle's ``procs``)."""
        return cast(Table, self._states()["procs"])

    @property
    def ranges(self) -> Table:
        """Every range (GC phases, STW, sweep, mark assist...): ``name`` (string ID),
        ``scope_kind``, ``scope_id``, ``begin``, ``end``, ``active_at_start`` (opened by a
        RangeActive: began before the trace), ``open`` (did not end; ``end`` is then the
        last event)."""
        return cast(Table, self._states()["ranges"])

    def heatmap(
        self,
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
        """How goroutines (procs, threads...) spent their time: a rows x bins
        :class:`~gotrace_fast.Heatmap`, exact (from the state intervals, no
        sampling), binned in Rust with the GIL released.

        ``bins``: an int (uniform bins over ``[start, end]``, by default the first to the
        last event, with integer edges ``start + floor((end - start) * i / bins)``) or an
        increasing array of edges in ns. Bin ``i`` is ``[edges[i], edges[i+1])``; an
        instant at the last edge falls in the last bin.

        ``by``: ``"goroutine"``, ``"proc"``, ``"thread"``, ``"function"`` (goroutines
        grouped by start function, the Summarizer's ``name``), ``"state"`` (one row per
        state: the time all goroutines together spent in it, i.e. mean concurrency x bin
        width) or ``"reason"`` (Waiting time by the block reason).

        ``state``: a name or a list of names: ``running``, ``runnable``, ``waiting``,
        ``syscall`` (goroutines); ``running``, ``idle`` (procs); ``running``, ``syscall``
        (threads). Default: ``running``; all four goroutine states for ``by="state"``;
        ``waiting`` for ``by="reason"``.

        ``value``: ``"time"`` (ns of overlap), ``"fraction"`` (time / bin width) or
        ``"count"`` (intervals of the state(s) beginning in the bin: transitions into
        it, plus those opened at a Sync for resources already there).

        ``top``: keep the first ``top`` rows in ``sort`` order (``"total"`` descending,
        ``"first"`` appearance, ``"id"``) and sum the rest into one ``other`` row (ID -1).
        Rows are ordered by ``sort`` except for ``by="state"`` without ``top`` (state order).
        Rows are chosen before binning, so with ``top`` only ``top + 1`` rows are binned.

        Cost: O(intervals + rows x bins) and one float64 matrix; without ``top`` every
        goroutine is a row (457k goroutines x 1000 bins is 3.7 GB).
        """
        from ._heatmap import heatmap

        return heatmap(
            self,
            bins,
            by=by,
            state=state,
            value=value,
            start=start,
            end=end,
            top=top,
            sort=sort,
        )

    # -- strings, stacks, side tables -----------------------------------------------------

    def string(self, i: int) -> str:
        """String ``i`` decoded as UTF-8; invalid bytes become U+FFFD (``errors="replace"``).

        Go does not require trace strings to be UTF-8: :meth:`string_bytes` gives the
        exact bytes. ID 0 is the empty string.
        """
        return self._raw.string(i)

    def string_bytes(self, i: int) -> bytes:
        """String ``i`` as the exact bytes of the trace."""
        return self._raw.string_bytes(i)

    def stack(self, i: int) -> list[Frame]:
        """Frames of stack ``i``, innermost first; stack 0 (no stack) is ``[]``."""
        return [Frame(*f) for f in self._raw.stack(i)]

    @property
    def num_stacks(self) -> int:
        return self._raw.num_stacks

    def _cached(self, key: str, make: Any) -> Any:
        if key not in self._side:
            self._side[key] = make()
        return self._side[key]

    @property
    def range_attrs(self) -> np.ndarray:
        """uint64 array (n, 2): ``bytes swept``, ``bytes reclaimed`` of sweep RangeEnds."""
        return cast(np.ndarray, self._cached("range_attrs", self._raw.range_attrs))

    @property
    def u64s(self) -> np.ndarray:
        """uint64 side table (task parent IDs, indexed by ``aux`` of Task events)."""
        return cast(np.ndarray, self._cached("u64s", self._raw.u64s))

    @property
    def clock_snapshots(self) -> dict[str, np.ndarray]:
        """Sync clock snapshots (Go >= 1.25): ``trace_ns``, ``mono_ns``, ``wall_unix_ns``."""

        def make() -> dict[str, np.ndarray]:
            trace_ns, mono_ns, wall_unix_ns = self._raw.clock_snapshots()
            return {"trace_ns": trace_ns, "mono_ns": mono_ns, "wall_unix_ns": wall_unix_ns}

        return cast(dict[str, np.ndarray], self._cached("clock_snapshots", make))

    @property
    def experimental(self) -> tuple[np.ndarray, np.ndarray]:
        """Experimental events' ``(type uint8 (n,), args uint64 (n, 4))``."""
        return cast(
            tuple[np.ndarray, np.ndarray], self._cached("experimental", self._raw.experimental)
        )

    # -- garbage collector: mutator utilization -------------------------------------------

    def mutator_utilization(
        self,
        *,
        stw: bool = True,
        background: bool = True,
        assist: bool = True,
        sweep: bool = False,
        per_proc: bool = False,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The mutator utilization function, as Go's ``trace.MutatorUtilizationV2``.

        The function is a step function: a list of series, each a pair of arrays
        ``(time int64 ns, util float64)``; from ``time[i]`` on, ``util[i]`` (in [0, 1]) is
        the fraction of the procs (GOMAXPROCS) running user code. Each series ends with a
        0 at the trace's last event. The flags choose which GC work counts against the
        mutator (Go's ``UtilSTW``, ``UtilBackground``, ``UtilAssist``, ``UtilSweep``; the
        default is ``go tool trace``'s). ``per_proc`` gives one 0/1 series per P
        (``UtilPerProc``) instead of one series.

        Empty (``[]``) when nothing is known about GOMAXPROCS: traces without a
        ``/sched/gomaxprocs:threads`` metric, e.g. Go 1.11-1.21 traces that never change
        GOMAXPROCS. Raises ``ValueError`` where Go's code would panic.
        """
        flags = _util_flags(stw, background, assist, sweep, per_proc)
        return [(t, u) for t, u in self._raw.mutator_utilization(flags)]

    def mmu(
        self,
        windows: int | Sequence[int] | np.ndarray,
        *,
        stw: bool = True,
        background: bool = True,
        assist: bool = True,
        sweep: bool = False,
        per_proc: bool = False,
    ) -> np.ndarray:
        """Minimum mutator utilization for each window length (ns), as Go computes it
        (``trace.NewMMUCurve(MutatorUtilizationV2(events, flags)).MMU(window)``).

        The MMU of a window length ``w`` is the lowest mean of :meth:`mutator_utilization`
        over any ``w`` ns of the trace: 0 means that some ``w`` ns had no user code running
        at all, 1 that GC never took a proc away. A window longer than the trace counts
        as the whole trace; a window <= 0 gives 0. Flags as in
        :meth:`mutator_utilization` (default ``stw``, ``background`` and ``assist``,
        ``go tool trace``'s default).

        Returns a float64 array with one value per window (a 0-d input gives a 1-element
        array). Values are NaN when the utilization function is empty (no GOMAXPROCS
        metric in the trace; Go would report 1). Computed without the GIL.
        """
        w = np.atleast_1d(np.asarray(windows))
        if w.ndim != 1:
            raise ValueError("windows must be an integer or a 1-D sequence of integers")
        if w.size and not np.issubdtype(w.dtype, np.integer):
            raise TypeError(f"windows must be integers (ns), not {w.dtype}")
        flags = _util_flags(stw, background, assist, sweep, per_proc)
        values, _, _ = self._raw.mmu(flags, [int(x) for x in w])
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    def mmu_worst_windows(
        self,
        window: int,
        n: int = 5,
        *,
        stw: bool = True,
        background: bool = True,
        assist: bool = True,
        sweep: bool = False,
        per_proc: bool = False,
    ) -> list[tuple[int, float]]:
        """The ``n`` windows of ``window`` ns with the lowest mean mutator utilization, as
        Go's ``MMUCurve.Examples`` (what ``go tool trace`` lists under the MMU plot):
        ``[(start_ns, utilization), ...]``, lowest first; the first one's utilization is
        the MMU. Windows are meant to be disjoint, but as in Go a window overlapping two
        kept ones only displaces the first. Flags as in :meth:`mmu`; ``[]`` when the
        utilization function is empty or ``window <= 0``.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        flags = _util_flags(stw, background, assist, sweep, per_proc)
        return [(int(t), float(u)) for t, u in self._raw.mmu_worst_windows(flags, int(window), n)]

    # -- scheduling metrics ---------------------------------------------------------------

    def sched_latency(self, by: str | None = None) -> Any:
        """Scheduling latency: how long goroutines waited to run once runnable.

        The waits are the goroutine intervals (:meth:`intervals`) in state Runnable that
        are directly followed by a Running interval of the same goroutine (starting when
        the Runnable one ends). Runnable intervals still open at the end of the trace, or
        left for another state (e.g. the goroutine ended), are not waits. A Runnable
        interval of a goroutine first seen as ``Undetermined->Runnable`` starts at the
        preceding Sync (the interval rule).

        Returns a :class:`DurationStats` (``count``, ``sum_ns``, ``mean_ns`` = sum /
        count, ``min_ns``, ``p50_ns``, ``p90_ns``, ``p99_ns``, ``max_ns``, and a histogram
        ``edges``/``counts`` with edges ``0, 1, 2, 4, ..., 2**k`` ns). Percentiles are
        nearest-rank: with ``d[1] <= ... <= d[n]`` sorted, ``p_q = d[ceil(q n / 100)]``
        (numpy's ``method="inverted_cdf"``).

        ``by="function"``: a dict start-function name (Go's Summarizer name, as in
        :meth:`goroutine_summaries`; ``""`` if unknown) -> :class:`DurationStats`;
        ``by="goroutine"``: goroutine ID -> :class:`DurationStats`.
        """
        return _sched.sched_latency(self, by)

    def block_durations(self, reason: str | None = None, *, by: str | None = None) -> Any:
        """Durations of goroutines' Waiting intervals (:meth:`intervals`), as
        :class:`DurationStats` (definitions as in :meth:`sched_latency`).

        Counted: every Waiting interval that ended before the end of the trace. Waiting
        intervals still open at the end (``open``) are left out: their duration is not
        known. A wait that began before the trace (``Undetermined->Waiting``) counts from
        the preceding Sync. ``reason``: only the intervals of that block reason (the
        string, e.g. ``"chan receive"``). ``by="reason"``: a dict reason ->
        :class:`DurationStats`; ``by="function"``: per start function.
        """
        return _sched.block_durations(self, reason, by)

    def fairness(
        self, bins: Any = 100, *, start: int | None = None, end: int | None = None
    ) -> _sched.Fairness:
        """Per time bin: how evenly goroutines shared the CPU and procs were busy.

        ``bins``: an int (uniform integer edges ``start + floor((end - start) * i /
        bins)``, by default from the first to the last event; over a span shorter than
        ``bins`` ns some edges repeat and those bins are empty) or a strictly increasing
        integer array of edges (ns). Per bin ``[e_b, e_{b+1})``, with exact overlaps:

        * ``x_g``: Running time (not Syscall) of goroutine ``g`` in the bin; over the
          ``n`` goroutines with ``x_g > 0`` (``goroutines``), ``T = sum x_g``
          (``exec_ns``), shares ``s_g = x_g / T``;
        * ``entropy = -sum_g s_g ln(s_g) / ln(n)`` (normalised Shannon entropy, in
          [0, 1]; 1 = equal shares);
        * ``gini = sum_i (2 i - n - 1) x_(i) / (n T)`` over ``x`` sorted ascending,
          ``i = 1..n`` (= ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``, in [0, 1 - 1/n]; 0 =
          equal shares). With ``n = 1``: entropy 1, gini 0; ``n = 0``: both NaN;
        * ``y_p``: Running time of proc ``p`` in the bin, over the ``P`` procs
          (``procs``) that are Running or Idle for some time in the bin; ``proc_busy_ns
          = sum y_p``, ``mean = proc_busy_ns / P``; ``proc_busy_var = sum_p (y_p -
          mean)^2 / P`` (population variance, ns^2) and ``proc_busy_cv = sqrt(var) /
          mean`` (NaN if ``P = 0`` or ``mean = 0``).

        Returns a :class:`Fairness` of arrays, one value per bin, plus ``edges``.
        """
        return _sched.fairness(self, bins, start, end)

    # -- text dump ------------------------------------------------------------------------

    def events_tsv(self, start: int = 0, end: int | None = None) -> bytes:
        """Events ``[start, end)`` in the oracle's ``tracecheck-events/1`` line format."""
        return self._raw.events_tsv(start, end)

    def iter_events_tsv(self, chunk_events: int | None = None) -> Iterator[bytes]:
        """The whole ``tracecheck-events/1`` dump in chunks of ``chunk_events`` events
        (default :data:`TSV_CHUNK_EVENTS`), so memory stays bounded on huge traces."""
        if chunk_events is None:
            chunk_events = TSV_CHUNK_EVENTS
        if chunk_events < 1:
            raise ValueError("chunk_events must be >= 1")
        n = len(self)
        for start in range(0, n, chunk_events):
            yield self._raw.events_tsv(start, min(start + chunk_events, n))


# Go's trace.UtilFlags bits.
_UTIL_STW, _UTIL_BACKGROUND, _UTIL_ASSIST, _UTIL_SWEEP, _UTIL_PER_PROC = 1, 2, 4, 8, 16


def _util_flags(stw: bool, background: bool, assist: bool, sweep: bool, per_proc: bool) -> int:
    return (
        (_UTIL_STW if stw else 0)
        | (_UTIL_BACKGROUND if background else 0)
        | (_UTIL_ASSIST if assist else 0)
        | (_UTIL_SWEEP if sweep else 0)
        | (_UTIL_PER_PROC if per_proc else 0)
    )


#: ``progress(bytes_done, total_bytes)``; ``total_bytes`` is None when unknown (a pipe).
Progress = Callable[[int, "int | None"], object]


def _source_data(source: Source) -> bytes | bytearray | memoryview:
    """The bytes of a non-path ``source`` (a file object is read whole)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"file object returned {type(data).__name__}, not bytes: open it in binary mode"
            )
        return data
    try:
        return memoryview(cast(Any, source))  # any other buffer (numpy uint8 array, mmap, ...)
    except TypeError:
        raise TypeError(
            "source must be a path (str or os.PathLike), bytes-like, or a binary file object, "
            f"not {type(source).__name__}"
        ) from None


def _parse_raw(
    source: Source,
    progress: Progress | None = None,
    max_events: int | None = None,
    threads: int | None = None,
) -> _native.RawTrace:
    if isinstance(source, (str, os.PathLike)):
        return _native.parse_path(os.fsdecode(source), progress, max_events, threads)
    return _native.parse_bytes(_source_data(source), progress, max_events, threads)


def _check_threads(threads: int | None) -> None:
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be None or a positive int, not {threads!r}")


def _raise_for(raw: _native.RawTrace, source: Source, partial: Trace | None) -> None:
    """Raises the error a parse ended with, if any."""
    if raw.error is None:
        return
    kind, message, offset, _ = raw.error
    if kind == "io":  # the file could not be read to its end: not the trace's fault
        raise OSError(f"{message} (after {offset} bytes of {source!r})")
    raise error_from_tuple(raw.error, partial=partial)


def parse(
    source: Source,
    *,
    progress: Progress | None = None,
    max_events: int | None = None,
    threads: int | None = None,
) -> Trace:
    """Parses a Go execution trace.

    ``source`` is a path (``str`` or ``os.PathLike``; a regular file is memory-mapped,
    anything else such as a pipe is read as a stream), the trace's bytes (``bytes``,
    ``bytearray``, ``memoryview`` or another buffer) or a binary file object (its
    ``read()`` result is parsed). The GIL is released while parsing; Ctrl-C stops it
    (within a few tens of ms).

    ``progress``, if given, is called as ``progress(bytes_done, total_bytes)`` from the
    calling thread while the parse runs (at most every 50 ms, at generation boundaries;
    ``total_bytes`` is None for a stream of unknown size) and once at the end with
    ``bytes_done == total_bytes``. An exception it raises stops the parse and propagates.

    ``max_events`` bounds the work and memory spent on an unknown input: a trace with
    more events raises :class:`LimitError`, whose ``partial`` holds exactly the first
    ``max_events`` events (``.generation`` names the generation being read, ``.offset``
    the bytes read so far). None (the default) means no limit.

    ``threads`` is how many threads the parse may use: ``None`` (the default) means one
    per core (``RAYON_NUM_THREADS`` overrides that count), ``1`` parses on the calling
    thread only. The result never depends on it.

    Raises:
        TraceFormatError, UnsupportedVersionError, TraceValidationError: the trace is
            broken; the exception's ``partial`` holds a :class:`Trace` with the events
            Go's reader yields before the error.
        LimitError: more than ``max_events`` events.
        OSError: the file cannot be read (``FileNotFoundError``, ...).
        TypeError: ``source`` is none of the above.
        ValueError: ``threads`` is not None or a positive int.
    """
    if max_events is not None:
        if isinstance(max_events, bool) or not isinstance(max_events, int):
            raise TypeError(f"max_events must be an int or None, not {type(max_events).__name__}")
        if max_events < 0:
            raise ValueError(f"max_events must be >= 0, not {max_events}")
        max_events = min(max_events, 2**64 - 1)
    _check_threads(threads)
    raw = _parse_raw(source, progress, max_events, threads)
    trace = Trace(raw)
    _raise_for(raw, source, trace)
    return trace
