//! Scheduling metrics (`gotrace_core::analysis::sched`) over interval columns handed in as
//! numpy arrays; each runs with the GIL released.

use gotrace_core::analysis::sched::{self, Cols, DurationStats};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{guard, raise_error};

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, what: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{what}: array must be contiguous")))
}

fn stats_dict<'py>(py: Python<'py>, s: DurationStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("count", s.count)?;
    d.set_item("sum_ns", s.sum)?;
    d.set_item("mean_ns", s.mean)?;
    d.set_item("min_ns", s.min)?;
    d.set_item("p50_ns", s.p50)?;
    d.set_item("p90_ns", s.p90)?;
    d.set_item("p99_ns", s.p99)?;
    d.set_item("max_ns", s.max)?;
    d.set_item("edges", s.edges.into_pyarray(py))?;
    d.set_item("counts", s.counts.into_pyarray(py))?;
    Ok(d)
}

/// Row indices of the goroutine intervals that are scheduling waits (Runnable directly
/// followed by Running), ascending.
#[pyfunction]
fn sched_wait_index<'py>(
    py: Python<'py>,
    id: PyReadonlyArray1<'py, i64>,
    start: PyReadonlyArray1<'py, i64>,
    end: PyReadonlyArray1<'py, i64>,
    state: PyReadonlyArray1<'py, u8>,
) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
    let (id, start, end, state) = (
        slice(&id, "id")?,
        slice(&start, "start")?,
        slice(&end, "end")?,
        slice(&state, "state")?,
    );
    if start.len() != id.len() || end.len() != id.len() || state.len() != id.len() {
        return Err(PyValueError::new_err("columns must have one length"));
    }
    let idx = py
        .detach(|| guard(|| sched::sched_wait_indices(id, start, end, state)))
        .map_err(|e| raise_error(py, e))?;
    Ok(idx
        .into_iter()
        .map(|i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}

/// Statistics of `durations` (ns, >= 0): one dict, or with `keys` (one per duration)
/// `[(key, dict), ...]` sorted by key.
#[pyfunction]
#[pyo3(signature = (durations, keys=None))]
fn duration_stats<'py>(
    py: Python<'py>,
    durations: PyReadonlyArray1<'py, i64>,
    keys: Option<PyReadonlyArray1<'py, i64>>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = slice(&durations, "durations")?;
    if d.iter().any(|&x| x < 0) {
        return Err(PyValueError::new_err("durations must be >= 0"));
    }
    match keys {
        None => {
            let s = py
                .detach(|| guard(|| sched::duration_stats(&mut d.to_vec())))
                .map_err(|e| raise_error(py, e))?;
            Ok(stats_dict(py, s)?.into_any())
        }
        Some(k) => {
            let k = slice(&k, "keys")?;
            if k.len() != d.len() {
                return Err(PyValueError::new_err("keys and durations differ in length"));
            }
            let groups = py
                .detach(|| guard(|| sched::grouped_stats(d, k)))
                .map_err(|e| raise_error(py, e))?;
            let out = groups
                .into_iter()
                .map(|(k, s)| Ok((k, stats_dict(py, s)?)))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(out.into_pyobject(py)?.into_any())
        }
    }
}

/// Per-bin fairness (see `gotrace_core::analysis::sched::fairness`) of the goroutine and
/// proc interval columns, as a dict of arrays.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn fairness<'py>(
    py: Python<'py>,
    g_id: PyReadonlyArray1<'py, i64>,
    g_start: PyReadonlyArray1<'py, i64>,
    g_end: PyReadonlyArray1<'py, i64>,
    g_state: PyReadonlyArray1<'py, u8>,
    p_id: PyReadonlyArray1<'py, i64>,
    p_start: PyReadonlyArray1<'py, i64>,
    p_end: PyReadonlyArray1<'py, i64>,
    p_state: PyReadonlyArray1<'py, u8>,
    edges: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let g = Cols {
        id: slice(&g_id, "g_id")?,
        start: slice(&g_start, "g_start")?,
        end: slice(&g_end, "g_end")?,
        state: slice(&g_state, "g_state")?,
    };
    let p = Cols {
        id: slice(&p_id, "p_id")?,
        start: slice(&p_start, "p_start")?,
        end: slice(&p_end, "p_end")?,
        state: slice(&p_state, "p_state")?,
    };
    for c in [&g, &p] {
        let n = c.id.len();
        if c.start.len() != n || c.end.len() != n || c.state.len() != n {
            return Err(PyValueError::new_err("columns must have one length"));
        }
    }
    let edges = slice(&edges, "edges")?;
    // Uniform integer edges of a short span repeat (empty bins); they never decrease.
    if edges.len() < 2 || edges.windows(2).any(|w| w[0] > w[1]) {
        return Err(PyValueError::new_err(
            "edges must be non-decreasing, at least 2 of them",
        ));
    }
    let f = py
        .detach(|| guard(|| sched::fairness(g, p, edges)))
        .map_err(|e| raise_error(py, e))?;
    let d = PyDict::new(py);
    d.set_item("edges", f.edges.into_pyarray(py))?;
    d.set_item("exec_ns", f.exec_ns.into_pyarray(py))?;
    d.set_item("goroutines", f.goroutines.into_pyarray(py))?;
    d.set_item("entropy", f.entropy.into_pyarray(py))?;
    d.set_item("gini", f.gini.into_pyarray(py))?;
    d.set_item("procs", f.procs.into_pyarray(py))?;
    d.set_item("proc_busy_ns", f.proc_busy_ns.into_pyarray(py))?;
    d.set_item("proc_busy_var", f.proc_busy_var.into_pyarray(py))?;
    d.set_item("proc_busy_cv", f.proc_busy_cv.into_pyarray(py))?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sched_wait_index, m)?)?;
    m.add_function(wrap_pyfunction!(duration_stats, m)?)?;
    m.add_function(wrap_pyfunction!(fairness, m)?)?;
    Ok(())
}
