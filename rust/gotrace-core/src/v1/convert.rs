//! Go's `traceV1Converter`: the merged v1 event list becomes the v2 event model (state
//! transitions, ranges, metrics, annotations) with a Sync before the first and after the
//! last event, appended straight into the columnar store.

use rustc_hash::{FxHashMap, FxHashSet};

use super::parse::*;
use crate::error::TraceError;
use crate::order::tables::{DenseMap, GMap};
use crate::store::{gostate as G, procstate as P, resource, EventKind, Frame, Row, Trace, NO_TASK};

/// Block reasons and STW kinds the converter adds to the string table, in Go's order.
const BUILTINS: [&str; 29] = [
    "forever",
    "preempted",
    "runtime.Gosched",
    "sleep",
    "chan send",
    "chan receive",
    "network",
    "sync",
    "sync.(*Cond).Wait",
    "select",
    "",
    "GC mark assist wait for work",
    "",
    "GC mark termination",
    "GC sweep termination",
    "write heap dump",
    "goroutine profile",
    "goroutine profile cleanup",
    "all goroutine stack trace",
    "read mem stats",
    "AllThreadsSyscall",
    "GOMAXPROCS",
    "start trace",
    "stop trace",
    "CountPagesInUse (test)",
    "ReadMetricsSlow (test)",
    "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)",
    "ResetDebugLog (test)",
];
const S_STW_UNKNOWN: usize = 12;
const NUM_STW_REASONS: u64 = 17;

/// A GoSysCall whose goroutine's next event is GoSysBlock (private marker type).
const EV_GO_SYS_CALL_BLOCKED: u8 = 200;

struct Conv<'t, 'a> {
    v1: &'t V1Trace<'a>,
    trace: &'t mut Trace,
    max_string: u64,
    builtin: [u32; 29],
    string_cache: FxHashMap<u64, u32>,
    stack_cache: GMap<u32>,
    stw_names: FxHashMap<u32, u32>,
    n_gomaxprocs: u32,
    n_heap_objects: u32,
    n_heap_goal: u32,
    n_gc_mark: u32,
    n_gc_sweep: u32,
    n_gc_assist: u32,
    last_ts: i64,
}

fn panic_err(msg: String) -> TraceError {
    TraceError::validation(format!("panic in trace parser: {msg}"))
}

impl<'t, 'a> Conv<'t, 'a> {
    /// The converter's string table: v1 strings, then inline strings, then the builtins.
    fn raw_string(&self, id: u64) -> Option<&'a [u8]> {
        if id == 0 {
            return Some(b"");
        }
        if let Some(s) = self.v1.strings.get(&id) {
            return Some(s);
        }
        if id <= self.max_string {
            return None;
        }
        let k = id - self.max_string - 1;
        let n_inline = self.v1.inline_strings.len() as u64;
        if k < n_inline {
            return Some(self.v1.inline_strings[k as usize]);
        }
        let k = k - n_inline;
        if k < BUILTINS.len() as u64 {
            return Some(BUILTINS[k as usize].as_bytes());
        }
        None
    }

    /// Go's `strings.mustGet`, interned; a miss is Go's panic, reported as an error.
    fn string(&mut self, id: u64) -> Result<u32, TraceError> {
        if let Some(&g) = self.string_cache.get(&id) {
            return Ok(g);
        }
        let Some(s) = self.raw_string(id) else {
            return Err(panic_err(format!("expected id {id} in string table")));
        };
        let g = self.trace.strings.intern(s);
        self.string_cache.insert(id, g);
        Ok(g)
    }

    /// A stack by v1 ID, interned. A missing stack is Go's panic when its frames are read.
    fn stack(&mut self, id: u64) -> Result<u32, TraceError> {
        if id == 0 {
            return Ok(0);
        }
        if let Some(&g) = self.stack_cache.get(&(id as i64)) {
            return Ok(g);
        }
        let missing = || panic_err(format!("expected id {id} in trace.stack table"));
        if id > u32::MAX as u64 {
            return Err(missing());
        }
        let Some(&(start, n)) = self.v1.stacks.get(&(id as u32)) else {
            return Err(missing());
        };
        let mut frames = Vec::with_capacity(n as usize);
        for (i, &pc) in self.v1.stack_pcs[start as usize..(start + n) as usize]
            .iter()
            .enumerate()
        {
            let (f, file, line) = self.v1.pcs.get(&pc).copied().unwrap_or((0, 0, 0));
            let fs = self.raw_string(f);
            let ls = self.raw_string(file);
            if i == 0 && (fs.is_none() || ls.is_none()) {
                let bad = if fs.is_none() { f } else { file };
                return Err(panic_err(format!("expected id {bad} in string table")));
            }
            let func = self.trace.strings.intern(fs.unwrap_or(b""));
            let file = self.trace.strings.intern(ls.unwrap_or(b""));
            frames.push(self.trace.stacks.intern_frame(Frame {
                pc,
                func,
                file,
                line,
            }));
        }
        let g = self.trace.stacks.intern_stack(&frames);
        self.stack_cache.insert(id as i64, g);
        Ok(g)
    }

    fn push(&mut self, mut row: Row) {
        if row.time <= self.last_ts {
            row.time = self.last_ts.wrapping_add(1);
        }
        self.last_ts = row.time;
        self.trace.events.push(&row);
    }

    fn stw_name(&mut self, reason: u32) -> u32 {
        if let Some(&n) = self.stw_names.get(&reason) {
            return n;
        }
        let mut s = b"stop-the-world (".to_vec();
        s.extend_from_slice(self.trace.strings.get(reason));
        s.push(b')');
        let n = self.trace.strings.intern(&s);
        self.stw_names.insert(reason, n);
        n
    }
}

fn go_row(time: i64, g: i64, p: i64, m: i64, id: i64, from: u8, to: u8) -> Row {
    Row {
        time,
        kind: EventKind::StateTransition as u8,
        g,
        p,
        m,
        res_kind: resource::GOROUTINE,
        arg: id,
        from,
        to,
        ..Row::default()
    }
}

/// Converts the parsed v1 trace into `trace.events`. On error, the events converted so
/// far stay (as Go's reader yields them before failing).
pub fn convert(v1: &mut V1Trace<'_>, ver: u32, trace: &mut Trace) -> Result<(), TraceError> {
    convert_with(v1, ver, trace, &mut |_, _| false, None)
}

/// [`convert`], asking `check(trace, events converted)` every [`super::CHECK_EVERY`]
/// events whether to stop (then the result is an `Interrupted` error). With a `helper`,
/// the table's pages are faulted in on another thread ahead of the writer.
pub fn convert_with(
    v1: &mut V1Trace<'_>,
    ver: u32,
    trace: &mut Trace,
    check: &mut dyn FnMut(&mut Trace, usize) -> bool,
    helper: Option<&rayon::Scope<'_>>,
) -> Result<(), TraceError> {
    let max_string = v1.strings.keys().copied().max().unwrap_or(0);
    if max_string
        .checked_add(v1.inline_strings.len() as u64)
        .and_then(|m| m.checked_add(BUILTINS.len() as u64))
        .is_none()
    {
        return Err(TraceError::validation("trace contains too many strings"));
    }
    // Mark syscalls whose goroutine blocks next (Go looks ahead from each GoSysCall).
    {
        // Goroutine IDs are dense: a vector-backed map, not a hash map, on this pass over
        // every event.
        let mut next_of_g: GMap<u8> = GMap::default();
        for (i, ev) in v1.events.iter_mut().rev().enumerate() {
            if i % super::CHECK_EVERY == super::CHECK_EVERY - 1 && check(trace, 0) {
                return Err(TraceError::interrupted());
            }
            let t = ev.typ;
            let g = ev.g as i64;
            if t == EV_GO_SYS_CALL && next_of_g.get(&g) == Some(&EV_GO_SYS_BLOCK) {
                ev.typ = EV_GO_SYS_CALL_BLOCKED;
            }
            match next_of_g.get_mut(&g) {
                Some(x) => *x = t,
                None => next_of_g.insert(g, t),
            }
        }
    }
    if check(trace, 0) {
        return Err(TraceError::interrupted());
    }
    let events = std::mem::take(&mut v1.events);
    let v1: &V1Trace<'_> = v1;
    trace.events = crate::store::Events::with_capacity(events.len() + events.len() / 8 + 4);
    // With a helper, a pool thread faults in the table's pages ahead of the writer and
    // frees the converted chunks of the merged list (unmapping them here would wait for
    // the address-space lock its faulting holds). It stays at most ~1M rows (56 MB)
    // ahead: the list shrinks as the table grows, and faulting in the whole table at
    // once would hold both. The conversion adds a few events per hundred (syscall and GC
    // ranges): it faults in about that many rows; the writer faults in any more itself.
    let spent = helper.map(|h| {
        let job = trace.events.prefault_job();
        let rows = events.len() + events.len() / 32 + 4;
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Ev>>();
        h.spawn(move |_| {
            job.run_following(rows, 1 << 20, &mut || while rx.try_recv().is_ok() {});
            while rx.recv().is_ok() {}
        });
        tx
    });
    let mut builtin = [0u32; 29];
    for (i, b) in BUILTINS.iter().enumerate() {
        builtin[i] = trace.strings.intern(b.as_bytes());
    }
    let s = &mut trace.strings;
    let (n_gomaxprocs, n_heap_objects, n_heap_goal, n_gc_mark, n_gc_sweep, n_gc_assist) = (
        s.intern(b"/sched/gomaxprocs:threads"),
        s.intern(b"/memory/classes/heap/objects:bytes"),
        s.intern(b"/gc/heap/goal:bytes"),
        s.intern(b"GC concurrent mark phase"),
        s.intern(b"GC incremental sweep"),
        s.intern(b"GC mark assist"),
    );
    if check(trace, 0) {
        return Err(TraceError::interrupted());
    }
    let mut c = Conv {
        v1,
        trace,
        max_string,
        builtin,
        string_cache: FxHashMap::default(),
        stack_cache: GMap::default(),
        stw_names: FxHashMap::default(),
        n_gomaxprocs,
        n_heap_objects,
        n_heap_goal,
        n_gc_mark,
        n_gc_sweep,
        n_gc_assist,
        last_ts: -1,
    };
    let mut syncs = 0i64;
    if let Some(first) = events.first() {
        syncs += 1;
        c.trace.events.push(&Row {
            time: first.ts.wrapping_sub(1),
            kind: EventKind::Sync as u8,
            g: -1,
            p: -1,
            m: -1,
            arg: syncs,
            ..Row::default()
        });
    }
    let r = convert_events(&mut c, events, ver, check, spent.as_ref());
    c.trace.events.stop_prefault();
    drop(spent);
    if r.is_ok() {
        syncs += 1;
        let t = c.last_ts.wrapping_add(1);
        c.trace.events.push(&Row {
            time: t,
            kind: EventKind::Sync as u8,
            g: -1,
            p: -1,
            m: -1,
            arg: syncs,
            ..Row::default()
        });
        // Go treats the whole v1 trace as one generation.
        c.trace.generations = (syncs - 1) as u64;
    }
    r
}

/// `spent`: where converted chunks of `events` go to be freed (else they are freed here).
fn convert_events(
    c: &mut Conv<'_, '_>,
    events: EvList,
    ver: u32,
    check: &mut dyn FnMut(&mut Trace, usize) -> bool,
    spent: Option<&std::sync::mpsc::Sender<Vec<Ev>>>,
) -> Result<(), TraceError> {
    let v1 = c.v1;
    let mut pre_init = true;
    let mut created_order: Vec<u64> = Vec::new();
    let mut created: FxHashSet<u64> = FxHashSet::default();
    let mut tasks: FxHashMap<u64, (u32, u64)> = FxHashMap::default();
    let mut seen_procs: DenseMap<()> = DenseMap::default();
    let mut proc_ms: DenseMap<u64> = DenseMap::default();
    let mut last_stw_reason: u32 = 0;
    let b = c.builtin;
    let mut chunks = events.into_chunks().into_iter();
    let mut chunk: Vec<Ev> = Vec::new();
    let mut i = 0;
    // Events converted so far (for `check`).
    let mut n = 0usize;
    'events: loop {
        while i == chunk.len() {
            let Some(next) = chunks.next() else {
                break 'events;
            };
            let done = std::mem::replace(&mut chunk, next);
            if let Some(tx) = spent {
                let _ = tx.send(done);
            }
            i = 0;
        }
        let ev = chunk[i];
        i += 1;
        n += 1;
        if n.is_multiple_of(super::CHECK_EVERY) && check(c.trace, n) {
            return Err(TraceError::interrupted());
        }
        let t = ev.ts;
        let g = if ev.g == 0 { -1 } else { ev.g as i64 };
        let p = ev.p as i64;
        let mut m = -1i64;
        if ev.p != -1 && ev.typ != EV_CPU_SAMPLE {
            if ev.typ == EV_PROC_START {
                m = ev.args[0] as i64;
            } else if let Some(&x) = proc_ms.get(&(ev.p as i64)) {
                m = x as i64;
            }
        }
        // The few events Go builds with its own context use a plain map read (0 if unset).
        let raw_m = || proc_ms.get(&(ev.p as i64)).copied().unwrap_or(0) as i64;
        // Go resolves a stack only when an emitted event is read, never for skipped ones.
        let skipped = ev.typ == EV_GO_SYS_BLOCK
            || (pre_init && (ev.typ == EV_GOMAXPROCS || ev.typ == EV_GO_CREATE));
        let stk = if skipped { 0 } else { c.stack(ev.stk as u64)? };
        let base = Row {
            time: t,
            g,
            p,
            m,
            ..Row::default()
        };
        let range = |kind: EventKind, name: u32, rk: u8, id: i64, stack: u32| Row {
            kind: kind as u8,
            name,
            res_kind: rk,
            arg: id,
            stack,
            ..base
        };
        let block = |reason: usize, to: u8| Row {
            name: b[reason],
            stack: stk,
            aux: stk,
            ..go_row(t, g, p, m, g, G::RUNNING, to)
        };
        let status = |id: u64, to: u8| go_row(t, g, p, m, id as i64, G::UNDETERMINED, to);
        let row = match ev.typ {
            EV_GOMAXPROCS => {
                if pre_init {
                    pre_init = false;
                    for &gid in &created_order {
                        if created.remove(&gid) {
                            c.push(go_row(
                                t,
                                -1,
                                -1,
                                -1,
                                gid as i64,
                                G::UNDETERMINED,
                                G::RUNNABLE,
                            ));
                        }
                    }
                    created_order = Vec::new();
                    continue;
                }
                Row {
                    kind: EventKind::Metric as u8,
                    name: c.n_gomaxprocs,
                    arg: ev.args[0] as i64,
                    stack: stk,
                    ..base
                }
            }
            EV_PROC_START => {
                proc_ms.insert(ev.p as i64, ev.args[0]);
                let seen = seen_procs.get(&(ev.p as i64)).is_some();
                seen_procs.insert(ev.p as i64, ());
                let from = if !seen { P::UNDETERMINED } else { P::IDLE };
                Row {
                    kind: EventKind::StateTransition as u8,
                    res_kind: resource::PROC,
                    arg: p,
                    from,
                    to: P::RUNNING,
                    ..base
                }
            }
            EV_PROC_STOP => {
                let seen = seen_procs.get(&(ev.p as i64)).is_some();
                seen_procs.insert(ev.p as i64, ());
                let from = if !seen { P::UNDETERMINED } else { P::RUNNING };
                proc_ms.remove(&(ev.p as i64));
                Row {
                    kind: EventKind::StateTransition as u8,
                    res_kind: resource::PROC,
                    arg: p,
                    from,
                    to: P::IDLE,
                    ..base
                }
            }
            EV_GC_START => range(EventKind::RangeBegin, c.n_gc_mark, resource::NONE, 0, stk),
            EV_GC_DONE => range(EventKind::RangeEnd, c.n_gc_mark, resource::NONE, 0, 0),
            EV_STW_START => {
                let k = ev.args[0];
                let reason = if ver < 21 {
                    if k == 0 || k == 1 {
                        k + 1
                    } else {
                        0
                    }
                } else if k < NUM_STW_REASONS {
                    k
                } else {
                    0
                };
                last_stw_reason = b[S_STW_UNKNOWN + reason as usize];
                let n = c.stw_name(last_stw_reason);
                range(EventKind::RangeBegin, n, resource::GOROUTINE, g, 0)
            }
            EV_STW_DONE => {
                let n = c.stw_name(last_stw_reason);
                range(EventKind::RangeEnd, n, resource::GOROUTINE, g, 0)
            }
            EV_GC_SWEEP_START => range(EventKind::RangeBegin, c.n_gc_sweep, resource::PROC, p, stk),
            EV_GC_SWEEP_DONE => {
                c.trace.range_attrs.push([ev.args[0], ev.args[1]]);
                Row {
                    aux: c.trace.range_attrs.len() as u32,
                    ..range(EventKind::RangeEnd, c.n_gc_sweep, resource::PROC, p, 0)
                }
            }
            EV_GO_CREATE => {
                if pre_init {
                    if created.insert(ev.args[0]) {
                        created_order.push(ev.args[0]);
                    }
                    continue;
                }
                let new_stack = c.stack(ev.args[1])?;
                Row {
                    stack: stk,
                    aux: new_stack,
                    ..go_row(t, g, p, m, ev.args[0] as i64, G::NOT_EXIST, G::RUNNABLE)
                }
            }
            EV_GO_START => {
                if pre_init {
                    created.remove(&ev.args[0]);
                    status(ev.args[0], G::RUNNING)
                } else {
                    go_row(t, g, p, m, ev.args[0] as i64, G::RUNNABLE, G::RUNNING)
                }
            }
            EV_GO_START_LABEL => {
                let gg = ev.g as i64;
                c.push(go_row(
                    t,
                    gg,
                    p,
                    raw_m(),
                    ev.args[0] as i64,
                    G::RUNNABLE,
                    G::RUNNING,
                ));
                // The Label is a separate event: a bad label string fails after the start.
                let label = c.string(ev.args[2])?;
                Row {
                    time: t,
                    kind: EventKind::Label as u8,
                    g: gg,
                    p,
                    m: raw_m(),
                    name: label,
                    res_kind: resource::GOROUTINE,
                    arg: gg,
                    ..Row::default()
                }
            }
            EV_GO_END => go_row(t, g, p, m, g, G::RUNNING, G::NOT_EXIST),
            EV_GO_STOP => block(0, G::WAITING),
            EV_GO_SCHED => block(2, G::RUNNABLE),
            EV_GO_PREEMPT => block(1, G::RUNNABLE),
            EV_GO_SLEEP => block(3, G::WAITING),
            EV_GO_BLOCK => block(10, G::WAITING),
            EV_GO_BLOCK_SEND => block(4, G::WAITING),
            EV_GO_BLOCK_RECV => block(5, G::WAITING),
            EV_GO_BLOCK_SELECT => block(9, G::WAITING),
            EV_GO_BLOCK_SYNC => block(7, G::WAITING),
            EV_GO_BLOCK_COND => block(8, G::WAITING),
            EV_GO_BLOCK_NET => block(6, G::WAITING),
            EV_GO_BLOCK_GC => block(11, G::WAITING),
            EV_GO_UNBLOCK => Row {
                stack: stk,
                ..go_row(t, g, p, m, ev.args[0] as i64, G::WAITING, G::RUNNABLE)
            },
            EV_GO_SYS_CALL_BLOCKED => Row {
                stack: stk,
                aux: stk,
                ..go_row(t, g, p, m, g, G::RUNNING, G::SYSCALL)
            },
            EV_GO_SYS_CALL => {
                let gg = ev.g as i64;
                c.push(Row {
                    stack: stk,
                    aux: stk,
                    ..go_row(t, gg, p, raw_m(), gg, G::RUNNING, G::SYSCALL)
                });
                go_row(
                    t.wrapping_add(1),
                    gg,
                    p,
                    raw_m(),
                    gg,
                    G::SYSCALL,
                    G::RUNNING,
                )
            }
            EV_GO_SYS_EXIT => go_row(t, g, p, m, g, G::SYSCALL, G::RUNNABLE),
            EV_GO_SYS_BLOCK => continue,
            EV_GO_WAITING => {
                created.remove(&ev.args[0]);
                status(ev.args[0], G::WAITING)
            }
            EV_GO_IN_SYSCALL => {
                created.remove(&ev.args[0]);
                status(ev.args[0], G::SYSCALL)
            }
            EV_HEAP_ALLOC | EV_HEAP_GOAL => Row {
                kind: EventKind::Metric as u8,
                name: if ev.typ == EV_HEAP_ALLOC {
                    c.n_heap_objects
                } else {
                    c.n_heap_goal
                },
                arg: ev.args[0] as i64,
                ..base
            },
            EV_GC_MARK_ASSIST_START => range(
                EventKind::RangeBegin,
                c.n_gc_assist,
                resource::GOROUTINE,
                g,
                stk,
            ),
            EV_GC_MARK_ASSIST_DONE => range(
                EventKind::RangeEnd,
                c.n_gc_assist,
                resource::GOROUTINE,
                g,
                0,
            ),
            EV_USER_TASK_CREATE => {
                let parent = if ev.args[1] == 0 { NO_TASK } else { ev.args[1] };
                let name = c.raw_string(ev.args[2]).map(|s| c.trace.strings.intern(s));
                tasks.insert(ev.args[0], (name.unwrap_or(0), ev.args[1]));
                let typ = c.string(ev.args[2])?;
                c.trace.u64s.push(parent);
                Row {
                    kind: EventKind::TaskBegin as u8,
                    arg: ev.args[0] as i64,
                    name: typ,
                    aux: (c.trace.u64s.len() - 1) as u32,
                    stack: stk,
                    ..base
                }
            }
            EV_USER_TASK_END => {
                let (name, parent) = tasks.remove(&ev.args[0]).unwrap_or((0, NO_TASK));
                c.trace.u64s.push(parent);
                Row {
                    kind: EventKind::TaskEnd as u8,
                    arg: ev.args[0] as i64,
                    name,
                    aux: (c.trace.u64s.len() - 1) as u32,
                    stack: stk,
                    ..base
                }
            }
            EV_USER_REGION => {
                let kind = match ev.args[1] {
                    0 => EventKind::RegionBegin,
                    1 => EventKind::RegionEnd,
                    _ => EventKind::Bad,
                };
                let typ = c.string(ev.args[2])?;
                Row {
                    kind: kind as u8,
                    arg: ev.args[0] as i64,
                    name: typ,
                    stack: stk,
                    ..base
                }
            }
            EV_USER_LOG => {
                let cat = c.string(ev.args[1])?;
                let text = v1.inline_strings.get(ev.args[2] as usize).copied();
                let msg = c.trace.strings.intern(text.unwrap_or(b""));
                Row {
                    kind: EventKind::Log as u8,
                    arg: ev.args[0] as i64,
                    name: cat,
                    aux: msg,
                    stack: stk,
                    ..base
                }
            }
            EV_CPU_SAMPLE => Row {
                kind: EventKind::StackSample as u8,
                stack: stk,
                m: -1,
                ..base
            },
            typ => {
                return Err(TraceError::validation(format!(
                    "unexpected event type {typ}"
                )))
            }
        };
        c.push(row);
    }
    Ok(())
}
