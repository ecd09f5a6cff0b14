//! Heatmaps (`gotrace_core::analysis::heat`): the matrix of a parsed trace's intervals and
//! the row labels, shared with the streaming heatmap (stream.rs).

use gotrace_core::analysis::heat::{
    heat_batch, By, HeatMatrix, HeatSpec, IntervalCols, NameTable, Sort, Value,
};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{guard, lossy, raise_error, RawTrace};

/// The spec from the Python arguments (names as in `Trace.heatmap`; `states` as codes).
pub(crate) fn spec(
    by: &str,
    states: Vec<u8>,
    value: &str,
    edges: Vec<i64>,
    top: Option<usize>,
    sort: &str,
) -> PyResult<HeatSpec> {
    let by = match by {
        "goroutine" => By::Goroutine,
        "proc" => By::Proc,
        "thread" => By::Thread,
        "function" => By::Function,
        "state" => By::State,
        "reason" => By::Reason,
        _ => return Err(PyValueError::new_err(format!("unknown by={by:?}"))),
    };
    let value = match value {
        "time" => Value::Time,
        "fraction" => Value::Fraction,
        "count" => Value::Count,
        _ => return Err(PyValueError::new_err(format!("unknown value={value:?}"))),
    };
    let sort = match sort {
        "total" => Sort::Total,
        "first" => Sort::First,
        "id" => Sort::Id,
        _ => return Err(PyValueError::new_err(format!("unknown sort={sort:?}"))),
    };
    if edges.len() < 2 || edges.windows(2).any(|w| w[0] > w[1]) {
        return Err(PyValueError::new_err(
            "edges must be >= 2 non-decreasing values",
        ));
    }
    Ok(HeatSpec {
        by,
        states,
        value,
        edges,
        top,
        sort,
    })
}

/// `values` (float64 [rows, bins], handed over without a copy), `row_ids`, `names`,
/// `other` into `d`.
pub(crate) fn set_matrix(d: &Bound<'_, PyDict>, m: HeatMatrix) -> PyResult<()> {
    let py = d.py();
    let values = Array2::from_shape_vec((m.row_ids.len(), m.bins), m.values)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    d.set_item("values", values.into_pyarray(py))?;
    d.set_item("row_ids", m.row_ids.into_pyarray(py))?;
    d.set_item("names", m.names.into_pyarray(py))?;
    d.set_item("other", m.other)?;
    Ok(())
}

/// The heatmap of a parsed trace's intervals of one resource (`gotrace_core::analysis::
/// heat::heat_batch`, GIL released): a dict of `values` float64 [rows, bins], `row_ids`,
/// `names` (goroutine name string IDs per row but "other", by="goroutine"), `other` (the
/// last row sums the rows after the first `top`). `g_id`/`g_name`: the goroutine table
/// (IDs increasing), for names and by="function". Arguments are checked by the caller.
#[pyfunction]
#[pyo3(signature = (id, start, end, state, reason, g_id, g_name, by, states, value, edges, top, sort))]
#[allow(clippy::too_many_arguments)]
fn heat_matrix<'py>(
    py: Python<'py>,
    id: PyReadonlyArray1<'py, i64>,
    start: PyReadonlyArray1<'py, i64>,
    end: PyReadonlyArray1<'py, i64>,
    state: PyReadonlyArray1<'py, u8>,
    reason: PyReadonlyArray1<'py, u32>,
    g_id: PyReadonlyArray1<'py, i64>,
    g_name: PyReadonlyArray1<'py, u32>,
    by: &str,
    states: Vec<u8>,
    value: &str,
    edges: Vec<i64>,
    top: Option<usize>,
    sort: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = spec(by, states, value, edges, top, sort)?;
    let iv = IntervalCols {
        id: id.as_slice()?,
        start: start.as_slice()?,
        end: end.as_slice()?,
        state: state.as_slice()?,
        reason: reason.as_slice()?,
    };
    let names = NameTable {
        id: g_id.as_slice()?,
        name: g_name.as_slice()?,
    };
    let m = py
        .detach(|| guard(|| heat_batch(&spec, &iv, &names)))
        .map_err(|e| raise_error(py, e))?;
    let d = PyDict::new(py);
    set_matrix(&d, m)?;
    Ok(d)
}

/// Row labels (but "other") for `by` "goroutine" (`G<id>` and the name, if any),
/// "function" / "reason" (the string, or `(unknown)` / `(no reason)` if empty), "proc"
/// (`P<id>`), "thread" (`M<id>`), from the rows' IDs and, by goroutine, their names;
/// strings decoded as `RawTrace.string`.
#[pyfunction]
fn heat_labels(
    raw: &Bound<'_, RawTrace>,
    by: &str,
    row_ids: PyReadonlyArray1<'_, i64>,
    names: PyReadonlyArray1<'_, u32>,
) -> PyResult<Vec<String>> {
    let strings = &raw.get().trace.strings;
    let (ids, names) = (row_ids.as_slice()?, names.as_slice()?);
    let string = |i: i64| -> PyResult<String> {
        if i < 0 || i as u64 >= strings.len() as u64 {
            return Err(PyIndexError::new_err(format!("string {i} out of range")));
        }
        Ok(lossy(strings.get(i as u32)).into_owned())
    };
    let or = |s: String, empty: &str| if s.is_empty() { empty.to_owned() } else { s };
    match by {
        "proc" => Ok(ids.iter().map(|i| format!("P{i}")).collect()),
        "thread" => Ok(ids.iter().map(|i| format!("M{i}")).collect()),
        "goroutine" => {
            if names.len() != ids.len() {
                return Err(PyValueError::new_err("one name per row"));
            }
            ids.iter()
                .zip(names)
                .map(|(&i, &n)| match n {
                    0 => Ok(format!("G{i}")),
                    n => Ok(format!("G{i} {}", string(n as i64)?)),
                })
                .collect()
        }
        "function" => ids
            .iter()
            .map(|&i| Ok(or(string(i)?, "(unknown)")))
            .collect(),
        "reason" => ids
            .iter()
            .map(|&i| Ok(or(string(i)?, "(no reason)")))
            .collect(),
        _ => Err(PyValueError::new_err(format!("no labels for by={by:?}"))),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(heat_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(heat_labels, m)?)?;
    Ok(())
}
