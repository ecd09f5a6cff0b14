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
use crate::generation::{Generation, Pending, Tables};
use crate::order::speculate::{is_unknown, HOLDER, TASK_UNKNOWN};
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
}

static MERGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static REDONE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Speculations merged and generations ordered again after one, in this process so far.
#[doc(hidden)]
pub fn speculation_counts() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (MERGED.load(Relaxed), REDONE.load(Relaxed))
}

static OVERRIDE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Speculative ordering for all parses of this process: `Some(true)` even on one
/// thread (the speculation then runs before the generation before it is ordered, which
/// tests the merge deterministically), `Some(false)` never, `None` the default (with
/// more than one thread, for Go 1.26+ traces). The events are the same either way.
#[doc(hidden)]
pub fn set_speculation(on: Option<bool>) {
    let v = match on {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    };
    OVERRIDE.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a reader of version `ver` speculates (`threaded`: it has helper threads).
pub(super) fn speculation_for(ver: u32, threaded: bool) -> bool {
    // Before 1.26 a generation's end is found in the next one's first batch: not read
    // ahead this way.
    ver >= 26
        && match OVERRIDE.load(std::sync::atomic::Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => threaded,
        }
}

/// Orders `prep` (generation `prep.gen.gen`, its tables not merged: local string and
/// stack IDs) without the state of the generations before it.
pub(super) fn speculate(ver: u32, initial_gen: u64, names: Names, prep: Prepared) -> SpecResult {
    let mut r = Reader::new(ver, names, u64::MAX);
    r.order = Ordering::speculative(ver, initial_gen);
    r.spec_rows = Some(Box::default());
    let mut out = Trace {
        version: ver,
        ..Trace::default()
    };
    let bytes: usize = prep
        .gen
        .batches
        .iter()
        .flat_map(|(_, b)| b)
        .map(|b| b.len)
        .sum();
    let rows = prep
        .streams
        .iter()
        .map(|s| s.evs.len())
        .sum::<usize>()
        .max(bytes / 6)
        + prep.gen.cpu_samples.len()
        + 16;
    out.events = Events::with_capacity(rows + rows / 16);
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
            if !self.order.queue.is_empty() {
                let queue = std::mem::take(&mut self.order.queue);
                for q in &queue {
                    self.emit_ev(q, out)?;
                }
                self.order.queue = queue;
                self.order.queue.clear();
            }
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

        // Side-table entries are appended with their rows, as the ordinary reader does
        // (a hook may consume and clear the tables between rows).
        let out = &done.out;
        let rows = &done.rows;
        let (mut unknown, mut tasks, mut stw, mut holders) = (0, 0, 0, 0);
        let sweep = self.names.gc_sweep;
        let ev = &out.events;
        for i in 0..n {
            let mut row = ev.row(i);
            row.stack = resolved.stack(row.stack);
            match row.kind {
                k if k == EventKind::StateTransition as u8 => {
                    row.name = resolved.string(row.name);
                    row.aux = resolved.stack(row.aux);
                }
                k if k == EventKind::Label as u8
                    || k == EventKind::TaskBegin as u8
                    || k == EventKind::RegionBegin as u8
                    || k == EventKind::RegionEnd as u8 =>
                {
                    row.name = resolved.string(row.name);
                    if k == EventKind::TaskBegin as u8 {
                        trace.u64s.push(out.u64s[row.aux as usize]);
                        row.aux = (trace.u64s.len() - 1) as u32;
                    }
                }
                k if k == EventKind::Log as u8 => {
                    row.name = resolved.string(row.name);
                    row.aux = resolved.string(row.aux);
                }
                k if k == EventKind::TaskEnd as u8 => {
                    let mut parent = out.u64s[row.aux as usize];
                    if rows.tasks.get(tasks) == Some(&(i as u32)) {
                        let name;
                        (name, parent) = known.tasks[tasks];
                        tasks += 1;
                        row.name = name;
                    } else {
                        row.name = resolved.string(row.name);
                    }
                    trace.u64s.push(parent);
                    row.aux = (trace.u64s.len() - 1) as u32;
                }
                k if k == EventKind::Sync as u8 => {
                    self.syncs += 1;
                    row.arg = self.syncs as i64;
                    if row.aux > 0 {
                        trace
                            .clock_snapshots
                            .push(out.clock_snapshots[row.aux as usize - 1]);
                        row.aux = trace.clock_snapshots.len() as u32;
                    }
                }
                k if (EventKind::RangeBegin as u8..=EventKind::RangeEnd as u8).contains(&k) => {
                    if rows.stw.get(stw) == Some(&(i as u32)) {
                        stw += 1;
                        row.name = stw_name(&mut self.names, resolved.string(row.name), trace);
                    } else if k == EventKind::RangeEnd as u8 && row.name == sweep && row.aux > 0 {
                        trace
                            .range_attrs
                            .push(out.range_attrs[row.aux as usize - 1]);
                        row.aux = trace.range_attrs.len() as u32;
                    }
                }
                k if k == EventKind::Experimental as u8 => {
                    trace.experimental.push(out.experimental[row.arg as usize]);
                    row.arg = (trace.experimental.len() - 1) as i64;
                }
                _ => {}
            }
            if let Some(&(_, g, p, arg)) = rows.unknown.get(unknown).filter(|u| u.0 == i as u32) {
                unknown += 1;
                row.g = known.value(g);
                row.p = known.value(p);
                row.arg = known.value(arg);
            }
            if rows.holders.get(holders) == Some(&(i as u32)) {
                (row.m, row.g) = known.holders[holders];
                holders += 1;
            }
            if row.time <= self.last_ts {
                row.time = self.last_ts.wrapping_add(1);
            }
            self.last_ts = row.time;
            trace.events.push(&row);
            // The hook calls of the ordinary reader: after the Sync, and every `chunk`
            // rows of a drained parse.
            if (i == 0 || (chunk > 0 && trace.events.len() >= chunk)) && hook(trace, self.pos) {
                return Err(TraceError::interrupted());
            }
        }
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
        let out = self.install_gen(Some(prep))?;
        self.read_ahead(trace, sup);
        Ok(out)
    }
}

/// The name of an STW range with the reason string `reason` (global ID), interned on
/// first use as the ordinary reader does.
fn stw_name(names: &mut Names, reason: u32, trace: &mut Trace) -> u32 {
    if let Some(&id) = names.stw.get(&reason) {
        return id;
    }
    let mut s = b"stop-the-world (".to_vec();
    s.extend_from_slice(trace.strings.get(reason));
    s.push(b')');
    let id = trace.strings.intern(&s);
    names.stw.insert(reason, id);
    id
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
