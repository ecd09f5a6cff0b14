//! `gotrace_fast._gotrace_fast`: a thin pyo3 layer over `gotrace-core`.
//!
//! Everything user-facing (exceptions, `Trace`, the CLI) lives in the Python package; this
//! module only parses (with the GIL released), exposes the result as a frozen [`RawTrace`]
//! and hands the event columns to numpy without copying.
//!
//! Rules kept here:
//! * No Rust panic reaches Python: every call into the core runs under [`guard`]; a panic
//!   becomes an error of kind `"internal"` (message `internal error: ...`).
//! * Core errors become Python data in one place, [`error_tuple`]; Python objects for
//!   errors are made in one place too, `gotrace_fast.exceptions.error_from_tuple`
//!   (called from [`raise_error`] when this module itself has to raise).

use std::any::Any;
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gotrace_core::store::{IdCol, Trace, EVENT_KIND_NAMES};
use gotrace_core::{ErrorKind, Hook, ParseOptions, TraceError};
use numpy::ndarray::{Array2, ArrayView1};
use numpy::{Element, IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyIndexError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use gotrace_core::analysis::mmu;
use gotrace_core::binning;

mod analysis;
mod heat;
mod sched;
mod stream;

use analysis::analysis_dict;

/// `(kind, message, offset, generation)`; kind is one of `"format"`,
/// `"unsupported_version"`, `"validation"`, `"limit"`, `"internal"` (and `"io"`,
/// `"interrupted"`, which `gotrace_fast.parse` handles itself).
type ErrorTuple = (&'static str, String, Option<u64>, Option<u64>);

/// `(trace_ns, mono_ns, wall_unix_ns)` columns of the clock snapshots.
type ClockArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<i64>>,
);

/// `(times int64, utils float64)` of one mutator utilization series.
type UtilArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f64>>);

/// `(typ, args)` of the experimental events.
type ExperimentalArrays<'py> = (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray2<u64>>);

/// The single mapping from core errors to what Python sees.
fn error_tuple(e: &TraceError) -> ErrorTuple {
    let kind = match e.kind {
        ErrorKind::Format => "format",
        ErrorKind::UnsupportedVersion => "unsupported_version",
        ErrorKind::Validation => "validation",
        ErrorKind::Io => "io",
        ErrorKind::Interrupted => "interrupted",
        ErrorKind::Limit => "limit",
    };
    (kind, e.message.clone(), e.offset, e.generation)
}

fn internal_error_tuple(what: &str) -> ErrorTuple {
    ("internal", format!("internal error: {what}"), None, None)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Runs `f`, turning a panic into an `"internal"` error tuple.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, ErrorTuple> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| internal_error_tuple(&panic_message(&*p)))
}

/// Builds the Python exception for `err` via `gotrace_fast.exceptions.error_from_tuple`.
fn raise_error(py: Python<'_>, err: ErrorTuple) -> PyErr {
    let made = py
        .import("gotrace_fast.exceptions")
        .and_then(|m| m.getattr("error_from_tuple"))
        .and_then(|f| f.call1((err,)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn io_error(e: std::io::Error, path: &std::path::Path) -> PyErr {
    let name = path.to_string_lossy().into_owned();
    match e.raw_os_error() {
        // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...).
        Some(code) => {
            let msg = std::io::Error::from_raw_os_error(code).to_string();
            let msg = match msg.rfind(" (os error") {
                Some(i) => msg[..i].to_owned(),
                None => msg,
            };
            PyOSError::new_err((code, msg, name))
        }
        None => PyErr::from(e),
    }
}

/// The Python side of a long parse: Ctrl-C and the `progress` callback.
struct PyHook {
    progress: Option<Py<PyAny>>,
    total: Option<u64>,
    /// None until the first call (made at the first check, so even a short parse reports).
    last_call: Option<Instant>,
    done: u64,
    pending: Option<PyErr>,
}

/// `progress` is called at most this often (plus once at the end).
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

impl PyHook {
    fn new(progress: Option<&Bound<'_, PyAny>>, total: Option<u64>) -> Self {
        PyHook {
            progress: progress.map(|p| p.clone().unbind()),
            total,
            last_call: None,
            done: 0,
            pending: None,
        }
    }

    /// Takes the GIL back briefly: checks for signals (the signal's exception, e.g.
    /// KeyboardInterrupt, stops the parse) and calls `progress` if it is due. True = stop.
    fn check(&mut self, done: u64) -> bool {
        self.done = self.total.map_or(done, |t| done.min(t));
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                self.pending = Some(e);
                return true;
            }
            if let Some(cb) = &self.progress {
                if self.last_call.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    self.last_call = Some(Instant::now());
                    if let Err(e) = cb.call1(py, (self.done, self.total)) {
                        self.pending = Some(e);
                        return true;
                    }
                }
            }
            false
        })
    }

    /// The final `progress(n, n)` call of a parse that completed.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(cb) = &self.progress {
            let n = self.total.unwrap_or(self.done);
            cb.call1(py, (n, n))?;
        }
        Ok(())
    }
}

/// Runs `work` (a parse, given the reader's hook) with the GIL released; a panic becomes
/// an internal error. The hook takes the GIL back once per generation (v1 traces: every
/// few ms) for Ctrl-C and `progress` (see [`PyHook`]); an exception from either is
/// returned instead of the result. `progress(total, total)` is called when `work` ends
/// without error (`ok` says whether it did).
fn run_detached<R: Send>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    total: Option<u64>,
    work: impl FnOnce(&mut dyn FnMut(&mut Trace, u64) -> bool) -> R + Send,
    ok: impl FnOnce(&R) -> bool,
) -> PyResult<Result<R, ErrorTuple>> {
    let mut hook = PyHook::new(progress, total);
    let result = py.detach(|| guard(|| work(&mut |_, done| hook.check(done))));
    if let Some(e) = hook.pending.take() {
        return Err(e);
    }
    if result.as_ref().is_ok_and(ok) {
        hook.finish(py)?;
    }
    Ok(result)
}

fn trace_ok(t: &Trace) -> bool {
    t.error.is_none()
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// A parsed trace as the core produced it. Immutable.
///
/// Event columns are handed out by [`RawTrace::columns`] as read-only numpy arrays that
/// borrow this object's memory (their `base` is this object), so they cost no copy and
/// keep the trace alive. Callers should cache them (the `gotrace_fast.Trace` wrapper does);
/// each call makes new array objects over the same memory.
#[pyclass(frozen, module = "gotrace_fast._gotrace_fast")]
pub struct RawTrace {
    trace: Trace,
    error: Option<ErrorTuple>,
}

impl RawTrace {
    fn new(result: Result<Trace, ErrorTuple>) -> Self {
        match result {
            Ok(trace) => {
                let error = trace.error.as_ref().map(error_tuple);
                RawTrace { trace, error }
            }
            Err(err) => RawTrace {
                trace: Trace::default(),
                error: Some(err),
            },
        }
    }

    fn n_events(&self) -> usize {
        self.trace.events.len()
    }
}

/// A read-only numpy view of `col`, owned by `owner`.
fn column<'py, T: Element>(owner: &Bound<'py, RawTrace>, col: &[T]) -> Bound<'py, PyArray1<T>> {
    let view = ArrayView1::from(col);
    // SAFETY: `col` is a column of the `Trace` inside `owner`, a frozen pyclass: the trace is
    // never mutated or moved after construction, so the Vec's buffer is neither reallocated
    // nor freed while `owner` lives; the array holds a reference to `owner` as its base.
    let arr = unsafe { PyArray1::borrow_from_array(&view, owner.clone().into_any()) };
    // Read-only; since the base is not a writable buffer, numpy refuses to make it writable again.
    drop(arr.readwrite().make_nonwriteable());
    arr
}

/// [`column`] for a column stored as `i32` or `i64` (see `IdCol`).
fn id_column<'py>(owner: &Bound<'py, RawTrace>, col: &IdCol) -> Bound<'py, PyAny> {
    match col {
        IdCol::Narrow(v) => column(owner, v).into_any(),
        IdCol::Wide(v) => column(owner, v).into_any(),
    }
}

fn check_index(i: isize, len: usize, what: &str) -> PyResult<usize> {
    let n = len as isize;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(PyIndexError::new_err(format!(
            "{what} index {i} out of range (0..{len})"
        )));
    }
    Ok(j as usize)
}

#[pymethods]
impl RawTrace {
    /// Minor version of the trace header (`go 1.N trace`), 0 if unknown.
    #[getter]
    fn version(&self) -> u32 {
        self.trace.version
    }

    /// Number of generations read (v2 traces).
    #[getter]
    fn generations(&self) -> u64 {
        self.trace.generations
    }

    /// None, or `(kind, message, offset, generation)`.
    #[getter]
    fn error(&self) -> Option<ErrorTuple> {
        self.error.clone()
    }

    fn __len__(&self) -> usize {
        self.n_events()
    }

    /// The event columns as a dict name -> read-only 1-D numpy array (no copy).
    /// Names: time, kind, g, p, m, stack, res_kind, from, to, arg, name, aux.
    fn columns<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let ev = &slf.get().trace.events;
        let d = PyDict::new(py);
        d.set_item("time", column(slf, &ev.time))?;
        d.set_item("kind", column(slf, &ev.kind))?;
        d.set_item("g", id_column(slf, &ev.g))?;
        d.set_item("p", id_column(slf, &ev.p))?;
        d.set_item("m", id_column(slf, &ev.m))?;
        d.set_item("stack", column(slf, &ev.stack))?;
        d.set_item("res_kind", column(slf, &ev.res_kind))?;
        d.set_item("from", column(slf, &ev.from))?;
        d.set_item("to", column(slf, &ev.to))?;
        d.set_item("arg", id_column(slf, &ev.arg))?;
        d.set_item("name", column(slf, &ev.name))?;
        d.set_item("aux", column(slf, &ev.aux))?;
        Ok(d)
    }

    /// Event counts indexed by EventKind value (15 entries).
    fn counts_by_kind(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        let ev = &self.trace.events;
        py.detach(|| guard(|| ev.counts_by_kind().to_vec()))
            .map_err(|e| raise_error(py, e))
    }

    /// Mutator utilization functions (Go's `MutatorUtilizationV2`) for `flags` (bits:
    /// 1 STW, 2 background workers, 4 assists, 8 sweep, 16 per proc), as a list of
    /// `(time int64, util float64)` arrays, one per series. Computed without the GIL.
    fn mutator_utilization<'py>(
        &self,
        py: Python<'py>,
        flags: u32,
    ) -> PyResult<Vec<UtilArrays<'py>>> {
        let t = &self.trace;
        match py.detach(|| guard(|| mmu::mutator_utilization(t, flags))) {
            Ok(Ok(series)) => Ok(series
                .into_iter()
                .map(|s| {
                    let times: Vec<i64> = s.iter().map(|u| u.time).collect();
                    let utils: Vec<f64> = s.iter().map(|u| u.util).collect();
                    (times.into_pyarray(py), utils.into_pyarray(py))
                })
                .collect()),
            Ok(Err(e)) => Err(PyValueError::new_err(format!("mutator utilization: {e}"))),
            Err(e) => Err(raise_error(py, e)),
        }
    }

    /// MMU at each window (ns) for `flags` (as in `mutator_utilization`), computed
    /// without the GIL: `(values, series, util_points)`, values None when the
    /// utilization function is empty.
    fn mmu(
        &self,
        py: Python<'_>,
        flags: u32,
        windows: Vec<i64>,
    ) -> PyResult<(Vec<Option<f64>>, usize, usize)> {
        let t = &self.trace;
        match py.detach(|| guard(|| mmu::trace_mmu(t, flags, &windows))) {
            Ok(Ok(r)) => Ok((r.mmu, r.series, r.util_points)),
            Ok(Err(e)) => Err(PyValueError::new_err(format!("mmu: {e}"))),
            Err(e) => Err(raise_error(py, e)),
        }
    }

    /// Go's `MMUCurve.Examples`: up to `n` worst windows of `window` ns for `flags`, as
    /// `[(start_ns, mean utilization), ...]`, lowest first. Computed without the GIL.
    fn mmu_worst_windows(
        &self,
        py: Python<'_>,
        flags: u32,
        window: i64,
        n: usize,
    ) -> PyResult<Vec<(i64, f64)>> {
        let t = &self.trace;
        match py.detach(|| guard(|| mmu::trace_worst_windows(t, flags, window, n))) {
            Ok(Ok(w)) => Ok(w.into_iter().map(|w| (w.time, w.mu)).collect()),
            Ok(Err(e)) => Err(PyValueError::new_err(format!("mmu: {e}"))),
            Err(e) => Err(raise_error(py, e)),
        }
    }

    /// The EventKind names in numbering order.
    #[staticmethod]
    fn kind_names() -> Vec<&'static str> {
        EVENT_KIND_NAMES.to_vec()
    }

    #[getter]
    fn num_strings(&self) -> usize {
        self.trace.strings.len()
    }

    /// String `i` decoded as UTF-8, invalid bytes replaced by U+FFFD.
    fn string(&self, i: isize) -> PyResult<String> {
        let i = check_index(i, self.trace.strings.len(), "string")?;
        Ok(lossy(self.trace.strings.get(i as u32)).into_owned())
    }

    /// String `i` as the raw bytes of the trace.
    fn string_bytes<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyBytes>> {
        let i = check_index(i, self.trace.strings.len(), "string")?;
        Ok(PyBytes::new(py, self.trace.strings.get(i as u32)))
    }

    #[getter]
    fn num_stacks(&self) -> usize {
        self.trace.stacks.len()
    }

    /// Frames of stack `i`, innermost first: `[(pc, function, file, line), ...]`
    /// (strings decoded like [`RawTrace::string`]). Stack 0 is the empty stack.
    fn stack(&self, py: Python<'_>, i: isize) -> PyResult<Vec<(u64, String, String, u64)>> {
        let i = check_index(i, self.trace.stacks.len(), "stack")?;
        let t = &self.trace;
        guard(|| {
            t.stacks
                .frames_of(i as u32)
                .iter()
                .map(|&f| {
                    let fr = &t.stacks.frames[f as usize];
                    (
                        fr.pc,
                        lossy(t.strings.get(fr.func)).into_owned(),
                        lossy(t.strings.get(fr.file)).into_owned(),
                        fr.line,
                    )
                })
                .collect()
        })
        .map_err(|e| raise_error(py, e))
    }

    /// RangeEnd attributes: uint64 array of shape (n, 2) = (bytes swept, bytes reclaimed).
    fn range_attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let a = &self.trace.range_attrs;
        let flat: Vec<u64> = a.iter().flatten().copied().collect();
        let arr = Array2::from_shape_vec((a.len(), 2), flat)
            .map_err(|e| raise_error(py, internal_error_tuple(&e.to_string())))?;
        Ok(arr.into_pyarray(py))
    }

    /// The u64 side table (task parent IDs), uint64 array.
    fn u64s<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, &self.trace.u64s)
    }

    /// Clock snapshots as `(trace_ns int64, mono_ns uint64, wall_unix_ns int64)` arrays.
    fn clock_snapshots<'py>(&self, py: Python<'py>) -> ClockArrays<'py> {
        let c = &self.trace.clock_snapshots;
        (
            c.iter()
                .map(|s| s.trace_ns)
                .collect::<Vec<_>>()
                .into_pyarray(py),
            c.iter()
                .map(|s| s.mono_ns)
                .collect::<Vec<_>>()
                .into_pyarray(py),
            c.iter()
                .map(|s| s.wall_unix_ns)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )
    }

    /// Experimental event arguments as `(typ uint8 (n,), args uint64 (n, 4))`.
    fn experimental<'py>(&self, py: Python<'py>) -> PyResult<ExperimentalArrays<'py>> {
        let x = &self.trace.experimental;
        let typ: Vec<u8> = x.iter().map(|e| e.typ).collect();
        let flat: Vec<u64> = x.iter().flat_map(|e| e.args).collect();
        let args = Array2::from_shape_vec((x.len(), 4), flat)
            .map_err(|e| raise_error(py, internal_error_tuple(&e.to_string())))?;
        Ok((typ.into_pyarray(py), args.into_pyarray(py)))
    }

    /// Events `[start, end)` (clamped to the table) in the `tracecheck-events/1` format.
    #[pyo3(signature = (start=0, end=None))]
    fn events_tsv<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let n = self.n_events();
        let end = end.unwrap_or(n).min(n);
        let start = start.min(end);
        let t = &self.trace;
        let out = py.detach(|| {
            guard(|| {
                let mut buf = Vec::with_capacity((end - start) * 64);
                gotrace_core::export::tsv::write_events(t, &mut buf, start, end).map(|()| buf)
            })
        });
        match out {
            Ok(Ok(buf)) => Ok(PyBytes::new(py, &buf)),
            Ok(Err(e)) => Err(raise_error(py, internal_error_tuple(&e.to_string()))),
            Err(e) => Err(raise_error(py, e)),
        }
    }

    /// The sorted distinct goroutine, proc and thread IDs (the oracle's `distinct_ids`:
    /// execution contexts and the resources of transitions, labels and range scopes).
    #[allow(clippy::type_complexity)]
    fn distinct_ids<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
    )> {
        let t = &self.trace;
        let [g, p, m] = py
            .detach(|| {
                guard(|| {
                    let mut d = gotrace_core::analysis::distinct::DistinctIds::default();
                    d.add(&t.events);
                    d.into_sorted()
                })
            })
            .map_err(|e| raise_error(py, e))?;
        Ok((g.into_pyarray(py), p.into_pyarray(py), m.into_pyarray(py)))
    }

    /// State intervals, goroutine states and summaries, procs, ranges, GC and STW sums,
    /// computed in one pass over the events with the GIL released (see
    /// `gotrace_core::analysis`). A dict of numpy arrays and small dicts; string and stack
    /// columns hold IDs (`string(i)`, `stack(i)`). `part`: None for everything (intervals
    /// and summaries on two threads), `"states"` for the intervals, state sums, procs,
    /// ranges and `goroutine_names` alone, `"summaries"` for the goroutine, region and
    /// task summaries alone.
    #[pyo3(signature = (part=None))]
    fn analysis<'py>(&self, py: Python<'py>, part: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
        let part = match part {
            None => analysis::Part::All,
            Some("states") => analysis::Part::States,
            Some("summaries") => analysis::Part::Summaries,
            Some(p) => {
                return Err(PyValueError::new_err(format!(
                    "part must be None, 'states' or 'summaries', not {p:?}"
                )))
            }
        };
        analysis::analyze_dict(py, &self.trace, part)
    }

    fn __repr__(&self) -> String {
        format!(
            "<RawTrace go 1.{} events={} error={}>",
            self.trace.version,
            self.n_events(),
            self.error.as_ref().map_or("None", |e| e.0)
        )
    }
}

/// What a parse reads: a mapped file, a file read as a stream (a pipe, ...) or bytes.
enum Input<'a> {
    Map(memmap2::Mmap),
    Stream(std::fs::File),
    Mem(Cow<'a, [u8]>),
}

impl<'a> Input<'a> {
    /// `source`: a path (`str`), or a bytes-like object: `bytes` are read in place, any
    /// other buffer (bytearray, memoryview, ...) is copied first, since it could change
    /// while the GIL is released. Also gives the input size, when known.
    fn open(source: &'a Bound<'_, PyAny>) -> PyResult<(Self, Option<u64>)> {
        if let Ok(p) = source.cast::<PyString>() {
            let path = PathBuf::from(p.to_cow()?.as_ref());
            let file = std::fs::File::open(&path).map_err(|e| io_error(e, &path))?;
            let total = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            return Ok(match map_file(&file) {
                Some(map) => (Input::Map(map), total),
                None => (Input::Stream(file), total),
            });
        }
        let data = match source.cast::<PyBytes>() {
            Ok(b) => Cow::Borrowed(b.as_bytes()),
            Err(_) => {
                let buf = PyBuffer::<u8>::get(source)?;
                Cow::Owned(buf.to_vec(source.py())?)
            }
        };
        let n = data.len() as u64;
        Ok((Input::Mem(data), Some(n)))
    }

    /// The input's bytes, when they are at hand (not for streams).
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Input::Map(m) => Some(m),
            Input::Mem(d) => Some(d),
            Input::Stream(_) => None,
        }
    }

    /// Parses the input handing its events to `consume` in chunks
    /// (`gotrace_core::stream::drain_threads`: with two or more threads, `consume` runs
    /// on one of its own).
    fn drain<C: FnMut(&Trace) + Send>(
        &self,
        opts: &ParseOptions,
        consume: &mut C,
        hook: &mut Hook,
    ) -> Trace {
        self.drain_to(opts, &mut gotrace_core::stream::Rows(consume), hook)
    }

    /// [`Input::drain`] for any consumer.
    fn drain_to<C: gotrace_core::stream::Consumer + Send>(
        &self,
        opts: &ParseOptions,
        consume: &mut C,
        hook: &mut Hook,
    ) -> Trace {
        let size = match self {
            Input::Stream(file) => file.metadata().map_or(0, |m| m.len() as usize),
            _ => self.bytes().map_or(0, <[u8]>::len),
        };
        let parse = |o: &ParseOptions, h: &mut Hook| self.parse(o, h);
        gotrace_core::stream::drain_threads(opts, size, self.bytes(), parse, consume, hook)
    }

    /// Parses the input with `opts`, calling `hook` (see `gotrace_core::Hook`).
    fn parse(&self, opts: &ParseOptions, hook: &mut Hook) -> Trace {
        match self {
            Input::Map(map) => {
                let data: &[u8] = map;
                // v2: pages of generations already decoded are released one generation
                // late. (v1 traces are read whole, in no particular order.)
                let (mut released, mut behind) = (0usize, 0usize);
                gotrace_core::parse_with(data, opts, &mut |t, done| {
                    if t.version >= 22 && done as usize != behind {
                        released = release_mapped(map, released, behind);
                        behind = done as usize;
                    }
                    hook(t, done)
                })
            }
            Input::Stream(file) => {
                let size = file.metadata().map_or(0, |m| m.len() as usize);
                gotrace_core::parse_read_with(file, size, opts, hook)
            }
            Input::Mem(data) => gotrace_core::parse_with(data, opts, hook),
        }
    }
}

/// A read-only map of a whole regular file, or None when it cannot be mapped (pipes,
/// special files, empty files, mmap failures): the caller then reads it as a stream.
///
/// If another process truncates the file while it is mapped, reading the lost pages
/// raises SIGBUS and kills the process; traces are written once and then only read, so
/// this is accepted for the speed (no read copy, no buffer management).
fn map_file(file: &std::fs::File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is only read, and only while `file`'s map is alive; the risk left is
    // the SIGBUS on truncation described above.
    unsafe { memmap2::Mmap::map(file) }.ok()
}

/// Releases the pages of `map` from `from` (a page boundary: what an earlier call
/// returned, or 0) to `upto` (rounded down to a page), which the v2 reader has copied out
/// already (it copies each generation's batches): without this the file's pages would
/// stay in the process's resident set next to the event table. Returns where the next
/// call starts. A file-backed read-only map re-reads dropped pages from the file, so this
/// is safe even if something still read them.
fn release_mapped(map: &memmap2::Mmap, from: usize, upto: usize) -> usize {
    let upto = upto.min(map.len()) & !0xfff;
    if upto <= from {
        return from;
    }
    #[cfg(unix)]
    // SAFETY: `DontNeed` on a shared read-only file map: later reads see the file's
    // contents again (the pages are not private copies), so no data is lost.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, upto - from)
    };
    upto
}

fn parse_input(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    progress: Option<&Bound<'_, PyAny>>,
    max_events: Option<u64>,
    threads: Option<usize>,
) -> PyResult<RawTrace> {
    let (input, total) = Input::open(source)?;
    let opts = ParseOptions {
        threads,
        max_events,
        ..ParseOptions::default()
    };
    let r = run_detached(
        py,
        progress,
        total,
        |hook| input.parse(&opts, hook),
        trace_ok,
    )?;
    Ok(RawTrace::new(r))
}

/// Parses a trace held in memory (any bytes-like object; see `Input::open`).
/// `progress`, `max_events` and `threads` as for [`parse_path`].
#[pyfunction]
#[pyo3(signature = (data, progress=None, max_events=None, threads=None))]
fn parse_bytes(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    progress: Option<&Bound<'_, PyAny>>,
    max_events: Option<u64>,
    threads: Option<usize>,
) -> PyResult<RawTrace> {
    if data.cast::<PyString>().is_ok() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected bytes, not str",
        ));
    }
    parse_input(py, data, progress, max_events, threads)
}

/// Parses the file at `path` with the GIL released: a regular file is memory-mapped (no
/// copy), anything else (a pipe, ...) read as a stream. `progress(done, total)` is called
/// from this thread with the bytes parsed so far and the file size (None if unknown), at
/// its first check, then at most every 50 ms, and once at the end with `done == total`;
/// an exception it raises stops the parse and propagates. I/O problems raise `OSError`
/// (`FileNotFoundError`, ...). `max_events`: stop with a `"limit"` error after that many
/// events. `threads`: None = all cores, 1 = the calling thread only (same result).
#[pyfunction]
#[pyo3(signature = (path, progress=None, max_events=None, threads=None))]
fn parse_path(
    py: Python<'_>,
    path: &Bound<'_, PyString>,
    progress: Option<&Bound<'_, PyAny>>,
    max_events: Option<u64>,
    threads: Option<usize>,
) -> PyResult<RawTrace> {
    parse_input(py, path.as_any(), progress, max_events, threads)
}

/// Test hook: panics inside the guard, to check that panics become `TraceError`.
#[pyfunction]
fn _panic_for_test(py: Python<'_>) -> PyResult<()> {
    py.detach(|| guard(|| panic!("deliberate test panic")))
        .map_err(|e| raise_error(py, e))
}

/// Test hook: ended goroutines that trigger a row-pruning pass of the streaming
/// heatmaps (`None`: the default), so that small traces prune too.
#[pyfunction]
#[pyo3(signature = (n=None))]
fn _set_prune_min(n: Option<usize>) {
    gotrace_core::analysis::heat::set_prune_min(n);
}

/// N of the header `go 1.N trace` at the start of `head` (Go's spellings, as the
/// reader parses them), None if it does not parse there.
#[pyfunction]
fn header_version(head: &[u8]) -> Option<u32> {
    gotrace_core::wire::parse_header(head).ok().map(|(v, _)| v)
}

/// Test hook: nanoseconds added to the end the v1 reader predicts (0: none), so that
/// the streaming heatmap's correction of a wrong prediction can be exercised.
#[pyfunction]
fn _set_v1_extent_skew(ns: i64) {
    gotrace_core::v1::parse::EXTENT_SKEW.store(ns, std::sync::atomic::Ordering::Relaxed);
}

// -- heatmap binning (gotrace_core::binning) ---------------------------------------------

fn matrix<'py>(
    py: Python<'py>,
    v: Vec<i64>,
    nrows: usize,
    bins: usize,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let a = Array2::from_shape_vec((nrows, bins), v)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

/// `nrows × bins` int64 matrix of the exact overlap (ns) of `[starts, ends)` with each bin,
/// per row (`binning::overlap`). Inputs are checked by the caller (Python).
#[pyfunction]
fn bin_overlap<'py>(
    py: Python<'py>,
    starts: PyReadonlyArray1<'py, i64>,
    ends: PyReadonlyArray1<'py, i64>,
    rows: PyReadonlyArray1<'py, u32>,
    nrows: usize,
    edges: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let (s, e, r, ed) = (
        starts.as_slice()?,
        ends.as_slice()?,
        rows.as_slice()?,
        edges.as_slice()?,
    );
    let bins = ed.len().saturating_sub(1);
    let v = py
        .detach(|| guard(|| binning::overlap(s, e, r, nrows, ed)))
        .map_err(|e| raise_error(py, e))?;
    matrix(py, v, nrows, bins)
}

/// `nrows × bins` int64 matrix of instants per bin and row (`binning::count`).
#[pyfunction]
fn bin_count<'py>(
    py: Python<'py>,
    times: PyReadonlyArray1<'py, i64>,
    rows: PyReadonlyArray1<'py, u32>,
    nrows: usize,
    edges: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let (t, r, ed) = (times.as_slice()?, rows.as_slice()?, edges.as_slice()?);
    let bins = ed.len().saturating_sub(1);
    let v = py
        .detach(|| guard(|| binning::count(t, r, nrows, ed)))
        .map_err(|e| raise_error(py, e))?;
    matrix(py, v, nrows, bins)
}

/// `binning::uniform_edges`: `start + floor((end - start) * i / bins)`, exactly.
#[pyfunction]
fn uniform_edges<'py>(
    py: Python<'py>,
    start: i64,
    end: i64,
    bins: usize,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    if bins < 1 || end < start {
        return Err(PyValueError::new_err("need bins >= 1 and end >= start"));
    }
    Ok(binning::uniform_edges(start, end, bins).into_pyarray(py))
}

/// Safe without the GIL: the only class is frozen (immutable after the parse), numpy
/// views borrow from it, and every function works on its arguments and locals only.
#[pymodule(gil_used = false)]
fn _gotrace_fast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RawTrace>()?;
    m.add_function(wrap_pyfunction!(parse_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(parse_path, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(_set_prune_min, m)?)?;
    m.add_function(wrap_pyfunction!(_set_v1_extent_skew, m)?)?;
    m.add_function(wrap_pyfunction!(header_version, m)?)?;
    m.add_function(wrap_pyfunction!(bin_overlap, m)?)?;
    m.add_function(wrap_pyfunction!(bin_count, m)?)?;
    m.add_function(wrap_pyfunction!(uniform_edges, m)?)?;
    m.add("EVENT_KIND_NAMES", EVENT_KIND_NAMES.to_vec())?;
    sched::register(m)?;
    stream::register(m)?;
    heat::register(m)?;
    Ok(())
}
