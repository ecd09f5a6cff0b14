"""State intervals, Go's goroutine summary, procs and ranges (computed by the extension in
one pass, see ``gotrace_core::analysis``), as numpy tables and as the oracle's
``tracecheck-summary/1`` sections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._enums import EventKind, GoState, ProcState

if TYPE_CHECKING:
    from typing import Protocol

    class _Strings(Protocol):
        def string(self, i: int) -> str: ...


__all__ = ["Analysis", "Table"]

#: ``resource`` argument of :meth:`Trace.intervals` -> state enum of its ``state`` column.
INTERVAL_STATES: dict[str, type[GoState] | type[ProcState]] = {
    "goroutine": GoState,
    "proc": ProcState,
    "thread": GoState,
}

_EXEC_FIELDS = (
    "exec_ns",
    "sched_wait_ns",
    "syscall_ns",
    "syscall_block_ns",
    "total_ns",
    "unknown_ns",
)


class Table:
    """Columns of one length (read-only numpy arrays), by attribute or by ``table[name]``."""

    def __init__(self, columns: dict[str, np.ndarray], states: type | None = None) -> None:
        self._cols = columns
        for a in columns.values():
            a.flags.writeable = False
        #: IntEnum of the ``state`` column (interval tables only).
        self.states = states

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            col: np.ndarray = self.__dict__["_cols"][name]
            return col
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        return dict(self._cols)

    def state_of(self, i: int) -> Any:
        """The ``state`` of row ``i`` as the enum member."""
        assert self.states is not None
        return self.states(int(self._cols["state"][i]))

    def __repr__(self) -> str:
        return f"<Table {len(self)} rows: {', '.join(self._cols)}>"


def _group(
    rows: np.ndarray, keys: np.ndarray, ns: np.ndarray, n: int, name: Any
) -> list[dict[str, int]]:
    """Per-row dicts from (row, key, ns) triples; key decoded by ``name``."""
    out: list[dict[str, int]] = [{} for _ in range(n)]
    for r, k, v in zip(rows.tolist(), keys.tolist(), ns.tolist(), strict=True):
        d = out[r]
        s = name(k)
        d[s] = d.get(s, 0) + v
    return out


class Analysis:
    """The analysis of one trace (made once, cached by :class:`Trace`; also the result of
    :func:`gotrace_fast.summary`, whose interval tables are empty).

    ``raw`` is the extension's analysis dict, ``strings`` what resolves its string IDs.
    """

    def __init__(self, raw: dict[str, Any], strings: _Strings) -> None:
        self._strings = strings
        self._raw = raw
        self._names: dict[int, str] = {}
        self.intervals = {
            k: Table(v, INTERVAL_STATES[k]) for k, v in raw.get("intervals", {}).items()
        }
        gs = raw["goroutine_states"]
        self.goroutine_states = Table(
            {k: v for k, v in gs.items() if not k.startswith("by_reason_")}
        )
        self._waiting = (gs["by_reason_row"], gs["by_reason_key"], gs["by_reason_ns"])
        self.procs = Table(raw["procs"])
        g = raw["goroutines"]
        self.goroutines = Table(
            {k: v for k, v in g.items() if not k.startswith(("block_", "range_"))}
        )
        self._g_maps = g
        self.regions = Table(
            {k: v for k, v in raw["regions"].items() if not k.startswith(("block_", "range_"))}
        )
        self._r_maps = raw["regions"]
        self._tasks = raw["tasks"]
        self.ranges = Table(raw["range_table"])
        self._range_counts = raw["range_counts"]
        self.gc: dict[str, int] = raw["gc"]
        self.stw: dict[str, Any] = raw["stw"]

    def name(self, i: int) -> str:
        s = self._names.get(i)
        if s is None:
            s = self._names[i] = self._strings.string(i)
        return s

    # -- the oracle's sections ------------------------------------------------------------

    def state_time_ns(self) -> dict[str, dict[str, int]]:
        g, p = self.goroutine_states, self.procs
        return {
            "goroutine": {
                "Running": int(g.running_ns.sum()),
                "Runnable": int(g.runnable_ns.sum()),
                "Waiting": int(g.waiting_ns.sum()),
                "Syscall": int(g.syscall_ns.sum()),
            },
            "proc": {"Running": int(p.running_ns.sum()), "Idle": int(p.idle_ns.sum())},
        }

    def procs_json(self) -> list[dict[str, Any]]:
        p = self.procs
        cols = ("id", "running_ns", "running_intervals", "idle_ns", "transitions")
        lists = {c: p[c].tolist() for c in cols}
        at_end = p.running_at_end.tolist()
        return [
            {**{c: lists[c][i] for c in cols}, "running_at_end": at_end[i]} for i in range(len(p))
        ]

    def goroutine_states_json(self) -> list[dict[str, Any]]:
        g = self.goroutine_states
        n = len(g)
        cols = (
            "id",
            "first_ns",
            "running_ns",
            "runnable_ns",
            "waiting_ns",
            "syscall_ns",
            "intervals",
            "lifetimes",
        )
        lists = {c: g[c].tolist() for c in cols}
        has_end, end = g.has_end.tolist(), g.end_ns.tolist()
        by_reason = _group(*self._waiting, n, self.name)
        out = []
        for i in range(n):
            d = {c: lists[c][i] for c in cols}
            d["end_ns"] = end[i] if has_end[i] else None
            d["waiting_ns_by_reason"] = by_reason[i]
            out.append(d)
        return out

    def _exec_records(self, t: Table, maps: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        n = len(t)
        lists = {c: t[c].tolist() for c in _EXEC_FIELDS}
        block = _group(maps["block_row"], maps["block_key"], maps["block_ns"], n, self.name)
        rng = _group(maps["range_row"], maps["range_key"], maps["range_ns"], n, self.name)
        return [
            {
                **{c: lists[c][i] for c in _EXEC_FIELDS},
                "block_ns_by_reason": block[i],
                "range_ns": rng[i],
            }
            for i in range(n)
        ]

    def goroutines_json(self, regions: bool = True) -> list[dict[str, Any]]:
        """Go's ``trace.Summarizer`` goroutines (the oracle's ``goroutines``), plus
        ``creator`` and ``creation_stack`` (not in the oracle)."""
        g = self.goroutines
        n = len(g)
        recs = self._exec_records(g, self._g_maps)
        cols = ("id", "pc", "creation_time_ns", "start_time_ns", "end_time_ns", "creator")
        lists = {c: g[c].tolist() for c in cols}
        names, system = g.name.tolist(), g.is_system.tolist()
        stacks = g.creation_stack.tolist()
        regs: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        if regions:
            r = self.regions
            rrecs = self._exec_records(r, self._r_maps)
            rows = r.goroutine_row.tolist()
            task, rname = r.task_id.tolist(), r.name.tolist()
            st, sk, et, ek = (
                r[c].tolist() for c in ("start_ns", "start_kind", "end_ns", "end_kind")
            )
            for j, row in enumerate(rows):
                regs[row].append(
                    {
                        "task_id": task[j],
                        "name": self.name(rname[j]),
                        "start_ns": st[j] if sk[j] >= 0 else None,
                        "start_kind": str(EventKind(sk[j])) if sk[j] >= 0 else None,
                        "end_ns": et[j] if ek[j] >= 0 else None,
                        "end_kind": str(EventKind(ek[j])) if ek[j] >= 0 else None,
                        **rrecs[j],
                    }
                )
        out = []
        for i in range(n):
            d = {c: lists[c][i] for c in cols}
            d["name"] = self.name(names[i])
            d["is_system"] = system[i]
            d["creation_stack"] = stacks[i]
            d.update(recs[i])
            d["regions"] = regs[i]
            out.append(d)
        return out

    def ranges_json(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {
            k: {} for k in ("begin", "active", "end", "time_ns", "completed", "open_at_end")
        }
        for name, begin, active, end, time_ns, completed, open_at_end in self._range_counts:
            s = self.name(name)
            for key, v in (
                ("begin", begin),
                ("active", active),
                ("end", end),
                ("completed", completed),
                ("open_at_end", open_at_end),
            ):
                if v:
                    out[key][s] = v
            if completed:
                out["time_ns"][s] = time_ns
        return out

    def task_summaries_json(self) -> list[dict[str, Any]]:
        """Go's ``Summary.Tasks`` as the oracle's ``task_summaries``."""
        t = self._tasks
        n = len(t["id"])
        cols = {c: t[c].tolist() for c in t}
        children: list[list[int]] = [[] for _ in range(n)]
        for r, c in zip(cols["children_row"], cols["children_id"], strict=True):
            children[r].append(c)
        gor: list[list[int]] = [[] for _ in range(n)]
        for r, g in zip(cols["goroutines_row"], cols["goroutines_id"], strict=True):
            gor[r].append(g)
        out = []
        for i in range(n):
            out.append(
                {
                    "id": cols["id"][i],
                    "name": self.name(cols["name"][i]),
                    "parent_id": cols["parent"][i] if cols["has_parent"][i] else None,
                    "children": children[i],
                    "start_ns": cols["start_ns"][i] if cols["start_kind"][i] >= 0 else None,
                    "end_ns": cols["end_ns"][i] if cols["end_kind"][i] >= 0 else None,
                    "complete": cols["start_kind"][i] >= 0 and cols["end_kind"][i] >= 0,
                    "logs": cols["logs"][i],
                    "regions": cols["regions"][i],
                    "goroutines": gor[i],
                }
            )
        return out
