"""Errors raised for broken or unsupported traces.

All derive from :class:`TraceError`, itself a :class:`ValueError` (the input is bad).
I/O problems are never wrapped: they raise :class:`OSError` (``FileNotFoundError``...).

The only place where the extension's error tuples become exceptions is
:func:`error_from_tuple`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = [
    "LimitError",
    "TraceError",
    "TraceFormatError",
    "TraceValidationError",
    "UnsupportedVersionError",
    "error_from_tuple",
]


class TraceError(ValueError):
    """The trace could not be read completely.

    Attributes:
        message: the parser's message (Go's wording where Go has one).
        kind: ``"format"``, ``"unsupported_version"``, ``"validation"``, ``"limit"`` or
            ``"internal"``.
        offset: byte offset in the input where the problem was found, or None.
        generation: the generation the problem belongs to (v2 traces), or None.
        partial: a :class:`~gotrace_fast.Trace` holding the events Go's reader yields
            before the error (set by :func:`gotrace_fast.parse`), or None.
    """

    kind = "internal"

    def __init__(
        self,
        message: str,
        offset: int | None = None,
        generation: int | None = None,
        partial: Trace | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.generation = generation
        self.partial = partial

    @property
    def location(self) -> str:
        """Where the problem is, e.g. ``"byte offset 1894, generation 1"`` ("" if unknown)."""
        where = []
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        if self.generation is not None:
            where.append(f"generation {self.generation}")
        return ", ".join(where)

    def __str__(self) -> str:
        where = self.location
        return f"{self.message} ({where})" if where else self.message


class TraceFormatError(TraceError):
    """The bytes do not follow the wire format (bad header, varint, batch, table entry)."""

    kind = "format"


class UnsupportedVersionError(TraceError):
    """The header names a trace version this build cannot read."""

    kind = "unsupported_version"


class TraceValidationError(TraceError):
    """Well-formed bytes describing an impossible execution (ordering, state machine)."""

    kind = "validation"


class LimitError(TraceError):
    """The trace has more events than the ``max_events`` given to :func:`~gotrace_fast.parse`.

    Not a property of the trace: ``partial`` holds its first ``max_events`` events.
    """

    kind = "limit"


_BY_KIND: dict[str, type[TraceError]] = {
    cls.kind: cls
    for cls in (TraceFormatError, UnsupportedVersionError, TraceValidationError, LimitError)
}


def error_from_tuple(err: tuple[str, str, Any, Any], partial: Trace | None = None) -> TraceError:
    """Builds the exception for an extension error tuple ``(kind, message, offset, generation)``.

    Unknown kinds (``"internal"``: a bug in the parser, never a property of the trace)
    give a plain :class:`TraceError`.
    """
    kind, message, offset, generation = err
    cls = _BY_KIND.get(kind, TraceError)
    return cls(message, offset=offset, generation=generation, partial=partial)
