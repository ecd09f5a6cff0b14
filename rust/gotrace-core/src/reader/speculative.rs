//! Generations ordered side by side: while the reader orders generation k, another
//! thread orders generation k+1 speculatively ([`crate::order::speculate`]) into rows
//! of its own; the reader then checks the speculation's assumptions against the state
//! generation k left and, if they hold, appends those rows (completed: global string
//! and stack IDs, times after the previous generation's, the unknown thread states and
//! task types filled in) instead of ordering the generation itself. If they do not
//! hold, or the speculation met anything it could not decide (an error included), the
//! generation is decoded again and ordered the ordinary way, so the result is always
//! the sequential reader's.

use std::sync::mpsc;

use super::{Hook, Loaded, MStream, Names, Ordering, Out, Prepared, Reader, Supply, WORK_CHECK};
use crate::error::TraceError;
use crate::generation;
use crate::generation::{Generation, Pending, Tables};
use crate::order::speculate::{is_unknown, Resolved as Known, HOLDER, TASK_UNKNOWN};
use crate::order::QEvent;
use crate::store::{EventKind, Events, Row, Trace};
use crate::wire::spec;

/// Rows of a speculation that the merge completes (indices into its rows).
#[derive(Default, Debug)]
pub(super) struct SpecRows {
    /// Rows holding an unknown thread state (goroutine, proc, or an ID taken from them):
    /// (row, g, p, arg) as ordered; the row itself holds -1 there, so that the table
    /// keeps its narrow ID columns.
    unknown: Vec<(u32, i64, i64, i64)>,
    /// Task ends whose begin the speculation did not see.
    tasks: Vec<u32>,
    /// STW ranges, whose names hold the reason's local string ID.
    stw: Vec<u32>,
    /// Rows whose thread the merge finds ([`HOLDER`]).
    holders: Vec<u32>,
}

impl SpecRows {
    #[inline]
    pub(super) fn note(&mut self, q: &QEvent, i: u32, row: &mut Row) {
        if q.ctx.m == HOLDER {
            self.holders.push(i);
            row.m = -1;
        } else if is_unknown(q.ctx.g) || is_unknown(q.ctx.p) {
            self.unknown.push((i, row.g, row.p, row.arg));
            for v in [&mut row.g, &mut row.p, &mut row.arg] {
                if is_unknown(*v) {
                    *v = -1;
                }
            }
        }
        match q.ev.typ {
            spec::EV_USER_TASK_END if q.ev.args[3] == TASK_UNKNOWN => self.tasks.push(i),
            spec::EV_STW_BEGIN | spec::EV_STW_END => self.stw.push(i),
            _ => {}
        }
    }
}

/// A finished speculation.
pub(super) struct SpecDone {
    order: Ordering,
    gen: Generation,
    streams: Vec<MStream>,
    out: Trace,
    rows: SpecRows,
}

/// What the speculation thread gives back: its result, or the generation it could not
/// order.
type SpecResult = Result<Box<SpecDone>, Box<Prepared>>;

pub(super) struct SpecJob {
    pub(super) pending: Pending,
    pub(super) pos: u64,
    pub(super) rx: mpsc::Receiver<SpecResult>,
}

/// The generation after the current one, read ahead.
pub(super) enum Ahead {
    /// The end, a read error, or a generation not ordered ahead.
    Plain(Box<Loaded>),
    Spec(SpecJob),
}

/// A speculation for the reader to merge.
pub(super) struct SpecIn {
    pub(super) res: SpecResult,
    pub(super) pending: Pending,
    pub(super) pos: u64,
}

/// Never asked: a speculation orders one generation.
struct NoSupply;

impl Supply for NoSupply {
    fn next(&mut self, _: &mut Trace, _: Vec<Vec<crate::order::BaseEvent>>, _: Vec<u8>) -> Loaded {
        unreachable!("a speculation reads no other generation")
    }

    fn unread_io_error(&mut self) {}
}

static MERGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static REDONE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Speculations merged and generations ordered again after one, in this process so far.
#[doc(hidden)]
pub fn speculation_counts() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (MERGED.load(Relaxed), REDONE.load(Relaxed))
}

/// Where a threaded drained parse's time goes, in ns summed over this process's parses
/// (see [`speculation_times`]).
static TIMES: [std::sync::atomic::AtomicU64; 5] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 5];

/// What [`TIMES`] holds, by index.
pub(super) const WAIT_SPEC: usize = 0;
pub(super) const WAIT_LOAD: usize = 1;
pub(super) const LOAD: usize = 2;
pub(super) const SPEC: usize = 3;
pub(super) const SPEC_CPU: usize = 4;

/// Runs `f`, adding its wall time to `TIMES[slot]` (and, for [`SPEC`], the thread's CPU
/// time to `TIMES[SPEC_CPU]`).
pub(super) fn timed<T>(slot: usize, f: impl FnOnce() -> T) -> T {
    use std::sync::atomic::Ordering::Relaxed;
    let (t0, c0) = (
        std::time::Instant::now(),
        (slot == SPEC).then(crate::thread_cpu),
    );
    let r = f();
    TIMES[slot].fetch_add(t0.elapsed().as_nanos() as u64, Relaxed);
    if let Some(c0) = c0 {
        let cpu = (crate::thread_cpu() - c0).max(0.0) * 1e9;
        TIMES[SPEC_CPU].fetch_add(cpu as u64, Relaxed);
    }
    r
}

/// Seconds, summed over this process's parses so far: the reader waiting for a
/// speculation, the reader waiting for a generation read ahead, the helper reading
/// generations ahead, the helper ordering speculatively (wall), and the same in CPU time.
#[doc(hidden)]
pub fn speculation_times() -> [f64; 5] {
    std::array::from_fn(|i| TIMES[i].load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9)
}

static OVERRIDE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Speculative ordering for all parses of this process: `Some(true)` even on one
/// thread and in a full parse (a speculation on one thread runs before the generation
/// before it is ordered, which tests the merge deterministically), `Some(false)` never,
/// `None` the default (drained parses of Go 1.26+ traces with more than one thread).
/// The events are the same either way.
#[doc(hidden)]
pub fn set_speculation(on: Option<bool>) {
    let v = match on {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    };
    OVERRIDE.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a reader of version `ver` speculates (`fit`: it has helper threads and hands
/// its rows on in chunks).
pub(super) fn speculation_for(ver: u32, fit: bool) -> bool {
    // Before 1.26 a generation's end is found in the next one's first batch: not read
    // ahead this way.
    ver >= 26
        && match OVERRIDE.load(std::sync::atomic::Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => fit,
        }
}

/// Orders `prep` (generation `prep.gen.gen`, its tables not merged: local string and
/// stack IDs) without the state of the generations before it.
pub(super) fn speculate(
    ver: u32,
    initial_gen: u64,
    names: Names,
    prep: Prepared,
    mut table: Events,
) -> SpecResult {
    let mut r = Reader::new(ver, names, u64::MAX);
    r.order = Ordering::speculative(ver, initial_gen);
    r.spec_rows = Some(Box::default());
    let mut out = Trace {
        version: ver,
        ..Trace::default()
    };
    let bytes = prep.event_bytes();
    let rows = prep
        .streams
        .iter()
        .map(|s| s.evs.len())
        .sum::<usize>()
        .max(bytes / 6)
        + prep.gen.cpu_samples.len()
        + 16;
    // A table of an earlier speculation (its pages already faulted in), if there is one.
    table.clear();
    if table.capacity() < rows {
        table = Events::with_capacity(rows + rows / 16);
    }
    out.events = table;
    match r.order_one(prep, &mut out) {
        Ok(()) => Ok(Box::new(SpecDone {
            order: r.order,
            gen: r.gen.take().expect("the generation"),
            streams: std::mem::take(&mut r.streams),
            out,
            rows: *r.spec_rows.take().expect("speculating"),
        })),
        Err(_) => Err(Box::new(r.take_prepared())),
    }
}

impl Reader {
    /// Orders the one generation `prep` into `out` (a speculation).
    fn order_one(&mut self, prep: Prepared, out: &mut Trace) -> Result<(), TraceError> {
        let sync = self.install_gen(Some(prep))?;
        self.emit(sync, out)?;
        loop {
            self.emit_queue(out)?;
            // A search this long is left to the ordinary reader (which can be
            // interrupted meanwhile).
            if self.work >= WORK_CHECK {
                return Err(TraceError::interrupted());
            }
            let cpu_left = self.cpu_idx < self.gen.as_ref().map_or(0, |g| g.cpu_samples.len());
            if self.frontier.is_empty() && !cpu_left {
                return Ok(());
            }
            match self.read_event(out, &mut NoSupply)? {
                Some(Out::Advanced) => {}
                Some(o @ Out::Cpu(_)) => self.emit(o, out)?,
                _ => unreachable!("a speculation stops at its generation's end"),
            }
        }
    }

    /// The generation being ordered, to be decoded and ordered again.
    fn take_prepared(&mut self) -> Prepared {
        let gen = self.gen.take().expect("the generation");
        let mut streams = std::mem::take(&mut self.streams);
        for s in &mut streams {
            s.rewind();
        }
        Prepared { gen, streams }
    }

    /// Merges the speculation `s` (see the module's doc), or installs its generation to
    /// be ordered here: then its Sync is returned. Err: the hook asked to stop.
    pub(super) fn merge_spec(
        &mut self,
        s: SpecIn,
        trace: &mut Trace,
        sup: &mut dyn Supply,
        hook: &mut Hook,
        chunk: usize,
    ) -> Result<Option<Out>, TraceError> {
        let SpecIn { res, pending, pos } = s;
        self.pos = pos;
        // The tables are merged where the ordinary reader merges them.
        let resolved = pending.merge(&mut Tables {
            strings: &mut trace.strings,
            stacks: &mut trace.stacks,
        });
        if self.index.take().is_some() {
            self.order.log_writes(false);
        }
        let mut done = match res {
            Ok(d) => d,
            Err(mut prep) => {
                prep.gen.remap(&resolved);
                return self.fall_back(*prep, trace, sup).map(Some);
            }
        };
        let n = done.out.events.len();
        let fits = trace.cleared + trace.events.len() as u64 + (n as u64) < self.limit;
        let task_ids: Vec<u64> = done
            .rows
            .tasks
            .iter()
            .map(|&i| done.out.events.arg.get(i as usize) as u64)
            .collect();
        done.order.remap_spec_strings(&|l| resolved.string(l));
        let order = std::mem::replace(&mut done.order, Ordering::new(self.ver));
        let merged = if fits {
            self.order.merge_speculation(order, &task_ids)
        } else {
            None
        };
        let Some(known) = merged else {
            done.gen.remap(&resolved);
            let mut streams = done.streams;
            for st in &mut streams {
                st.rewind();
            }
            let prep = Prepared {
                gen: done.gen,
                streams,
            };
            return self.fall_back(prep, trace, sup).map(Some);
        };
        done.gen.remap(&resolved);
        MERGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);

        // Appended in segments: the first is the Sync, after which the ordinary reader
        // calls the hook, as it does whenever a drained parse holds `chunk` rows.
        let mut at = Marks::default();
        let mut a = 0;
        while a < n {
            let room = if a == 0 {
                1
            } else if chunk > 0 {
                chunk.saturating_sub(trace.events.len()).max(1)
            } else {
                n
            };
            let b = (a + room).min(n);
            self.append_rows(
                &done.out, &done.rows, &known, &resolved, a, b, &mut at, trace,
            );
            a = b;
            if (b == 1 || (chunk > 0 && trace.events.len() >= chunk)) && hook(trace, self.pos) {
                return Err(TraceError::interrupted());
            }
        }
        self.spare_table = Some(std::mem::take(&mut done.out.events));
        let gen = done.gen;
        self.cpu_idx = gen.cpu_samples.len();
        self.last_gen = Some(gen.gen);
        self.gen = Some(gen);
        self.streams = done.streams;
        self.frontier.clear();
        self.cursors.clear();
        Ok(None)
    }

    /// Installs `prep` to be ordered here (after a failed speculation), and reads the
    /// next generation ahead.
    fn fall_back(
        &mut self,
        prep: Prepared,
        trace: &mut Trace,
        sup: &mut dyn Supply,
    ) -> Result<Out, TraceError> {
        REDONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // An error here is the one the ordinary reader meets installing the generation,
        // and names the generation before, as there (see `drive`).
        let out = self.install_gen(Some(prep)).map_err(|e| match &self.gen {
            Some(g) => e.with_generation(g.gen),
            None => e,
        })?;
        self.read_ahead(trace, sup);
        Ok(out)
    }
}

/// How far the merge got in each of the [`SpecRows`] lists.
#[derive(Default)]
struct Marks {
    unknown: usize,
    tasks: usize,
    stw: usize,
    holders: usize,
}

impl Reader {
    /// Appends rows `a..b` of the speculation `out` to `trace`, completed: global
    /// string and stack IDs, times after the trace's last, side-table entries appended
    /// with their rows, and the values the merge found (`known`).
    #[allow(clippy::too_many_arguments)]
    fn append_rows(
        &mut self,
        out: &Trace,
        rows: &SpecRows,
        known: &Known,
        resolved: &generation::Resolved,
        a: usize,
        b: usize,
        at: &mut Marks,
        trace: &mut Trace,
    ) {
        use EventKind as K;
        let start = trace.events.len();
        trace.events.append_rows(&out.events, a, b);
        let Trace {
            events,
            u64s,
            clock_snapshots,
            range_attrs,
            experimental,
            strings,
            ..
        } = trace;
        // (row, g, p, m, arg) to set once the columns are no longer borrowed.
        let mut ids: Vec<(usize, i64, i64, i64, i64)> = Vec::new();
        let src = &out.events;
        {
            let w = events.rows_mut(start);
            for x in w.stack.iter_mut() {
                *x = resolved.stack(*x);
            }
            // The speculation's times increase strictly: only a prefix can need moving
            // past the trace's last.
            let mut last = self.last_ts;
            for t in w.time.iter_mut() {
                if *t > last {
                    break;
                }
                *t = last.wrapping_add(1);
                last = *t;
            }
            if let Some(&t) = w.time.last() {
                self.last_ts = t;
            }
            let sweep = self.names.row.gc_sweep;
            for (j, &kind) in w.kind.iter().enumerate() {
                let i = a + j;
                let ids_of = |i: usize| (src.g.get(i), src.p.get(i), src.m.get(i), src.arg.get(i));
                match kind {
                    k if k == K::StateTransition as u8 => {
                        w.name[j] = resolved.string(w.name[j]);
                        w.aux[j] = resolved.stack(w.aux[j]);
                    }
                    k if k == K::Label as u8
                        || k == K::RegionBegin as u8
                        || k == K::RegionEnd as u8 =>
                    {
                        w.name[j] = resolved.string(w.name[j]);
                    }
                    k if k == K::TaskBegin as u8 => {
                        w.name[j] = resolved.string(w.name[j]);
                        u64s.push(out.u64s[w.aux[j] as usize]);
                        w.aux[j] = (u64s.len() - 1) as u32;
                    }
                    k if k == K::Log as u8 => {
                        w.name[j] = resolved.string(w.name[j]);
                        w.aux[j] = resolved.string(w.aux[j]);
                    }
                    k if k == K::TaskEnd as u8 => {
                        let mut parent = out.u64s[w.aux[j] as usize];
                        if rows.tasks.get(at.tasks) == Some(&(i as u32)) {
                            let name;
                            (name, parent) = known.tasks[at.tasks];
                            at.tasks += 1;
                            w.name[j] = name;
                        } else {
                            w.name[j] = resolved.string(w.name[j]);
                        }
                        u64s.push(parent);
                        w.aux[j] = (u64s.len() - 1) as u32;
                    }
                    k if k == K::Sync as u8 => {
                        self.syncs += 1;
                        let (g, p, m, _) = ids_of(i);
                        ids.push((start + j, g, p, m, self.syncs as i64));
                        if w.aux[j] > 0 {
                            clock_snapshots.push(out.clock_snapshots[w.aux[j] as usize - 1]);
                            w.aux[j] = clock_snapshots.len() as u32;
                        }
                    }
                    k if (K::RangeBegin as u8..=K::RangeEnd as u8).contains(&k) => {
                        if rows.stw.get(at.stw) == Some(&(i as u32)) {
                            at.stw += 1;
                            w.name[j] = self.names.stw_name(resolved.string(w.name[j]), strings);
                        } else if k == K::RangeEnd as u8 && w.name[j] == sweep && w.aux[j] > 0 {
                            range_attrs.push(out.range_attrs[w.aux[j] as usize - 1]);
                            w.aux[j] = range_attrs.len() as u32;
                        }
                    }
                    k if k == K::Experimental as u8 => {
                        let (g, p, m, arg) = ids_of(i);
                        experimental.push(out.experimental[arg as usize]);
                        ids.push((start + j, g, p, m, (experimental.len() - 1) as i64));
                    }
                    _ => {}
                }
            }
        }
        for (i, g, p, m, arg) in ids {
            events.set_ids(i, g, p, m, arg);
        }
        // Then the unknown thread states (only where the row held one).
        let pick = |was: i64, now: i64| {
            if is_unknown(was) {
                known.value(was)
            } else {
                now
            }
        };
        while let Some(&(i, g, p, arg)) =
            rows.unknown.get(at.unknown).filter(|u| (u.0 as usize) < b)
        {
            at.unknown += 1;
            let r = start + i as usize - a;
            let (g, p, m, arg) = (
                pick(g, events.g.get(r)),
                pick(p, events.p.get(r)),
                events.m.get(r),
                pick(arg, events.arg.get(r)),
            );
            events.set_ids(r, g, p, m, arg);
        }
        while let Some(&i) = rows.holders.get(at.holders).filter(|&&i| (i as usize) < b) {
            let (m, g) = known.holders[at.holders];
            at.holders += 1;
            let r = start + i as usize - a;
            let (p, arg) = (events.p.get(r), events.arg.get(r));
            events.set_ids(r, g, p, m, arg);
        }
    }
}

impl MStream {
    /// Back to the start of the M's batches, to be decoded again.
    fn rewind(&mut self) {
        self.evs.clear();
        self.err = None;
        self.next = 0;
        self.off = 0;
        self.last_ts = 0;
    }
}
