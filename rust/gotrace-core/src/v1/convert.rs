//! Go's `traceV1Converter`: the re-sorted v1 event list becomes the v2 event model (state
//! transitions, ranges, metrics, annotations) with a Sync before the first and after the
//! last event, appended straight into the columnar store as the list is replayed.

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
    v1: &'t V1Tables<'a>,
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

/// Converts the parsed v1 trace into `trace.events`. On a conversion error, the events
/// converted so far stay (as Go's reader yields them before failing); on an error of Go's
/// checks after the re-sort, which fail Go's whole parse, none do.
pub fn convert(v1: V1Trace<'_>, ver: u32, trace: &mut Trace) -> Result<(), TraceError> {
    convert_with(v1, ver, trace, &mut |_, _| false, None, false)
}

/// Where the conversion takes its look-ahead from each GoSysCall (does the goroutine's
/// next event in the re-sorted list block the syscall?).
enum Lookahead {
    /// As in the merged list: the same unless a moved exit landed before an earlier
    /// event of its goroutine ([`Merged::jumped`]).
    Merged,
    /// Worked out over the re-sorted list, before the conversion.
    Final(PosBits),
}

/// [`convert`], asking `check(trace, events converted)` every [`super::CHECK_EVERY`]
/// events whether to stop (then the result is an `Interrupted` error). With a `helper`,
/// the events are replayed on another thread, and the table's pages are faulted in ahead
/// of the writer unless `drained` (`check` then empties the table each time).
pub fn convert_with<'s>(
    mut v1: V1Trace<'_>,
    ver: u32,
    trace: &mut Trace,
    check: &mut dyn FnMut(&mut Trace, usize) -> bool,
    helper: Option<&'s std::thread::Scope<'s, '_>>,
    drained: bool,
) -> Result<(), TraceError> {
    let max_string = v1.tables.strings.keys().copied().max().unwrap_or(0);
    if max_string
        .checked_add(v1.tables.inline_strings.len() as u64)
        .and_then(|m| m.checked_add(BUILTINS.len() as u64))
        .is_none()
    {
        // Go counts the strings when its converter starts, after its parse, of which the
        // checks after the re-sort are part: their error comes first.
        let e = match final_lookahead(&mut v1) {
            Err(e) => e,
            Ok(_) => TraceError::validation("trace contains too many strings"),
        };
        return Err(failed(trace, e));
    }
    let look =
        if v1.merged.jumped || FORCE_FINAL_LOOKAHEAD.load(std::sync::atomic::Ordering::Relaxed) {
            // Go's checks run over the re-sorted list here too: their error fails the parse.
            match final_lookahead(&mut v1) {
                Ok(bits) => Lookahead::Final(bits),
                Err(e) => return Err(failed(trace, e)),
            }
        } else {
            Lookahead::Merged
        };
    let n = v1.merged.len();
    // The table may have been made (and be being faulted in) already.
    if drained {
        trace.events = crate::store::Events::with_capacity(table_rows(super::CHECK_EVERY));
    } else if !trace.events.is_empty() || trace.events.capacity() < table_rows(n) {
        trace.events = crate::store::Events::with_capacity(table_rows(n));
        // With a helper, another thread faults in the table's pages ahead of the writer.
        // The conversion adds a few events per hundred (syscall and GC ranges): it faults
        // in about that many rows; the writer faults in any more itself.
        if let Some(h) = helper {
            let job = trace.events.prefault_job();
            let rows = n + n / 32 + 4;
            h.spawn(move || job.run(rows));
        }
    }
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
    let V1Trace {
        tables,
        merged,
        dec,
        freq,
    } = &mut v1;
    let mut c = Conv {
        v1: tables,
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
    let r = convert_events(
        &mut c,
        merged,
        dec,
        *freq,
        ver,
        check,
        &look,
        helper.is_some(),
    );
    c.trace.events.stop_prefault();
    match r {
        Err(Once::Failed(e)) => Err(failed(trace, e)),
        Err(Once::Converted(e)) => Err(e),
        Ok(()) => Ok(()),
    }
}

/// Go's checks after the re-sort fail its whole parse: nothing is yielded.
fn failed(trace: &mut Trace, e: TraceError) -> TraceError {
    trace.events.stop_prefault();
    *trace = Trace {
        version: trace.version,
        ..Trace::default()
    };
    e
}

/// Makes the conversion work out its look-ahead over the re-sorted list even when the
/// merged list's is the same (for tests: the result must not change).
pub static FORCE_FINAL_LOOKAHEAD: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The look-ahead from each GoSysCall over the re-sorted list, by merged position.
fn final_lookahead(v1: &mut V1Trace<'_>) -> Result<PosBits, TraceError> {
    let mut bits = PosBits::default();
    let mut last_call: GMap<u32> = GMap::default();
    let mut list = Final::new(&v1.merged, &mut v1.dec, &v1.tables.stacks, v1.freq);
    let mut ev = Ev::default();
    while let Some(at) = list.next(&mut ev).map_err(|e| *e)? {
        let g = ev.g as i64;
        match last_call.get_mut(&g) {
            Some(c) => look_ahead(c, at, ev.typ, &mut bits),
            None => {
                let mut c = 0;
                look_ahead(&mut c, at, ev.typ, &mut bits);
                if c != 0 {
                    last_call.insert(g, c);
                }
            }
        }
    }
    Ok(bits)
}

/// How the conversion ended early.
enum Once {
    /// Go's checks after the re-sort failed.
    Failed(TraceError),
    /// The conversion failed (or was interrupted) after the events in the table.
    Converted(TraceError),
}

/// Rows to reserve for `n` listed events: the conversion adds a few per hundred.
pub(crate) fn table_rows(n: usize) -> usize {
    n + n / 8 + 4
}

/// Events handed from the replaying thread to the converting one at a time.
const CHUNK: usize = 4096;

/// Replays the re-sorted list and converts it, on one thread or (`pipelined`) replaying
/// and checking on a second thread while this one converts.
#[allow(clippy::too_many_arguments)]
fn convert_events(
    c: &mut Conv<'_, '_>,
    merged: &Merged,
    dec: &mut Parser<'_>,
    freq: f64,
    ver: u32,
    check: &mut dyn FnMut(&mut Trace, usize) -> bool,
    look: &Lookahead,
    pipelined: bool,
) -> Result<(), Once> {
    let tables = c.v1;
    let mut out = Out::new(merged, look);
    if !pipelined {
        let mut list = Final::new(merged, dec, &tables.stacks, freq);
        let mut ev = Ev::default();
        while let Some(at) = list.next(&mut ev).map_err(|e| Once::Failed(*e))? {
            out.event(c, at, ev, ver, check)?;
        }
        return out.finish(c);
    }
    type Chunk = Vec<(u32, Ev)>;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, Box<TraceError>>>(4);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Chunk>();
        s.spawn(move || {
            let mut list = Final::new(merged, dec, &tables.stacks, freq);
            let mut ev = Ev::default();
            loop {
                let mut chunk = back_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
                chunk.clear();
                let mut end = false;
                while chunk.len() < CHUNK {
                    match list.next(&mut ev) {
                        Ok(Some(at)) => chunk.push((at, ev)),
                        Ok(None) => {
                            end = true;
                            break;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                // The converter hung up: it failed or was interrupted.
                if (!chunk.is_empty() && tx.send(Ok(chunk)).is_err()) || end {
                    return;
                }
            }
        });
        // Returning early drops `rx`, which ends the replaying thread at its next send.
        for chunk in rx {
            let chunk = chunk.map_err(|e| Once::Failed(*e))?;
            for &(at, ev) in &chunk {
                out.event(c, at, ev, ver, check)?;
            }
            let _ = back_tx.send(chunk);
        }
        out.finish(c)
    })
}

/// The `n`th Sync (the conversion puts one before the first and one after the last event).
fn sync_row(time: i64, n: i64) -> Row {
    Row {
        time,
        kind: EventKind::Sync as u8,
        g: -1,
        p: -1,
        m: -1,
        arg: n,
        ..Row::default()
    }
}

/// The converting side: the look-ahead, its check, the Syncs and the conversion proper.
struct Out<'m> {
    merged: &'m Merged,
    look: &'m Lookahead,
    step: Step,
    syncs: i64,
    /// A conversion error: Go's checks still run over the rest, and win if they fail.
    failed: Option<TraceError>,
    n: usize,
}

impl<'m> Out<'m> {
    fn new(merged: &'m Merged, look: &'m Lookahead) -> Self {
        Out {
            merged,
            look,
            step: Step::new(),
            syncs: 0,
            failed: None,
            n: 0,
        }
    }

    #[inline]
    fn event(
        &mut self,
        c: &mut Conv<'_, '_>,
        at: u32,
        mut ev: Ev,
        ver: u32,
        check: &mut dyn FnMut(&mut Trace, usize) -> bool,
    ) -> Result<(), Once> {
        self.n += 1;
        if self.n.is_multiple_of(super::CHECK_EVERY) && check(c.trace, self.n) {
            return Err(Once::Converted(TraceError::interrupted()));
        }
        if ev.typ == EV_GO_SYS_CALL {
            let blocked = match self.look {
                Lookahead::Merged => self.merged.blocked.get(at),
                Lookahead::Final(bits) => bits.get(at),
            };
            if blocked {
                ev.typ = EV_GO_SYS_CALL_BLOCKED;
            }
        }
        if self.failed.is_some() {
            return Ok(());
        }
        if self.syncs == 0 {
            self.syncs = 1;
            c.trace
                .events
                .push(&sync_row(ev.ts.wrapping_sub(1), self.syncs));
        }
        if let Err(e) = self.step.event(c, ev, ver) {
            self.failed = Some(e);
        }
        Ok(())
    }

    fn finish(mut self, c: &mut Conv<'_, '_>) -> Result<(), Once> {
        if let Some(e) = self.failed {
            return Err(Once::Converted(e));
        }
        self.syncs += 1;
        c.trace
            .events
            .push(&sync_row(c.last_ts.wrapping_add(1), self.syncs));
        // Go treats the whole v1 trace as one generation.
        c.trace.generations = (self.syncs - 1) as u64;
        Ok(())
    }
}

/// The conversion's own state, event to event.
#[derive(Default)]
struct Step {
    pre_init: bool,
    created_order: Vec<u64>,
    created: FxHashSet<u64>,
    tasks: FxHashMap<u64, (u32, u64)>,
    seen_procs: DenseMap<()>,
    proc_ms: DenseMap<u64>,
    last_stw_reason: u32,
}

impl Step {
    fn new() -> Self {
        Step {
            pre_init: true,
            ..Step::default()
        }
    }

    /// Converts one event of the re-sorted list (a GoSysCall whose goroutine blocks next
    /// already retyped as [`EV_GO_SYS_CALL_BLOCKED`]).
    fn event(&mut self, c: &mut Conv<'_, '_>, ev: Ev, ver: u32) -> Result<(), TraceError> {
        let v1 = c.v1;
        let b = c.builtin;
        let Step {
            pre_init,
            created_order,
            created,
            tasks,
            seen_procs,
            proc_ms,
            last_stw_reason,
        } = self;
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
            || (*pre_init && (ev.typ == EV_GOMAXPROCS || ev.typ == EV_GO_CREATE));
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
                if *pre_init {
                    *pre_init = false;
                    for &gid in created_order.iter() {
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
                    *created_order = Vec::new();
                    return Ok(());
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
                *last_stw_reason = b[S_STW_UNKNOWN + reason as usize];
                let n = c.stw_name(*last_stw_reason);
                range(EventKind::RangeBegin, n, resource::GOROUTINE, g, 0)
            }
            EV_STW_DONE => {
                let n = c.stw_name(*last_stw_reason);
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
                if *pre_init {
                    if created.insert(ev.args[0]) {
                        created_order.push(ev.args[0]);
                    }
                    return Ok(());
                }
                let new_stack = c.stack(ev.args[1])?;
                Row {
                    stack: stk,
                    aux: new_stack,
                    ..go_row(t, g, p, m, ev.args[0] as i64, G::NOT_EXIST, G::RUNNABLE)
                }
            }
            EV_GO_START => {
                if *pre_init {
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
            EV_GO_SYS_BLOCK => return Ok(()),
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
        Ok(())
    }
}
