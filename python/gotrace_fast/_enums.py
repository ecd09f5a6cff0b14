"""Go's ``internal/trace`` enumerations, with Go's numbering."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["NO_TASK", "EventKind", "GoState", "ProcState", "ResourceKind"]

#: Task ID meaning "no task" (Go's ``trace.NoTask``), as an unsigned 64-bit value.
NO_TASK = 2**64 - 1


class EventKind(IntEnum):
    """Go's ``trace.EventKind``; ``str()`` gives Go's ``String()``."""

    Bad = 0
    Sync = 1
    Metric = 2
    Label = 3
    StackSample = 4
    RangeBegin = 5
    RangeActive = 6
    RangeEnd = 7
    TaskBegin = 8
    TaskEnd = 9
    RegionBegin = 10
    RegionEnd = 11
    Log = 12
    StateTransition = 13
    Experimental = 14

    def __str__(self) -> str:
        return self.name


class GoState(IntEnum):
    """Go's ``trace.GoState`` (goroutine transitions: ``from_state``/``to_state``)."""

    Undetermined = 0
    NotExist = 1
    Runnable = 2
    Running = 3
    Waiting = 4
    Syscall = 5

    def __str__(self) -> str:
        return self.name


class ProcState(IntEnum):
    """Go's ``trace.ProcState`` (proc transitions: ``from_state``/``to_state``)."""

    Undetermined = 0
    NotExist = 1
    Running = 2
    Idle = 3

    def __str__(self) -> str:
        return self.name


class ResourceKind(IntEnum):
    """Go's ``trace.ResourceKind``. Go's ``ResourceNone`` is ``None_`` here (``None`` is a
    Python keyword); ``str()`` gives Go's ``String()`` (``"None"``, ``"Goroutine"``, ...)."""

    None_ = 0
    Goroutine = 1
    Proc = 2
    Thread = 3

    def __str__(self) -> str:
        return self.name.rstrip("_")
