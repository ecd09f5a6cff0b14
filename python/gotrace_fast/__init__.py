"""gotrace_fast: a fast Go execution trace parser (Rust core, numpy columns).

>>> import gotrace_fast
>>> trace = gotrace_fast.parse(gotrace_fast.example_path())
>>> trace.counts_by_kind()["Sync"] > 0
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._enums import NO_TASK, EventKind, GoState, ProcState, ResourceKind
from ._heatmap import Heatmap
from ._sched import DurationStats, Fairness
from ._stream import TraceSummary, heatmap, summary
from ._trace import EventTable, Frame, StringTable, Trace, parse
from .exceptions import (
    LimitError,
    TraceError,
    TraceFormatError,
    TraceValidationError,
    UnsupportedVersionError,
)

if TYPE_CHECKING:
    from pathlib import Path

__version__ = "0.1.0"

__all__ = [
    "NO_TASK",
    "DurationStats",
    "EventKind",
    "EventTable",
    "Fairness",
    "Frame",
    "GoState",
    "Heatmap",
    "LimitError",
    "ProcState",
    "ResourceKind",
    "StringTable",
    "Trace",
    "TraceError",
    "TraceFormatError",
    "TraceSummary",
    "TraceValidationError",
    "UnsupportedVersionError",
    "example_path",
    "heatmap",
    "parse",
    "summary",
]


def example_path() -> Path:
    """Path of the packaged example trace (Go 1.27.3, ``mixed`` workload, 200 ms, 4 procs)."""
    from pathlib import Path  # not at import time: pathlib costs ~10 ms to import

    return Path(__file__).parent / "data" / "example.trace"
