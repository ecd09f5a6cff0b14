"""Plots of :class:`~gotrace_fast.Heatmap` (the only module that imports matplotlib,
and only when one of its functions runs: install the ``plot`` extra)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from ._heatmap import MAX_PLOT_ROWS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._heatmap import Heatmap

__all__ = ["heatmap_png", "heatmap_png_bytes", "plot_heatmap"]

#: At most this many row labels are written on the y axis (every k-th row beyond).
MAX_ROW_LABELS = 40


def _time_unit(span_ns: int) -> tuple[str, float]:
    return ("s", 1e9) if span_ns >= 5e9 else ("ms", 1e6)


def _figsize(rows: int) -> tuple[float, float]:
    return (11.0, min(2.0 + 0.22 * max(rows, 4), 14.0))


def plot_heatmap(
    hm: Heatmap,
    ax: Axes | None = None,
    *,
    norm: str = "log",
    cmap: Any = None,
    gc: bool = True,
    stw: bool = True,
    colorbar: bool = True,
    max_rows: int | None = MAX_PLOT_ROWS,
    **kwargs: Any,
) -> Axes:
    """Draws ``hm`` on ``ax`` (a new figure if None) and returns the Axes.

    Time runs along x in ms (or s for traces of 5 s and more) from the trace's first
    event; one row per heatmap row, labelled (at most :data:`MAX_ROW_LABELS` labels).
    A heatmap with more than ``max_rows`` rows (a big trace's goroutines) is drawn as
    ``hm.top(max_rows)``: its first rows (the largest, with the default ``sort``) and an
    ``other`` row summing the rest, which a figure can show (None: every row). The
    colour bar names the unit of a cell. ``norm``: ``"log"`` (zero cells left blank) or
    ``"linear"``. ``gc``/``stw``: shade the GC mark phases (green) / stop-the-world pauses
    (red) along the time axis. Other ``kwargs`` go to ``Axes.imshow`` (uniform bins) or
    ``Axes.pcolormesh``.
    """
    import matplotlib.colors as mcolors

    if max_rows is not None:
        hm = hm.top(max_rows)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=_figsize(hm.values.shape[0]), layout="constrained")
    t0 = hm.trace_start
    unit, scale = _time_unit(int(hm.edges[-1] - hm.edges[0]) if len(hm.edges) else 0)
    x = (hm.edges - t0) / scale
    y = np.arange(hm.values.shape[0] + 1) - 0.5
    vals = hm.values
    if norm == "log":
        pos = vals[vals > 0]
        if pos.size:
            nrm: Any = mcolors.LogNorm(vmin=float(pos.min()), vmax=float(pos.max()))
        else:
            nrm = mcolors.Normalize(vmin=0, vmax=1)
        data = np.ma.masked_less_equal(vals, 0)
    elif norm == "linear":
        vmax = float(vals.max()) if vals.size and vals.max() > 0 else 1.0
        nrm = mcolors.Normalize(vmin=0, vmax=vmax)
        data = np.ma.masked_array(vals)
    else:
        raise ValueError(f"norm must be 'log' or 'linear', not {norm!r}")
    widths = np.diff(hm.edges)
    uniform = bool(len(widths)) and widths.max() - widths.min() <= max(1, widths.max() // 100)
    if uniform:
        # (Nearly) uniform bins: an image, far faster than a mesh for many rows.
        mesh: Any = ax.imshow(
            data,
            norm=nrm,
            cmap=cmap or "viridis",
            aspect="auto",
            interpolation="nearest",
            extent=(x[0], x[-1], y[-1], y[0]),
            **kwargs,
        )
    else:
        mesh = ax.pcolormesh(x, y, data, norm=nrm, cmap=cmap or "viridis", shading="flat", **kwargs)
    ax.set_ylim(y[-1], y[0])  # first row on top
    n = len(hm.row_labels)
    step = max(1, -(-n // MAX_ROW_LABELS))
    ticks = np.arange(0, n, step)
    ax.set_yticks(ticks)
    ax.set_yticklabels([hm.row_labels[i] for i in ticks], fontsize=7 if n > 15 else 9)
    ax.set_xlabel(f"time since trace start ({unit})")
    ax.set_ylabel(hm.by)
    ax.set_title(
        f"{', '.join(hm.state)} time by {hm.by}"
        if hm.value != "count"
        else f"transitions into {', '.join(hm.state)} by {hm.by}"
    )
    ax.set_xlim(x[0], x[-1])
    if gc and len(hm.gc):
        for k, (b, e) in enumerate(hm.gc.tolist()):
            ax.axvspan(
                (b - t0) / scale,
                (e - t0) / scale,
                color="tab:green",
                alpha=0.12,
                lw=0,
                label="GC mark" if k == 0 else None,
            )
    if stw and len(hm.stw):
        for k, (b, e) in enumerate(hm.stw.tolist()):
            ax.axvspan(
                (b - t0) / scale,
                (e - t0) / scale,
                color="tab:red",
                alpha=0.35,
                lw=0,
                label="stop-the-world" if k == 0 else None,
            )
    if (gc and len(hm.gc)) or (stw and len(hm.stw)):
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    if colorbar:
        cb = ax.figure.colorbar(mesh, ax=ax, pad=0.01)
        label = hm.unit
        if uniform and hm.value != "fraction":
            label += f" (bins of {float(widths.mean()) / scale:.3g} {unit})"
        cb.set_label(label)
    return ax


def heatmap_png_bytes(hm: Heatmap, dpi: int = 100, **kwargs: Any) -> bytes:
    """The plot as PNG bytes (used by ``Heatmap._repr_png_``)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=_figsize(hm.values.shape[0]), layout="constrained")
    plot_heatmap(hm, fig.subplots(), **kwargs)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def heatmap_png(hm: Heatmap, path: Any, dpi: int = 100, **kwargs: Any) -> None:
    """Writes the plot of ``hm`` to ``path`` as PNG."""
    with open(path, "wb") as f:
        f.write(heatmap_png_bytes(hm, dpi=dpi, **kwargs))
