//! The analysis as the dict of numpy columns `gotrace_fast._analysis.Analysis` reads.
//!
//! The columns are built without the GIL, each part on the thread that computed it (see
//! `gotrace_core::analysis::summary::analyze_then`); with the GIL the vectors are only
//! handed to numpy, which takes them without copying.

use gotrace_core::analysis::intervals::{GoStateStat, Intervals, ProcStat, StateIntervals};
use gotrace_core::analysis::ranges::{GcStats, RangeCounts, RangeSummary, StwStats};
use gotrace_core::analysis::summarizer::{
    is_system_goroutine, EventRef, ExecStats, GoroutineSummary, RegionSummary, TaskSummary,
};
use gotrace_core::analysis::summary::{analyze_then, states_of, summaries_of, Analysis, Summaries};
use gotrace_core::store::{IdCol, Trace};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{guard, lossy, raise_error};

/// One owned column.
enum Col {
    I64(Vec<i64>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    U32(Vec<u32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    Bool(Vec<bool>),
    /// The same array as the named column of the table (put before).
    Same(&'static str),
}

macro_rules! col_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<Vec<$t>> for Col {
            fn from(v: Vec<$t>) -> Col {
                Col::$v(v)
            }
        }
    )*};
}
col_from!(i64 => I64, i32 => I32, u64 => U64, u32 => U32, u8 => U8, i8 => I8, bool => Bool);

/// An ID column keeps its width (int32 while every value fits, as the event table's).
impl From<IdCol> for Col {
    fn from(c: IdCol) -> Col {
        match c {
            IdCol::Narrow(v) => Col::I32(v),
            IdCol::Wide(v) => Col::I64(v),
        }
    }
}

/// The columns of one table, in order.
#[derive(Default)]
struct Cols(Vec<(String, Col)>);

impl Cols {
    fn put(&mut self, name: impl Into<String>, col: impl Into<Col>) {
        self.0.push((name.into(), col.into()));
    }

    fn dict<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, col) in self.0 {
            match col {
                Col::I64(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::I32(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::U64(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::U32(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::U8(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::I8(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::Bool(v) => d.set_item(name, v.into_pyarray(py))?,
                Col::Same(other) => {
                    let a = d.get_item(other)?.expect("column put before");
                    d.set_item(name, a)?
                }
            }
        }
        Ok(d)
    }
}

/// The tables made from the state intervals.
pub(crate) struct StateCols {
    intervals: [Cols; 3],
    goroutine_states: Cols,
    procs: Cols,
}

/// The tables made from the goroutine and task summaries.
pub(crate) struct SummaryCols {
    tasks: Cols,
    goroutines: Cols,
    regions: Cols,
}

/// The tables made from the ranges.
pub(crate) struct RangeCols {
    range_table: Cols,
    by_name: Vec<(u32, RangeCounts)>,
    gc: GcStats,
    stw: StwStats,
}

/// Which part of the analysis `RawTrace.analysis` computes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything (intervals and summaries side by side on two threads).
    All,
    /// Intervals, state sums, ranges and goroutine names (`states_of`).
    States,
    /// Goroutine and task summaries (`summaries_of`).
    Summaries,
}

/// A part of the analysis of `trace` (GIL released) as the extension's dict.
pub(crate) fn analyze_dict<'py>(
    py: Python<'py>,
    trace: &Trace,
    part: Part,
) -> PyResult<Bound<'py, PyDict>> {
    type Parts = (
        Option<StateCols>,
        Option<RangeCols>,
        Option<SummaryCols>,
        Option<Cols>,
    );
    let (st, rc, su, names): Parts = py
        .detach(|| {
            guard(|| match part {
                Part::All => {
                    let (st, (su, rc)) = analyze_then(trace, 0, state_cols, |s: Summaries| {
                        (
                            summary_cols(trace, s.goroutines, &s.tasks),
                            range_cols(s.ranges),
                        )
                    });
                    (Some(st), Some(rc), Some(su), None)
                }
                Part::States => {
                    let s = states_of(trace);
                    let (id, name) = s.names.into_sorted();
                    let mut names = Cols::default();
                    names.put("id", id);
                    names.put("name", name);
                    let (st, rc) = (state_cols(s.states), range_cols(s.ranges));
                    (Some(st), Some(rc), None, Some(names))
                }
                Part::Summaries => {
                    let (goroutines, tasks) = summaries_of(trace);
                    (
                        None,
                        None,
                        Some(summary_cols(trace, goroutines, &tasks)),
                        None,
                    )
                }
            })
        })
        .map_err(|e| raise_error(py, e))?;
    let out = PyDict::new(py);
    if let Some(st) = st {
        put_states(py, &out, st)?;
    }
    if let Some(rc) = rc {
        put_ranges(py, &out, rc)?;
    }
    if let Some(su) = su {
        put_summaries(py, &out, su)?;
    }
    if let Some(names) = names {
        out.set_item("goroutine_names", names.dict(py)?)?;
    }
    Ok(out)
}

/// The dict of an analysis computed elsewhere (the streaming summary).
pub(crate) fn analysis_dict<'py>(
    py: Python<'py>,
    trace: &Trace,
    a: Analysis,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    put_states(py, &out, state_cols(a.states))?;
    put_ranges(py, &out, range_cols(a.ranges))?;
    put_summaries(py, &out, summary_cols(trace, a.goroutines, &a.tasks))?;
    Ok(out)
}

fn put_summaries(py: Python<'_>, out: &Bound<'_, PyDict>, su: SummaryCols) -> PyResult<()> {
    out.set_item("tasks", su.tasks.dict(py)?)?;
    out.set_item("goroutines", su.goroutines.dict(py)?)?;
    out.set_item("regions", su.regions.dict(py)?)?;
    Ok(())
}

fn put_states(py: Python<'_>, out: &Bound<'_, PyDict>, st: StateCols) -> PyResult<()> {
    let iv = PyDict::new(py);
    let [g, p, t] = st.intervals;
    iv.set_item("goroutine", g.dict(py)?)?;
    iv.set_item("proc", p.dict(py)?)?;
    iv.set_item("thread", t.dict(py)?)?;
    out.set_item("intervals", iv)?;
    out.set_item("goroutine_states", st.goroutine_states.dict(py)?)?;
    out.set_item("procs", st.procs.dict(py)?)?;
    Ok(())
}

fn put_ranges(py: Python<'_>, out: &Bound<'_, PyDict>, rc: RangeCols) -> PyResult<()> {
    out.set_item("range_table", rc.range_table.dict(py)?)?;
    let rows: Vec<(u32, i64, i64, i64, i64, i64, i64)> = rc
        .by_name
        .iter()
        .map(|(n, c)| {
            (
                *n,
                c.begin,
                c.active,
                c.end,
                c.time_ns,
                c.completed,
                c.open_at_end,
            )
        })
        .collect();
    out.set_item("range_counts", rows)?;
    let gc = rc.gc;
    let d = PyDict::new(py);
    d.set_item("count", gc.count)?;
    d.set_item("active_at_start", gc.active_at_start)?;
    d.set_item("completed", gc.completed)?;
    d.set_item("mark_total_ns", gc.mark_total_ns)?;
    d.set_item("sweep_bytes_swept", gc.sweep_bytes_swept)?;
    d.set_item("sweep_bytes_reclaimed", gc.sweep_bytes_reclaimed)?;
    out.set_item("gc", d)?;
    let d = PyDict::new(py);
    d.set_item("count", rc.stw.count)?;
    d.set_item("total_ns", rc.stw.total_ns)?;
    let br = PyDict::new(py);
    for (reason, count, ns) in rc.stw.by_reason {
        let e = PyDict::new(py);
        e.set_item("count", count)?;
        e.set_item("ns", ns)?;
        br.set_item(lossy(&reason), e)?;
    }
    d.set_item("by_reason", br)?;
    out.set_item("stw", d)?;
    Ok(())
}

/// The table's own ID column (`g` of goroutine intervals...) is the `id` array itself.
fn interval_cols(mut iv: Intervals) -> Cols {
    let open = iv.open();
    let gpm = iv.take_gpm();
    let mut c = Cols::default();
    c.put("id", iv.id);
    c.put("start", iv.start);
    c.put("end", iv.end);
    c.put("state", iv.state);
    c.put("reason", iv.reason);
    c.put("stack", iv.stack);
    for (name, col) in ["g", "p", "m"].into_iter().zip(gpm) {
        match col {
            Some(v) => c.put(name, v),
            None => c.0.push((name.into(), Col::Same("id"))),
        }
    }
    c.put("unblocker", iv.unblocker);
    c.put("unblocker_stack", iv.unblocker_stack);
    c.put("open", open);
    c
}

fn state_cols(s: StateIntervals) -> StateCols {
    let gs: &[GoStateStat] = &s.go_stats;
    let n = gs.len();
    let cap = || Vec::<i64>::with_capacity(n);
    let (mut id, mut first, mut end) = (cap(), cap(), cap());
    let mut has_end = Vec::with_capacity(n);
    let (mut running, mut runnable, mut waiting, mut syscall) = (cap(), cap(), cap(), cap());
    let (mut intervals, mut lifetimes) = (cap(), cap());
    let (mut rows, mut keys, mut ns) = (Vec::new(), Vec::new(), Vec::new());
    // One pass: the rows are large structs.
    for (row, g) in gs.iter().enumerate() {
        id.push(g.id);
        first.push(g.first_ns);
        has_end.push(g.end_ns.is_some());
        end.push(g.end_ns.unwrap_or(0));
        running.push(g.running_ns);
        runnable.push(g.runnable_ns);
        waiting.push(g.waiting_ns);
        syscall.push(g.syscall_ns);
        intervals.push(g.intervals);
        lifetimes.push(g.lifetimes);
        for &(k, v) in g.waiting_ns_by_reason.iter() {
            rows.push(row as u64);
            keys.push(k);
            ns.push(v);
        }
    }
    let mut c = Cols::default();
    c.put("id", id);
    c.put("first_ns", first);
    c.put("has_end", has_end);
    c.put("end_ns", end);
    c.put("running_ns", running);
    c.put("runnable_ns", runnable);
    c.put("waiting_ns", waiting);
    c.put("syscall_ns", syscall);
    c.put("intervals", intervals);
    c.put("lifetimes", lifetimes);
    c.put("by_reason_row", rows);
    c.put("by_reason_key", keys);
    c.put("by_reason_ns", ns);
    let goroutine_states = c;

    let ps: &[ProcStat] = &s.proc_stats;
    let mut c = Cols::default();
    c.put("id", ps.iter().map(|p| p.id).collect::<Vec<_>>());
    c.put(
        "running_ns",
        ps.iter().map(|p| p.running_ns).collect::<Vec<_>>(),
    );
    c.put(
        "running_intervals",
        ps.iter().map(|p| p.running_intervals).collect::<Vec<_>>(),
    );
    c.put("idle_ns", ps.iter().map(|p| p.idle_ns).collect::<Vec<_>>());
    c.put(
        "transitions",
        ps.iter().map(|p| p.transitions).collect::<Vec<_>>(),
    );
    c.put(
        "running_at_end",
        ps.iter().map(|p| p.running_at_end).collect::<Vec<_>>(),
    );
    let procs = c;

    StateCols {
        intervals: [
            interval_cols(s.goroutines),
            interval_cols(s.procs),
            interval_cols(s.threads),
        ],
        goroutine_states,
        procs,
    }
}

/// The `ExecStats` columns, filled row by row (one pass over the summaries, which are
/// large structs: a pass per column would read them a dozen times).
#[derive(Default)]
struct ExecCols {
    exec: Vec<i64>,
    sched_wait: Vec<i64>,
    syscall: Vec<i64>,
    syscall_block: Vec<i64>,
    total: Vec<i64>,
    unknown: Vec<i64>,
    block_row: Vec<u64>,
    block_key: Vec<u32>,
    block_ns: Vec<i64>,
    range_row: Vec<u64>,
    range_key: Vec<u32>,
    range_ns: Vec<i64>,
}

impl ExecCols {
    fn with_capacity(n: usize) -> Self {
        ExecCols {
            exec: Vec::with_capacity(n),
            sched_wait: Vec::with_capacity(n),
            syscall: Vec::with_capacity(n),
            syscall_block: Vec::with_capacity(n),
            total: Vec::with_capacity(n),
            unknown: Vec::with_capacity(n),
            ..Default::default()
        }
    }

    fn push(&mut self, s: &ExecStats) {
        let row = self.exec.len() as u64;
        self.exec.push(s.exec);
        self.sched_wait.push(s.sched_wait);
        self.syscall.push(s.syscall);
        self.syscall_block.push(s.syscall_block);
        self.total.push(s.total);
        self.unknown.push(s.unknown());
        for &(k, v) in s.block_by_reason.iter() {
            self.block_row.push(row);
            self.block_key.push(k);
            self.block_ns.push(v);
        }
        for &(k, v) in s.range_time.iter() {
            self.range_row.push(row);
            self.range_key.push(k);
            self.range_ns.push(v);
        }
    }

    fn put(self, c: &mut Cols) {
        c.put("exec_ns", self.exec);
        c.put("sched_wait_ns", self.sched_wait);
        c.put("syscall_ns", self.syscall);
        c.put("syscall_block_ns", self.syscall_block);
        c.put("total_ns", self.total);
        c.put("unknown_ns", self.unknown);
        c.put("block_row", self.block_row);
        c.put("block_key", self.block_key);
        c.put("block_ns", self.block_ns);
        c.put("range_row", self.range_row);
        c.put("range_key", self.range_key);
        c.put("range_ns", self.range_ns);
    }
}

/// An event reference as (time, kind) columns: (0, -1) for none.
fn event_ref(e: EventRef) -> (i64, i8) {
    match e {
        Some((t, k)) => (t, k as i8),
        None => (0, -1),
    }
}

fn event_ref_cols(r: impl Iterator<Item = EventRef>) -> (Vec<i64>, Vec<i8>) {
    r.map(event_ref).unzip()
}

fn task_cols(tasks: &[TaskSummary]) -> Cols {
    let mut c = Cols::default();
    c.put("id", tasks.iter().map(|t| t.id).collect::<Vec<_>>());
    c.put("name", tasks.iter().map(|t| t.name).collect::<Vec<_>>());
    c.put(
        "has_parent",
        tasks.iter().map(|t| t.parent.is_some()).collect::<Vec<_>>(),
    );
    c.put(
        "parent",
        tasks
            .iter()
            .map(|t| t.parent.unwrap_or(0))
            .collect::<Vec<_>>(),
    );
    let (st, sk) = event_ref_cols(tasks.iter().map(|t| t.start));
    let (et, ek) = event_ref_cols(tasks.iter().map(|t| t.end));
    c.put("start_ns", st);
    c.put("start_kind", sk);
    c.put("end_ns", et);
    c.put("end_kind", ek);
    c.put("logs", tasks.iter().map(|t| t.logs).collect::<Vec<_>>());
    c.put(
        "regions",
        tasks.iter().map(|t| t.regions).collect::<Vec<_>>(),
    );
    let (rows, ids): (Vec<u64>, Vec<u64>) = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.children.iter().map(move |&c| (i as u64, c)))
        .unzip();
    c.put("children_row", rows);
    c.put("children_id", ids);
    let (rows, ids): (Vec<u64>, Vec<i64>) = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.goroutines.iter().map(move |&g| (i as u64, g)))
        .unzip();
    c.put("goroutines_row", rows);
    c.put("goroutines_id", ids);
    c
}

/// The goroutine and region tables, in one pass over the summaries (large structs, and
/// 10^5-10^6 of them in a big trace: a second pass costs as much as the first).
fn goroutine_cols(trace: &Trace, gs: &[GoroutineSummary]) -> (Cols, Cols) {
    let n = gs.len();
    macro_rules! cap {
        ($($v:ident),*) => {$( let mut $v = Vec::with_capacity(n); )*};
    }
    cap!(
        id,
        name,
        pc,
        system,
        created,
        started,
        ended,
        creator,
        creation_stack
    );
    let mut stats = ExecCols::with_capacity(n);
    let mut regions = RegionCols::default();
    for (i, g) in gs.iter().enumerate() {
        id.push(g.id);
        name.push(g.name);
        pc.push(g.pc);
        system.push(is_system_goroutine(trace.strings.get(g.name)));
        created.push(g.creation_time);
        started.push(g.start_time);
        ended.push(g.end_time);
        creator.push(g.creator);
        creation_stack.push(g.creation_stack);
        stats.push(&g.stats);
        for r in &g.regions {
            regions.push(i, r);
        }
    }
    let mut c = Cols::default();
    c.put("id", id);
    c.put("name", name);
    c.put("pc", pc);
    c.put("is_system", system);
    c.put("creation_time_ns", created);
    c.put("start_time_ns", started);
    c.put("end_time_ns", ended);
    c.put("creator", creator);
    c.put("creation_stack", creation_stack);
    stats.put(&mut c);
    (c, regions.cols())
}

#[derive(Default)]
struct RegionCols {
    row: Vec<u64>,
    task: Vec<u64>,
    name: Vec<u32>,
    start: (Vec<i64>, Vec<i8>),
    end: (Vec<i64>, Vec<i8>),
    stats: ExecCols,
}

impl RegionCols {
    fn push(&mut self, row: usize, r: &RegionSummary) {
        self.row.push(row as u64);
        self.task.push(r.task_id);
        self.name.push(r.name);
        let (t, k) = event_ref(r.start);
        self.start.0.push(t);
        self.start.1.push(k);
        let (t, k) = event_ref(r.end);
        self.end.0.push(t);
        self.end.1.push(k);
        self.stats.push(&r.stats);
    }

    fn cols(self) -> Cols {
        let mut c = Cols::default();
        c.put("goroutine_row", self.row);
        c.put("task_id", self.task);
        c.put("name", self.name);
        c.put("start_ns", self.start.0);
        c.put("start_kind", self.start.1);
        c.put("end_ns", self.end.0);
        c.put("end_kind", self.end.1);
        self.stats.put(&mut c);
        c
    }
}

/// Frees `v` on a thread of its own when it is big: the summaries of a large trace are
/// 10^5-10^6 structs, each with a few small allocations, and freeing them takes a tenth of
/// the analysis, which nobody needs to wait for.
fn drop_later<T: Send + 'static>(v: Vec<T>) {
    if v.len() >= 1 << 14 {
        let spawned = std::thread::Builder::new()
            .name("gotrace-free".into())
            .spawn(move || drop(v));
        // Without a thread (none could be made) `v` was dropped here already.
        drop(spawned);
    }
}

fn range_cols(r: RangeSummary) -> RangeCols {
    let t = r.table;
    let mut range_table = Cols::default();
    range_table.put("name", t.name);
    range_table.put("scope_kind", t.scope_kind);
    range_table.put("scope_id", t.scope_id);
    range_table.put("begin", t.begin);
    range_table.put("end", t.end);
    range_table.put("active_at_start", t.active_at_start);
    range_table.put("open", t.open);
    RangeCols {
        range_table,
        by_name: r.by_name,
        gc: r.gc,
        stw: r.stw,
    }
}

fn summary_cols(
    trace: &Trace,
    goroutines: Vec<GoroutineSummary>,
    tasks: &[TaskSummary],
) -> SummaryCols {
    let (gcols, regions) = goroutine_cols(trace, &goroutines);
    drop_later(goroutines);
    SummaryCols {
        tasks: task_cols(tasks),
        goroutines: gcols,
        regions,
    }
}
