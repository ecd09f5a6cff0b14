//! The columnar event store: what the parser produces and everything downstream reads.
//!
//! Layout: one `Vec` per column, all of one length (struct of arrays), so that each
//! column can be handed to numpy without a copy and scanned without touching the others.
//! Kind-specific data shares a few generic columns instead of one column per field:
//! a trace has ~80 % state transitions, and a column per Task/Log/Range field would
//! cost 8 bytes per event for data that almost no event has. The meaning of the
//! shared columns per kind is documented on [`Events`]; the rare multi-valued payloads
//! (range attributes, task parents, clock snapshots, experimental arguments) live in
//! side tables indexed from `aux`/`arg`.
//!
//! Strings and stacks are interned across generations: the wire format's IDs are only
//! valid inside one generation, ours are global. Index 0 is the empty string / no stack.

mod idcol;
mod tables;

use std::sync::{Arc, Mutex};

pub use idcol::IdCol;
pub use tables::{Frame, StackTable, StackTail, StringTable};

/// Rows faulted in ahead of the writer by [`prefault`] callers.
pub(crate) const PREFAULT_ROWS: usize = 1 << 16;

/// Faults in the pages of rows `from..to` of `v`'s spare capacity with one
/// `madvise(MADV_POPULATE_WRITE)` instead of one page fault per 4 KiB. Columns are written
/// front to back exactly once, and fresh-memory page faults are the largest single cost
/// of building big tables. A no-op off Linux or on kernels without the advice.
pub(crate) fn prefault<T>(v: &Vec<T>, from: usize, to: usize) {
    populate_rows(
        v.as_ptr() as usize,
        std::mem::size_of::<T>(),
        from,
        to.min(v.capacity()),
    );
}

/// [`prefault`] on rows of `size` bytes from address `base` (up to `to`, which the
/// caller bounds by the allocation).
pub(crate) fn populate_rows(base: usize, size: usize, from: usize, to: usize) {
    #[cfg(target_os = "linux")]
    {
        let page = 4096usize;
        let start = (base + from * size) & !(page - 1);
        let end = (base + to * size) & !(page - 1);
        if end > start && size > 0 {
            // SAFETY: [start, end) lies inside the Vec's allocation (rows up to its capacity,
            // rounded down to whole pages; the first page may hold rows already written, which
            // MADV_POPULATE_WRITE leaves as they are). It only faults pages in; contents do
            // not change. Errors (old kernels) are ignored: pages then fault in on first write.
            unsafe {
                libc::madvise(
                    start as *mut libc::c_void,
                    end - start,
                    23, /* MADV_POPULATE_WRITE */
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (base, size, from, to);
}

/// Faults in the pages of the columns' rows ahead of the writer, on another thread (see
/// [`Events::prefault_job`]). It only ever touches memory by `madvise`, which leaves
/// contents alone, so a job that outlives the allocation it was made for is harmless.
pub(crate) struct PrefaultJob {
    /// Per column: address of row 0 and bytes per row.
    cols: [(usize, usize); 12],
    cap: usize,
    progress: Arc<Mutex<Progress>>,
}

/// What the writer and the prefault jobs of one set of columns know of each other.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Rows `0..done` are faulted in or being faulted in (by a job or the writer).
    done: usize,
    /// The writer's row when it last looked (every [`PREFAULT_ROWS`] rows).
    writer: usize,
}

/// Address of row 0 and bytes per row of a `Vec` column.
fn layout<T>(v: &[T]) -> (usize, usize) {
    (v.as_ptr() as usize, std::mem::size_of::<T>())
}

fn lock(m: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PrefaultJob {
    /// Faults in rows up to `to`, continuing wherever the writer or an earlier job left
    /// off, in chunks, so that the writer finds most of its pages ready.
    pub(crate) fn run(&self, to: usize) {
        self.run_following(to, usize::MAX, &mut || {});
    }

    /// [`PrefaultJob::run`], staying at most about `ahead` rows ahead of the writer
    /// (waiting for it), so that memory is not taken much before it is needed. `idle`
    /// runs between chunks and while waiting.
    pub(crate) fn run_following(&self, to: usize, ahead: usize, idle: &mut dyn FnMut()) {
        let to = to.min(self.cap);
        loop {
            idle();
            let from = {
                let mut d = lock(&self.progress);
                let from = d.done;
                if from >= to {
                    return;
                }
                if from >= d.writer.saturating_add(ahead) {
                    drop(d);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                    continue;
                }
                d.done = (from + PREFAULT_ROWS).min(to);
                from
            };
            let end = (from + PREFAULT_ROWS).min(to);
            for &(base, size) in &self.cols {
                populate_rows(base, size, from, end);
            }
        }
    }
}

/// Go's `trace.EventKind`, same numbering.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Bad = 0,
    Sync = 1,
    Metric = 2,
    Label = 3,
    StackSample = 4,
    RangeBegin = 5,
    RangeActive = 6,
    RangeEnd = 7,
    TaskBegin = 8,
    TaskEnd = 9,
    RegionBegin = 10,
    RegionEnd = 11,
    Log = 12,
    StateTransition = 13,
    Experimental = 14,
}

pub const EVENT_KIND_NAMES: [&str; 15] = [
    "Bad",
    "Sync",
    "Metric",
    "Label",
    "StackSample",
    "RangeBegin",
    "RangeActive",
    "RangeEnd",
    "TaskBegin",
    "TaskEnd",
    "RegionBegin",
    "RegionEnd",
    "Log",
    "StateTransition",
    "Experimental",
];

/// Go's `trace.ResourceKind`.
pub mod resource {
    pub const NONE: u8 = 0;
    pub const GOROUTINE: u8 = 1;
    pub const PROC: u8 = 2;
    pub const THREAD: u8 = 3;
    pub const NAMES: [&str; 4] = ["None", "Goroutine", "Proc", "Thread"];
}

/// Go's `trace.GoState` (goroutine transitions) numbering.
pub mod gostate {
    pub const UNDETERMINED: u8 = 0;
    pub const NOT_EXIST: u8 = 1;
    pub const RUNNABLE: u8 = 2;
    pub const RUNNING: u8 = 3;
    pub const WAITING: u8 = 4;
    pub const SYSCALL: u8 = 5;
    pub const NAMES: [&str; 6] = [
        "Undetermined",
        "NotExist",
        "Runnable",
        "Running",
        "Waiting",
        "Syscall",
    ];
}

/// Go's `trace.ProcState` (proc transitions) numbering.
pub mod procstate {
    pub const UNDETERMINED: u8 = 0;
    pub const NOT_EXIST: u8 = 1;
    pub const RUNNING: u8 = 2;
    pub const IDLE: u8 = 3;
    pub const NAMES: [&str; 4] = ["Undetermined", "NotExist", "Running", "Idle"];
}

/// Task ID meaning "no task" (Go's `trace.NoTask`).
pub const NO_TASK: u64 = u64::MAX;

/// A clock snapshot carried by a generation's Sync (Go 1.25+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSnapshot {
    /// The trace clock at the snapshot, in ns (same clock as `Events::time`).
    pub trace_ns: i64,
    /// The monotonic clock, ns.
    pub mono_ns: u64,
    /// The wall clock, ns since the Unix epoch.
    pub wall_unix_ns: i64,
}

/// One experimental event's raw arguments (names come from the spec table by `typ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExperimentalArgs {
    pub typ: u8,
    pub args: [u64; 4],
}

/// The event table.
///
/// Common columns: `time` (ns, strictly increasing), `kind` ([`EventKind`]), `g`, `p`, `m`
/// (the execution context *before* the event, -1 = none) and `stack` (interned stack, 0 = none).
///
/// Shared kind-specific columns:
///
/// | kind | `res_kind` | `from`,`to` | `arg` | `name` (string) | `aux` |
/// |---|---|---|---|---|---|
/// | StateTransition | Goroutine/Proc | states | resource id | reason | transition stack |
/// | RangeBegin/Active/End | scope kind | – | scope id (0 if None) | range name | RangeEnd of a sweep: 1 + index into `range_attrs` |
/// | Metric | – | – | value (u64 bits) | metric name | – |
/// | Label | Goroutine | – | goroutine id | label | – |
/// | TaskBegin/TaskEnd | – | – | task id (u64 bits) | task type | index into `u64s` (parent id) |
/// | RegionBegin/End | – | – | task id | region type | – |
/// | Log | – | – | task id | category | message (string) |
/// | Sync | – | – | N (1-based) | – | 1 + index into `clock_snapshots`, 0 = none |
/// | Experimental | – | – | index into `experimental` | event name | experiment name (string) |
/// | StackSample | – | – | – | – | – |
#[derive(Default, Debug, Clone)]
pub struct Columns {
    pub time: Vec<i64>,
    pub kind: Vec<u8>,
    pub g: IdCol,
    pub p: IdCol,
    pub m: IdCol,
    pub stack: Vec<u32>,
    pub res_kind: Vec<u8>,
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    pub arg: IdCol,
    pub name: Vec<u32>,
    pub aux: Vec<u32>,
}

/// The event table while it is built and read: the [`Columns`] (readable through `Deref`)
/// plus the bookkeeping that lets [`Events::push`] check capacity once per row. The
/// columns can only be changed through `push`, which keeps them of one length.
#[derive(Default, Debug, Clone)]
pub struct Events {
    c: Columns,
    /// The smallest capacity over all columns (rows that fit without growing).
    cap: usize,
    /// Rows below this have their pages already faulted in (see [`Events::populate`]).
    populated: usize,
    /// Shared with [`PrefaultJob`]s on other threads (a clone shares it too, which can
    /// only make it fault in fewer pages ahead: never a correctness matter).
    prefaulted: Option<Arc<Mutex<Progress>>>,
}

impl std::ops::Deref for Events {
    type Target = Columns;
    fn deref(&self) -> &Columns {
        &self.c
    }
}

/// Columns of rows appended in bulk, to fix up in place (see [`Events::rows_mut`]).
pub struct RowsMut<'a> {
    pub time: &'a mut [i64],
    pub kind: &'a [u8],
    pub stack: &'a mut [u32],
    pub name: &'a mut [u32],
    pub aux: &'a mut [u32],
}

/// One row to append (a plain struct so that builders stay readable).
#[derive(Clone, Copy, Debug, Default)]
pub struct Row {
    pub time: i64,
    pub kind: u8,
    pub g: i64,
    pub p: i64,
    pub m: i64,
    pub stack: u32,
    pub res_kind: u8,
    pub from: u8,
    pub to: u8,
    pub arg: i64,
    pub name: u32,
    pub aux: u32,
}

impl Events {
    pub fn with_capacity(n: usize) -> Self {
        let c = Columns {
            time: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            g: IdCol::with_capacity(n),
            p: IdCol::with_capacity(n),
            m: IdCol::with_capacity(n),
            stack: Vec::with_capacity(n),
            res_kind: Vec::with_capacity(n),
            from: Vec::with_capacity(n),
            to: Vec::with_capacity(n),
            arg: IdCol::with_capacity(n),
            name: Vec::with_capacity(n),
            aux: Vec::with_capacity(n),
        };
        let mut e = Events {
            c,
            cap: 0,
            populated: 0,
            prefaulted: None,
        };
        e.update_cap();
        e
    }

    /// Gives up the columns (e.g. to hand them to numpy without copying).
    pub fn into_columns(self) -> Columns {
        self.c
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.c.time.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.c.time.is_empty()
    }

    /// Rows that fit without growing any column.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Faults in the pages for the next rows of every column with one `madvise` per
    /// column instead of one page fault per 4 KiB: the columns are written front to back
    /// exactly once, and page faults were a third of the parse time of large traces.
    #[cold]
    fn populate(&mut self, from: usize) {
        let to = (from + PREFAULT_ROWS).min(self.cap);
        if let Some(p) = &self.prefaulted {
            let mut d = lock(p);
            d.writer = from;
            if d.done > from {
                // A prefault job has these rows (done or under way). Come back after
                // the next chunk, to tell the job where the writer is.
                self.populated = d.done.min(to);
                return;
            }
            d.done = to;
        }
        self.populated = to;
        for (base, size) in self.layouts() {
            populate_rows(base, size, from, to);
        }
    }

    /// Per column: address of row 0 and bytes per row.
    fn layouts(&self) -> [(usize, usize); 12] {
        let c = &self.c;
        [
            layout(&c.time),
            layout(&c.kind),
            c.g.layout(),
            c.p.layout(),
            c.m.layout(),
            layout(&c.stack),
            layout(&c.res_kind),
            layout(&c.from),
            layout(&c.to),
            c.arg.layout(),
            layout(&c.name),
            layout(&c.aux),
        ]
    }

    /// A job that faults in the pages of rows ahead of this writer, from another thread.
    pub(crate) fn prefault_job(&mut self) -> PrefaultJob {
        let n = self.len();
        let progress = self
            .prefaulted
            .get_or_insert_with(|| {
                Arc::new(Mutex::new(Progress {
                    done: self.populated,
                    writer: n,
                }))
            })
            .clone();
        PrefaultJob {
            cols: self.layouts(),
            cap: self.cap,
            progress,
        }
    }

    /// Tells the prefault jobs of these columns that this writer is done with them: a job
    /// that follows the writer ([`PrefaultJob::run_following`]) would otherwise wait for
    /// rows that never come (the table's size is only an estimate, and an error ends the
    /// writing early).
    pub(crate) fn stop_prefault(&mut self) {
        if let Some(p) = self.prefaulted.take() {
            lock(&p).done = usize::MAX;
        }
    }

    /// Reserves room for `additional` more rows in every column.
    #[cold]
    fn grow(&mut self, additional: usize) {
        // New memory: jobs made for the old columns no longer say anything about it.
        self.stop_prefault();
        self.c.time.reserve(additional);
        self.c.kind.reserve(additional);
        self.c.g.reserve(additional);
        self.c.p.reserve(additional);
        self.c.m.reserve(additional);
        self.c.stack.reserve(additional);
        self.c.res_kind.reserve(additional);
        self.c.from.reserve(additional);
        self.c.to.reserve(additional);
        self.c.arg.reserve(additional);
        self.c.name.reserve(additional);
        self.c.aux.reserve(additional);
        self.update_cap();
    }

    fn update_cap(&mut self) {
        self.cap = [
            self.c.time.capacity(),
            self.c.kind.capacity(),
            self.c.g.capacity(),
            self.c.p.capacity(),
            self.c.m.capacity(),
            self.c.stack.capacity(),
            self.c.res_kind.capacity(),
            self.c.from.capacity(),
            self.c.to.capacity(),
            self.c.arg.capacity(),
            self.c.name.capacity(),
            self.c.aux.capacity(),
        ]
        .into_iter()
        .min()
        .unwrap_or(0);
    }

    /// Appends a row. This is the hottest store operation (once per event), so it checks
    /// capacity once for all twelve columns instead of once per column.
    #[inline]
    pub fn push(&mut self, r: &Row) {
        let n = self.c.time.len();
        if n >= self.cap {
            self.grow(n.max(1024));
        }
        if n >= self.populated {
            self.populate(n);
        }
        let c = &mut self.c;
        let (IdCol::Narrow(g), IdCol::Narrow(p), IdCol::Narrow(m), IdCol::Narrow(arg)) =
            (&mut c.g, &mut c.p, &mut c.m, &mut c.arg)
        else {
            return self.push_wide(r);
        };
        if !(idcol::fits(r.g) & idcol::fits(r.p) & idcol::fits(r.m) & idcol::fits(r.arg)) {
            return self.push_wide(r);
        }
        // SAFETY: every column has length `n` (they only grow together, here) and capacity
        // >= `cap` > `n` after the check above; each write initialises slot `n` before `set_len`.
        unsafe {
            macro_rules! put {
                ($($col:ident),*) => {$(
                    c.$col.as_mut_ptr().add(n).write(r.$col);
                    c.$col.set_len(n + 1);
                )*};
            }
            put!(time, kind, stack, res_kind, from, to, name, aux);
            macro_rules! put_narrow {
                ($($col:ident),*) => {$(
                    $col.as_mut_ptr().add(n).write(r.$col as i32);
                    $col.set_len(n + 1);
                )*};
            }
            put_narrow!(g, p, m, arg);
        }
    }

    /// [`Events::push`] when a narrow column is wide or must become wide (capacity is
    /// checked by the caller; widening keeps it).
    #[cold]
    #[inline(never)]
    fn push_wide(&mut self, r: &Row) {
        let n = self.len();
        let c = &self.c;
        let widens = [(&c.g, r.g), (&c.p, r.p), (&c.m, r.m), (&c.arg, r.arg)];
        if widens
            .iter()
            .any(|(col, x)| col.is_narrow() && !idcol::fits(*x))
        {
            // New memory, not faulted in: the writer does that from here on.
            self.stop_prefault();
            self.populated = self.populated.min(n);
        }
        let c = &mut self.c;
        macro_rules! push {
            ($($col:ident),*) => {$( c.$col.push(r.$col); )*};
        }
        push!(time, kind, g, p, m, stack, res_kind, from, to, arg, name, aux);
    }

    /// Appends rows `from..to` of `src` as they are (for a reader that fixes them up in
    /// place with [`Events::rows_mut`] and [`Events::set_ids`]).
    pub fn append_rows(&mut self, src: &Columns, from: usize, to: usize) {
        let n = self.len();
        if n + (to - from) > self.cap {
            self.grow((to - from).max(1024));
        }
        let c = &mut self.c;
        macro_rules! ext {
            ($($col:ident),*) => {$( c.$col.extend_from_slice(&src.$col[from..to]); )*};
        }
        ext!(time, kind, stack, res_kind, from, to, name, aux);
        macro_rules! ext_id {
            ($($col:ident),*) => {$( c.$col.extend_from(&src.$col, from, to); )*};
        }
        ext_id!(g, p, m, arg);
        // A column that widened has new memory; capacities may have changed.
        self.update_cap();
        self.populated = self.populated.min(n);
    }

    /// The columns a reader fixes up in rows `from..` after [`Events::append_rows`].
    pub fn rows_mut(&mut self, from: usize) -> RowsMut<'_> {
        let c = &mut self.c;
        RowsMut {
            time: &mut c.time[from..],
            kind: &c.kind[from..],
            stack: &mut c.stack[from..],
            name: &mut c.name[from..],
            aux: &mut c.aux[from..],
        }
    }

    /// Sets the goroutine, proc, thread and argument of row `i`.
    pub fn set_ids(&mut self, i: usize, g: i64, p: i64, m: i64, arg: i64) {
        let c = &mut self.c;
        c.g.set(i, g);
        c.p.set(i, p);
        c.m.set(i, m);
        c.arg.set(i, arg);
        self.update_cap();
    }

    /// Keeps the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        macro_rules! all {
            ($($col:ident),*) => {$( self.c.$col.truncate(n); )*};
        }
        all!(time, kind, g, p, m, stack, res_kind, from, to, arg, name, aux);
        self.populated = self.populated.min(n);
    }

    /// Releases spare capacity (the builder over-reserves from the file size).
    pub fn shrink_to_fit(&mut self) {
        self.c.time.shrink_to_fit();
        self.c.kind.shrink_to_fit();
        self.c.g.shrink_to_fit();
        self.c.p.shrink_to_fit();
        self.c.m.shrink_to_fit();
        self.c.stack.shrink_to_fit();
        self.c.res_kind.shrink_to_fit();
        self.c.from.shrink_to_fit();
        self.c.to.shrink_to_fit();
        self.c.arg.shrink_to_fit();
        self.c.name.shrink_to_fit();
        self.c.aux.shrink_to_fit();
        self.update_cap();
    }

    /// Removes every row, keeping the allocations (for a reader's sink that consumes the
    /// events generation by generation).
    pub fn clear(&mut self) {
        macro_rules! all {
            ($($col:ident),*) => {$( self.c.$col.clear(); )*};
        }
        all!(time, kind, g, p, m, stack, res_kind, from, to, arg, name, aux);
    }

    /// Event counts indexed by [`EventKind`] value.
    pub fn counts_by_kind(&self) -> [u64; 15] {
        let mut c = [0u64; 15];
        for &k in &self.c.kind {
            c[(k as usize).min(14)] += 1;
        }
        c
    }
}

/// Everything a parse produces. On a broken trace, `error` is set and `events` holds
/// exactly what Go's reader yields before failing.
#[derive(Default, Debug)]
pub struct Trace {
    /// Minor version of the header (`go 1.N trace`): 22, 23, 25, 26 (or 11, 19, 21 for v1).
    pub version: u32,
    pub events: Events,
    pub strings: StringTable,
    pub stacks: StackTable,
    pub range_attrs: Vec<[u64; 2]>,
    pub u64s: Vec<u64>,
    pub clock_snapshots: Vec<ClockSnapshot>,
    pub experimental: Vec<ExperimentalArgs>,
    /// Number of generations read (v2; a v1 trace counts as one).
    pub generations: u64,
    /// Events a sink took out of `events` with [`Trace::clear_events`] so far.
    pub cleared: u64,
    pub error: Option<crate::TraceError>,
    /// A v1 trace's first and last event times as predicted from its merge
    /// ([`crate::v1::parse::V1Trace::predicted_extent`]), set before its conversion
    /// starts: a streaming analysis that needs them up front finds them with its first
    /// events, without a pass of its own.
    pub predicted_extent: Option<(i64, i64)>,
    /// Ordered events not yet stored as rows, of a parse asked to leave them
    /// ([`crate::ParseOptions::unconverted`]); they come after those in `events`.
    pub unconverted: Option<Box<crate::reader::Unconverted>>,
}

impl Trace {
    /// Empties the events and the side tables their rows index (range attributes, u64s,
    /// clock snapshots, experimental arguments): rows stored afterwards index the side
    /// tables from zero again. Strings and stacks stay (they are trace-wide).
    pub fn clear_events(&mut self) {
        self.cleared += self.pending() as u64;
        self.events.clear();
        if let Some(u) = &mut self.unconverted {
            u.clear();
        }
        self.range_attrs.clear();
        self.u64s.clear();
        self.clock_snapshots.clear();
        self.experimental.clear();
    }

    /// Events held: rows and events not yet converted ([`Trace::unconverted`]).
    #[inline]
    pub fn pending(&self) -> usize {
        self.events.len() + self.unconverted.as_ref().map_or(0, |u| u.len())
    }

    /// Function name of the innermost frame of stack `id` (None for stack 0 / empty stacks).
    pub fn stack_top_func(&self, id: u32) -> Option<&[u8]> {
        let f = self.stacks.frames_of(id).first()?;
        Some(self.strings.get(self.stacks.frames[*f as usize].func))
    }
}
