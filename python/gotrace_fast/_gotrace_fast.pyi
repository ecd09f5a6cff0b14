"""Type stubs for the Rust extension (rust/gotrace-py). Use the `gotrace_fast` API instead."""

from collections.abc import Callable
from os import PathLike
from typing import Any

import numpy as np

EVENT_KIND_NAMES: list[str]

# (kind, message, offset, generation); kind: "format" | "unsupported_version" | "validation" | "internal"
ErrorTuple = tuple[str, str, int | None, int | None]

class RawTrace:
    @property
    def version(self) -> int: ...
    @property
    def generations(self) -> int: ...
    @property
    def error(self) -> ErrorTuple | None: ...
    @property
    def num_strings(self) -> int: ...
    @property
    def num_stacks(self) -> int: ...
    def __len__(self) -> int: ...
    def columns(self) -> dict[str, np.ndarray]: ...
    def counts_by_kind(self) -> list[int]: ...
    def mutator_utilization(self, flags: int) -> list[tuple[np.ndarray, np.ndarray]]: ...
    def mmu(self, flags: int, windows: list[int]) -> tuple[list[float | None], int, int]: ...
    def mmu_worst_windows(self, flags: int, window: int, n: int) -> list[tuple[int, float]]: ...
    @staticmethod
    def kind_names() -> list[str]: ...
    def string(self, i: int) -> str: ...
    def string_bytes(self, i: int) -> bytes: ...
    def stack(self, i: int) -> list[tuple[int, str, str, int]]: ...
    def range_attrs(self) -> np.ndarray: ...
    def u64s(self) -> np.ndarray: ...
    def clock_snapshots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def experimental(self) -> tuple[np.ndarray, np.ndarray]: ...
    def events_tsv(self, start: int = 0, end: int | None = None) -> bytes: ...
    def analysis(self) -> dict[str, Any]: ...

# progress(bytes_done, total_bytes or None)
Progress = Callable[[int, int | None], object]

# threads: None = all cores, 1 = the calling thread only (same result).
def parse_bytes(
    data: bytes | bytearray | memoryview,
    progress: Progress | None = None,
    max_events: int | None = None,
    threads: int | None = None,
) -> RawTrace: ...
def parse_path(
    path: str | PathLike[str],
    progress: Progress | None = None,
    max_events: int | None = None,
    threads: int | None = None,
) -> RawTrace: ...
def _panic_for_test() -> None: ...

# Streaming analyses (gotrace_core::stream); source: a path (str) or bytes-like.
Source = str | bytes | bytearray | memoryview

def stream_extent(source: Source) -> tuple[int, int] | None: ...
def stream_summary(
    source: Source, progress: Progress | None = None, threads: int | None = None
) -> tuple[RawTrace, dict[str, Any] | None, dict[str, Any]]: ...
def _set_prune_min(n: int | None = None) -> None: ...
def stream_heatmap(
    source: Source,
    by: str,
    states: list[int],
    value: str,
    edges: list[int],
    top: int | None,
    sort: str,
    progress: Progress | None = None,
    threads: int | None = None,
) -> tuple[RawTrace, dict[str, Any] | None]: ...

# Scheduling metrics (gotrace_core::analysis::sched); durations in ns.
def sched_wait_index(
    id: np.ndarray, start: np.ndarray, end: np.ndarray, state: np.ndarray
) -> np.ndarray: ...
def duration_stats(durations: np.ndarray, keys: np.ndarray | None = None) -> Any: ...
def fairness(
    g_id: np.ndarray,
    g_start: np.ndarray,
    g_end: np.ndarray,
    g_state: np.ndarray,
    p_id: np.ndarray,
    p_start: np.ndarray,
    p_end: np.ndarray,
    p_state: np.ndarray,
    edges: np.ndarray,
) -> dict[str, np.ndarray]: ...

# Binning kernel (gotrace_core::binning).
def bin_overlap(
    starts: np.ndarray, ends: np.ndarray, rows: np.ndarray, nrows: int, edges: np.ndarray
) -> np.ndarray: ...
def bin_count(times: np.ndarray, rows: np.ndarray, nrows: int, edges: np.ndarray) -> np.ndarray: ...
def uniform_edges(start: int, end: int, bins: int) -> np.ndarray: ...

# Heatmaps (gotrace_core::analysis::heat).
def heat_matrix(
    id: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    state: np.ndarray,
    reason: np.ndarray,
    g_id: np.ndarray,
    g_name: np.ndarray,
    by: str,
    states: list[int],
    value: str,
    edges: list[int],
    top: int | None,
    sort: str,
) -> dict[str, Any]: ...
def heat_labels(raw: RawTrace, by: str, row_ids: np.ndarray, names: np.ndarray) -> list[str]: ...
