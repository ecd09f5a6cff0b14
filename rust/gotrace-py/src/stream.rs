//! Streaming analyses (`gotrace_core::stream`): the reader hands its events to the
//! analysis in chunks and drops them, so no event table is kept.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;

use gotrace_core::analysis::distinct::DistinctIds;
use gotrace_core::analysis::heat::{HeatResult, HeatStream};
use gotrace_core::analysis::intervals::NoIntervals;
use gotrace_core::analysis::summary::{Analysis, Analyzer};
use gotrace_core::export::tsv::write_events;
use gotrace_core::store::{Row, Trace};
use gotrace_core::stream::{v2_extent, v2_extent_with, Consumer, DRAINED};
use gotrace_core::ParseOptions;
use numpy::ndarray::Array2;
use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::heat::{set_matrix, spec};
use crate::{analysis_dict, guard, raise_error, release_mapped, run_detached, Input, RawTrace};

/// `(first, last)` event times of a v2 trace from its first and last generations alone
/// (`gotrace_core::stream::v2_extent`); None for v1 traces, streams that cannot be
/// mapped (pipes) and traces whose first or last generation does not parse alone.
#[pyfunction]
fn stream_extent(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Option<(i64, i64)>> {
    let (input, _) = Input::open(source)?;
    let r = match &input {
        Input::Map(m) => {
            let mut released = 0;
            py.detach(|| {
                guard(|| v2_extent_with(m, &mut |n| released = release_mapped(m, released, n)))
            })
        }
        Input::Mem(d) => py.detach(|| guard(|| v2_extent(d))),
        Input::Stream(_) => return Ok(None),
    };
    r.map_err(|e| raise_error(py, e))
}

/// Events seen by a streaming analysis.
#[derive(Default)]
struct Seen {
    n: u64,
    counts: [u64; 15],
    first: Option<i64>,
    last: Option<i64>,
    ids: DistinctIds,
}

impl Seen {
    fn add(&mut self, t: &Trace) {
        let ev = &t.events;
        self.n += ev.len() as u64;
        for (c, k) in self.counts.iter_mut().zip(ev.counts_by_kind()) {
            *c += k;
        }
        if let (Some(&a), Some(&b)) = (ev.time.first(), ev.time.last()) {
            self.first.get_or_insert(a);
            self.last = Some(b);
        }
        self.ids.add(ev);
    }

    fn dict<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("events", self.n)?;
        d.set_item("counts_by_kind", self.counts.to_vec())?;
        d.set_item("start_ns", self.first)?;
        d.set_item("end_ns", self.last)?;
        let [g, p, m] = self.ids.into_sorted();
        d.set_item("goroutine_ids", g.into_pyarray(py))?;
        d.set_item("proc_ids", p.into_pyarray(py))?;
        d.set_item("thread_ids", m.into_pyarray(py))?;
        Ok(d)
    }
}

/// The analysis of `parse(source).analysis` without the intervals, computed generation
/// by generation with the GIL released: `(raw, analysis, seen)`, `raw` a `RawTrace`
/// without events (strings, stacks, version, error), `analysis` as
/// `RawTrace.analysis()` with empty interval tables (None if the parse failed), `seen`
/// the event count, counts by kind and first/last event times. `progress` and `threads`
/// as for `parse_path`.
#[pyfunction]
#[pyo3(signature = (source, progress=None, threads=None))]
fn stream_summary<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    progress: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<(RawTrace, Option<Bound<'py, PyDict>>, Bound<'py, PyDict>)> {
    let (input, total) = Input::open(source)?;
    let opts = ParseOptions { threads, ..DRAINED };
    let r = run_detached(
        py,
        progress,
        total,
        |hook| {
            let mut an: Option<Analyzer<NoIntervals>> = None;
            let mut seen = Seen::default();
            let trace = input.drain(
                &opts,
                &mut |t| {
                    an.get_or_insert_with(|| Analyzer::new(t.version, NoIntervals))
                        .feed(t);
                    seen.add(t);
                },
                hook,
            );
            let a = an
                .unwrap_or_else(|| Analyzer::new(trace.version, NoIntervals))
                .finish_sink(&trace)
                .0;
            (trace, a, seen)
        },
        |r: &(Trace, Analysis, Seen)| r.0.error.is_none(),
    )?;
    match r {
        Ok((trace, a, seen)) => {
            let d = analysis_dict(py, &trace, a)?;
            d.del_item("intervals")?;
            let seen = seen.dict(py)?;
            Ok((RawTrace::new(Ok(trace)), Some(d), seen))
        }
        Err(e) => Ok((RawTrace::new(Err(e)), None, Seen::default().dict(py)?)),
    }
}

/// Parses `source` a chunk at a time (no event table), passing each chunk's events as
/// `tracecheck-events/1` lines to `write(bytes)` (the GIL taken back for each call),
/// including the events before an error; returns the `RawTrace` without events, whose
/// `error` is the parse's. An exception raised by `write` stops the parse and is raised.
/// `progress` and `threads` as for `parse_path`.
#[pyfunction]
#[pyo3(signature = (source, write, progress=None, threads=None))]
fn stream_events_tsv(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    write: &Bound<'_, PyAny>,
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<RawTrace> {
    let (input, total) = Input::open(source)?;
    let opts = ParseOptions { threads, ..DRAINED };
    let write = write.clone().unbind();
    // Set by the consumer (which may run on a thread of its own) when `write` failed:
    // the reader's hook then stops the parse.
    let stop = AtomicBool::new(false);
    let failed: Mutex<Option<PyErr>> = Mutex::new(None);
    let r = run_detached(
        py,
        progress,
        total,
        |hook| {
            let mut buf = Vec::new();
            input.drain(
                &opts,
                &mut |t| {
                    if stop.load(Relaxed) || t.events.is_empty() {
                        return;
                    }
                    buf.clear();
                    let formatted = write_events(t, &mut buf, 0, t.events.len());
                    let err = Python::attach(|py| match formatted {
                        Ok(()) => write.call1(py, (PyBytes::new(py, &buf),)).err(),
                        Err(e) => Some(raise_error(
                            py,
                            crate::internal_error_tuple(&format!("writing events: {e}")),
                        )),
                    });
                    if let Some(e) = err {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        stop.store(true, Relaxed);
                    }
                },
                &mut |t, done| stop.load(Relaxed) || hook(t, done),
            )
        },
        |t: &Trace| t.error.is_none() && !stop.load(Relaxed),
    )?;
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(RawTrace::new(r))
}

fn heat_dict<'py>(py: Python<'py>, h: HeatResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    set_matrix(&d, h.matrix)?;
    let pairs = |v: Vec<(i64, i64)>| {
        let flat: Vec<i64> = v.iter().flat_map(|&(a, b)| [a, b]).collect();
        Array2::from_shape_vec((v.len(), 2), flat).map(|a| a.into_pyarray(py))
    };
    let err = |e: numpy::ndarray::ShapeError| PyValueError::new_err(e.to_string());
    d.set_item("gc", pairs(h.gc).map_err(err)?)?;
    d.set_item("stw", pairs(h.stw).map_err(err)?)?;
    d.set_item("start_ns", h.start)?;
    d.set_item("end_ns", h.end)?;
    Ok(d)
}

/// A streaming heatmap as a drain's consumer, made at the first events (a v1 reader
/// hands over empty tables while it merges, before its prediction exists) by `new`.
struct HeatConsumer<F> {
    heat: Option<HeatStream>,
    new: F,
}

impl<F: FnMut(&Trace) -> HeatStream> Consumer for HeatConsumer<F> {
    fn rows(&mut self, t: &Trace) {
        if self.heat.is_some() || !t.events.is_empty() {
            self.heat.get_or_insert_with(|| (self.new)(t)).feed(t)
        }
    }

    fn by_row(&mut self, t: &Trace) -> bool {
        self.heat.get_or_insert_with(|| (self.new)(t)).by_row(t)
    }

    fn row(&mut self, r: &Row, t: &Trace) {
        if let Some(h) = &mut self.heat {
            h.row(r, t)
        }
    }
}

/// The heatmap of `parse(source).heatmap(...)` computed generation by generation with the
/// GIL released, intervals binned as they close (`gotrace_core::analysis::heat`):
/// `(raw, heat)`, `raw` a `RawTrace` without events (strings, version, error), `heat` a
/// dict (None if the parse failed): `values`, `row_ids`, `names`, `other` as
/// `heat_matrix`, `gc`/`stw` [k, 2], `start_ns`/`end_ns`, `edges` (those used).
/// Arguments are checked by the caller: `states` are state codes, `edges` valid.
/// `predict` = (bins, start, end): for a v1 trace, `edges` are instead `bins` uniform
/// bins from `start` (default: the predicted first event) to `end` (default: the
/// predicted last event; moved up to `start` if before it), the prediction being the
/// one the v1 reader makes between its merge and its conversion; the caller compares
/// them with the edges of the real `start_ns`/`end_ns`.
#[pyfunction]
#[pyo3(signature = (source, by, states, value, edges, top, sort, progress=None, threads=None, predict=None))]
#[allow(clippy::too_many_arguments)]
fn stream_heatmap<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    by: &str,
    states: Vec<u8>,
    value: &str,
    edges: Vec<i64>,
    top: Option<usize>,
    sort: &str,
    progress: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
    predict: Option<(usize, Option<i64>, Option<i64>)>,
) -> PyResult<(RawTrace, Option<Bound<'py, PyDict>>)> {
    let spec = spec(by, states, value, edges, top, sort)?;
    let (input, total) = Input::open(source)?;
    let opts = ParseOptions { threads, ..DRAINED };
    let r = run_detached(
        py,
        progress,
        total,
        |hook| {
            // Rows that can no longer reach the top are dropped while streaming, unless
            // the input cannot be read a second time (a stream): a broken trace that
            // brings a dropped goroutine back is then streamed again keeping every row.
            let again = input.bytes().is_some();
            let new = |t: &Trace, prune: bool| {
                let mut s = spec.clone();
                if let Some((n, start, end)) = predict {
                    let (a, b) = t.predicted_extent.unwrap_or((0, 0));
                    let t0 = start.unwrap_or(a);
                    let t1 = end.unwrap_or(b).max(t0);
                    s.edges = gotrace_core::binning::uniform_edges(t0, t1, n.max(1));
                }
                let h = HeatStream::new(t.version, s);
                if prune {
                    h
                } else {
                    h.without_pruning()
                }
            };
            let run = |prune: bool, hook: &mut gotrace_core::Hook| {
                let mut c = HeatConsumer {
                    heat: None,
                    new: |t: &Trace| new(t, prune),
                };
                let trace = input.drain_to(&opts, &mut c, hook);
                let heat = c.heat.unwrap_or_else(|| new(&trace, prune));
                (trace, heat)
            };
            let (mut trace, mut heat) = run(again, hook);
            if heat.conflicted() {
                (trace, heat) = run(false, hook);
            }
            let used = heat.edges().to_vec();
            let h = heat.finish(&trace);
            (trace, h, used)
        },
        |r: &(Trace, HeatResult, Vec<i64>)| r.0.error.is_none(),
    )?;
    match r {
        Ok((trace, h, used)) => {
            let d = heat_dict(py, h)?;
            d.set_item("edges", used.into_pyarray(py))?;
            Ok((RawTrace::new(Ok(trace)), Some(d)))
        }
        Err(e) => Ok((RawTrace::new(Err(e)), None)),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stream_extent, m)?)?;
    m.add_function(wrap_pyfunction!(stream_summary, m)?)?;
    m.add_function(wrap_pyfunction!(stream_events_tsv, m)?)?;
    m.add_function(wrap_pyfunction!(stream_heatmap, m)?)?;
    Ok(())
}
