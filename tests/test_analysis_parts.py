"""The analysis in parts: intervals, procs, ranges, heatmaps and scheduling metrics use
the state pass alone (``RawTrace.analysis("states")``), and ``Trace.analysis`` asked
afterwards adds only Go's goroutine summaries. Every table must equal the one-call
analysis', whichever part came first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gotrace_fast as gt
import oracle


def _traces() -> list[Any]:
    params = [pytest.param(gt.example_path(), id="example")]
    if oracle.HAVE_SHARED:
        params += [
            pytest.param(p, id=p.name)
            for p in sorted(oracle.CORPUS.glob("*.trace"))
            if p.stat().st_size <= oracle.SLOW_BYTES
        ]
    return params


def _same(a: Any, b: Any, what: str) -> None:
    assert list(a.columns) == list(b.columns), what
    for col in a.columns:
        np.testing.assert_array_equal(a[col], b[col], err_msg=f"{what}.{col}")


@pytest.mark.parametrize("path", _traces())
def test_parts_equal_the_whole(path: Path) -> None:
    whole = gt.parse(path)
    a = whole.analysis
    parts = gt.parse(path)
    # The state pass alone: nothing of the summaries is computed.
    for res in ("goroutine", "proc", "thread"):
        _same(parts.intervals(res), a.intervals[res], res)
    _same(parts.procs, a.procs, "procs")
    _same(parts.ranges, a.ranges, "ranges")
    ids, names = parts._goroutine_names()
    np.testing.assert_array_equal(ids, a.goroutines.id)
    np.testing.assert_array_equal(names, a.goroutines.name)
    h = parts.heatmap(50, top=5)
    f = parts.heatmap(50, by="function")
    assert parts.sched_latency(by="function") == whole.sched_latency(by="function")
    assert "analysis" not in parts._side
    np.testing.assert_array_equal(h.values, whole.heatmap(50, top=5).values)
    assert h.row_labels == whole.heatmap(50, top=5).row_labels
    assert f.row_labels == whole.heatmap(50, by="function").row_labels
    # ... then the summaries, joined to the states computed before.
    b = parts.analysis
    for res in ("goroutine", "proc", "thread"):
        _same(b.intervals[res], a.intervals[res], res)
    for name in ("goroutines", "goroutine_states", "procs", "regions", "ranges"):
        _same(getattr(b, name), getattr(a, name), name)
    assert b.goroutines_json() == a.goroutines_json()
    assert b.task_summaries_json() == a.task_summaries_json()
    assert b.ranges_json() == a.ranges_json()
    assert (b.gc, b.stw, b.state_time_ns()) == (a.gc, a.stw, a.state_time_ns())
    # The state tables now come from the analysis.
    assert parts.intervals("goroutine") is b.intervals["goroutine"]


def test_bad_part() -> None:
    t = gt.parse(gt.example_path())
    with pytest.raises(ValueError, match="part must be"):
        t._raw.analysis("everything")
