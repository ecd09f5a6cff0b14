//! The API view of an ordered wire event (Go's `Event.Kind/Stack/Range/StateTransition/...`)
//! as a row of the store, and ordered events whose conversion is left to another thread
//! ([`Unconverted`]).
//!
//! A pipelined drain ([`crate::stream::drain_pipelined`]) has the reader order events
//! and the consumer's thread turn them into rows: the reader then only queues each event
//! with what the conversion reads of the reader's state at that point, which is
//! * its time, already made strictly increasing (the fix-up needs every event before it);
//! * for an STW range, its name, interned into the trace's strings by the reader (the
//!   consumer's replica of the strings only ever appends what the reader interned);
//! * the ID maps of its generation (local string and stack IDs to global ones), shared,
//!   as they never change once the generation is read;
//! * Syncs and CPU samples, as pseudo-events of their own types ([`LATE_SYNC`],
//!   [`LATE_CPU`]), in their place in the order.
//!
//! A reference missing from the maps is the same error at the same place of the stream
//! as in the reader: [`Unconverted::convert_into`] stops there, with the rows before it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::TraceError;
use crate::generation::IdMap;
use crate::order::QEvent;
use crate::store::{
    gostate, procstate, resource, EventKind, ExperimentalArgs, Row, StringTable, Trace,
};
use crate::wire::{spec, spec::SPECS};

/// Global string IDs of the names the reader synthesises for rows (fixed once the
/// reader starts).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowNames {
    pub gomaxprocs: u32,
    pub heap_objects: u32,
    pub heap_goal: u32,
    pub gc_mark: u32,
    pub gc_sweep: u32,
    pub gc_assist: u32,
    pub exp_event: [u32; SPECS.len()],
    pub exp_name: [u32; spec::EXPERIMENT_NAMES.len()],
}

/// The name of an STW range with the reason string `reason` (global ID), interned on
/// first use; `known` remembers the names made so far.
pub(crate) fn stw_name(
    known: &mut FxHashMap<u32, u32>,
    reason: u32,
    strings: &mut StringTable,
) -> u32 {
    if let Some(&id) = known.get(&reason) {
        return id;
    }
    let mut s = b"stop-the-world (".to_vec();
    s.extend_from_slice(strings.get(reason));
    s.push(b')');
    let id = strings.intern(&s);
    known.insert(reason, id);
    id
}

/// A generation's ID maps (local string and stack IDs to global ones).
#[derive(Clone, Copy)]
pub(crate) struct Ids<'a> {
    pub gen: u64,
    pub strings: &'a IdMap,
    pub stacks: &'a IdMap,
}

impl<'a> Ids<'a> {
    pub fn of(g: &'a crate::generation::Generation) -> Self {
        Ids {
            gen: g.gen,
            strings: &g.strings,
            stacks: &g.stacks,
        }
    }
}

/// A generation's ID maps, owned (shared with the thread that converts).
#[derive(Debug)]
pub(crate) struct GenIds {
    gen: u64,
    strings: IdMap,
    stacks: IdMap,
}

impl GenIds {
    pub fn of(ids: Ids<'_>) -> Self {
        GenIds {
            gen: ids.gen,
            strings: ids.strings.clone(),
            stacks: ids.stacks.clone(),
        }
    }

    pub fn ids(&self) -> Ids<'_> {
        Ids {
            gen: self.gen,
            strings: &self.strings,
            stacks: &self.stacks,
        }
    }
}

/// The side tables that rows index (emptied with the rows, see [`Trace::clear_events`]).
pub(crate) struct Side<'a> {
    pub range_attrs: &'a mut Vec<[u64; 2]>,
    pub u64s: &'a mut Vec<u64>,
    pub experimental: &'a mut Vec<ExperimentalArgs>,
}

impl<'a> Side<'a> {
    pub fn of(t: &'a mut Trace) -> (Self, &'a mut StringTable) {
        (
            Side {
                range_attrs: &mut t.range_attrs,
                u64s: &mut t.u64s,
                experimental: &mut t.experimental,
            },
            &mut t.strings,
        )
    }
}

/// How an STW range's row gets its name.
pub(crate) enum Stw<'a> {
    /// The reason's string ID as it is (a speculation: named at the merge).
    Reason,
    /// Already interned, in `args[3]` (see [`Unconverted`]).
    Named,
    /// Interned now.
    Intern(&'a mut FxHashMap<u32, u32>, &'a mut StringTable),
}

/// The global string ID of an STW event's reason (`a0`: its local ID; for STWEnd the ID
/// comes from its Begin's generation but is looked up in this one, as Go does).
pub(crate) fn stw_reason(ids: Ids<'_>, a0: u64) -> Result<u32, TraceError> {
    ids.strings.get(a0).ok_or_else(|| {
        TraceError::validation(format!(
            "panic in trace parser: expected id {a0} in string table"
        ))
        .with_generation(ids.gen)
    })
}

/// Go's `Event.validateTableIDs` (stack IDs first, then string IDs).
fn validate_ids(q: &QEvent, ids: Ids<'_>) -> Result<(), TraceError> {
    let sp = &SPECS[q.ev.typ as usize];
    for (args, table, what) in [
        (sp.stack_ids, ids.stacks, "stack"),
        (sp.string_ids, ids.strings, "string"),
    ] {
        for &i in args {
            let id = q.ev.args[i - 1];
            if table.get(id).is_none() {
                return Err(TraceError::validation(format!(
                    "found invalid {what} ID {id} for event {}",
                    sp.name
                ))
                .with_generation(ids.gen));
            }
        }
    }
    Ok(())
}

fn range_kind(typ: u8) -> u8 {
    use spec::*;
    match typ {
        EV_GC_BEGIN | EV_GC_SWEEP_BEGIN | EV_GC_MARK_ASSIST_BEGIN | EV_STW_BEGIN => {
            EventKind::RangeBegin as u8
        }
        EV_GC_ACTIVE | EV_GC_SWEEP_ACTIVE | EV_GC_MARK_ASSIST_ACTIVE => {
            EventKind::RangeActive as u8
        }
        _ => EventKind::RangeEnd as u8,
    }
}

/// Fills `row` (all but its time) from the ordered event `q` of the generation whose
/// maps are `ids`, appending to the side tables what the row indexes.
#[inline(always)]
pub(crate) fn convert(
    q: &QEvent,
    row: &mut Row,
    ids: Ids<'_>,
    n: &RowNames,
    side: &mut Side<'_>,
    stw: Stw<'_>,
) -> Result<(), TraceError> {
    use spec::*;
    let a = &q.ev.args;
    let ctx = q.ctx;
    row.g = ctx.g;
    row.p = ctx.p;
    row.m = ctx.m;
    let sp = &SPECS[q.ev.typ as usize];
    // Table references are looked up once; a miss means the trace is broken, and
    // `validate_ids` then finds the error Go reports (it checks in Go's order).
    let missing = std::cell::Cell::new(false);
    let stack_of = |id: u64| {
        ids.stacks.get(id).unwrap_or_else(|| {
            missing.set(true);
            0
        })
    };
    if let Some(&i) = sp.stack_ids.first() {
        row.stack = stack_of(a[i - 1]);
    }
    let string = |id: u64| {
        ids.strings.get(id).unwrap_or_else(|| {
            missing.set(true);
            0
        })
    };
    let go_st = |row: &mut Row, id: i64, from: u8, to: u8| {
        row.kind = EventKind::StateTransition as u8;
        row.res_kind = resource::GOROUTINE;
        row.arg = id;
        row.from = from;
        row.to = to;
    };
    use gostate as G;
    match q.ev.typ {
        EV_PROCS_CHANGE | EV_HEAP_ALLOC | EV_HEAP_GOAL => {
            row.kind = EventKind::Metric as u8;
            row.name = match q.ev.typ {
                EV_PROCS_CHANGE => n.gomaxprocs,
                EV_HEAP_ALLOC => n.heap_objects,
                _ => n.heap_goal,
            };
            row.arg = a[0] as i64;
        }
        EV_GO_LABEL => {
            row.kind = EventKind::Label as u8;
            row.name = string(a[0]);
            row.res_kind = resource::GOROUTINE;
            row.arg = ctx.g;
        }
        EV_STW_BEGIN | EV_STW_END => {
            row.kind = if q.ev.typ == EV_STW_BEGIN {
                EventKind::RangeBegin
            } else {
                EventKind::RangeEnd
            } as u8;
            let reason = stw_reason(ids, a[0])?;
            row.name = match stw {
                Stw::Reason => reason,
                Stw::Named => a[3] as u32,
                Stw::Intern(known, strings) => stw_name(known, reason, strings),
            };
            row.res_kind = resource::GOROUTINE;
            row.arg = ctx.g;
        }
        EV_GC_BEGIN | EV_GC_ACTIVE | EV_GC_END => {
            row.kind = range_kind(q.ev.typ);
            row.name = n.gc_mark;
            row.res_kind = resource::NONE;
        }
        EV_GC_SWEEP_BEGIN | EV_GC_SWEEP_ACTIVE | EV_GC_SWEEP_END => {
            row.kind = range_kind(q.ev.typ);
            row.name = n.gc_sweep;
            row.res_kind = resource::PROC;
            row.arg = if q.ev.typ == EV_GC_SWEEP_ACTIVE {
                a[0] as i64
            } else {
                ctx.p
            };
            if q.ev.typ == EV_GC_SWEEP_END {
                side.range_attrs.push([a[0], a[1]]);
                row.aux = side.range_attrs.len() as u32;
            }
        }
        EV_GC_MARK_ASSIST_BEGIN | EV_GC_MARK_ASSIST_ACTIVE | EV_GC_MARK_ASSIST_END => {
            row.kind = range_kind(q.ev.typ);
            row.name = n.gc_assist;
            row.res_kind = resource::GOROUTINE;
            row.arg = if q.ev.typ == EV_GC_MARK_ASSIST_ACTIVE {
                a[0] as i64
            } else {
                ctx.g
            };
        }
        EV_USER_TASK_BEGIN => {
            row.kind = EventKind::TaskBegin as u8;
            row.arg = a[0] as i64;
            row.name = string(a[2]);
            side.u64s.push(a[1]);
            row.aux = (side.u64s.len() - 1) as u32;
        }
        EV_USER_TASK_END => {
            row.kind = EventKind::TaskEnd as u8;
            row.arg = a[0] as i64;
            row.name = a[3] as u32; // already a global string ID (see order)
            side.u64s.push(a[2]);
            row.aux = (side.u64s.len() - 1) as u32;
        }
        EV_USER_REGION_BEGIN | EV_USER_REGION_END => {
            row.kind = if q.ev.typ == EV_USER_REGION_BEGIN {
                EventKind::RegionBegin
            } else {
                EventKind::RegionEnd
            } as u8;
            row.arg = a[0] as i64;
            row.name = string(a[1]);
        }
        EV_USER_LOG => {
            row.kind = EventKind::Log as u8;
            row.arg = a[0] as i64;
            row.name = string(a[1]);
            row.aux = string(a[2]);
        }
        EV_PROC_START | EV_PROC_STOP | EV_PROC_STEAL | EV_PROC_STATUS => {
            row.kind = EventKind::StateTransition as u8;
            row.res_kind = resource::PROC;
            use procstate as P;
            let (id, from, to) = match q.ev.typ {
                EV_PROC_START => (a[0] as i64, P::IDLE, P::RUNNING),
                EV_PROC_STOP => (ctx.p, P::RUNNING, P::IDLE),
                EV_PROC_STEAL => {
                    let before = if a[3] == crate::order::ps::SYSCALL_ABANDONED as u64 {
                        P::IDLE
                    } else {
                        P::RUNNING
                    };
                    (a[0] as i64, before, P::IDLE)
                }
                _ => (a[0] as i64, a[2] as u8, crate::order::ps::to_state(a[1])),
            };
            row.arg = id;
            row.from = from;
            row.to = to;
        }
        EV_GO_CREATE | EV_GO_CREATE_BLOCKED => {
            let to = if q.ev.typ == EV_GO_CREATE_BLOCKED {
                G::WAITING
            } else {
                G::RUNNABLE
            };
            go_st(row, a[0] as i64, G::NOT_EXIST, to);
            row.aux = stack_of(a[1]);
        }
        EV_GO_CREATE_SYSCALL => go_st(row, a[0] as i64, G::NOT_EXIST, G::SYSCALL),
        EV_GO_START => go_st(row, a[0] as i64, G::RUNNABLE, G::RUNNING),
        EV_GO_DESTROY => go_st(row, ctx.g, G::RUNNING, G::NOT_EXIST),
        EV_GO_DESTROY_SYSCALL => go_st(row, ctx.g, G::SYSCALL, G::NOT_EXIST),
        EV_GO_STOP | EV_GO_BLOCK => {
            let to = if q.ev.typ == EV_GO_STOP {
                G::RUNNABLE
            } else {
                G::WAITING
            };
            go_st(row, ctx.g, G::RUNNING, to);
            row.name = string(a[0]);
            row.aux = row.stack;
        }
        EV_GO_UNBLOCK | EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => {
            go_st(row, a[0] as i64, G::WAITING, G::RUNNABLE)
        }
        EV_GO_SYSCALL_BEGIN => {
            go_st(row, ctx.g, G::RUNNING, G::SYSCALL);
            row.aux = row.stack;
        }
        EV_GO_SYSCALL_END => go_st(row, ctx.g, G::SYSCALL, G::RUNNING),
        EV_GO_SYSCALL_END_BLOCKED => go_st(row, ctx.g, G::SYSCALL, G::RUNNABLE),
        EV_GO_STATUS | EV_GO_STATUS_STACK => {
            let packed = a[2];
            let from = (packed >> 32) as u8;
            let to = crate::order::gs::to_state(packed & 0xffff_ffff);
            go_st(row, a[0] as i64, from, to);
            row.aux = row.stack;
        }
        t if spec::is_experimental(t) => {
            row.kind = EventKind::Experimental as u8;
            row.name = n.exp_event[t as usize];
            row.aux = n.exp_name[sp.experiment as usize];
            // Slots past the event's own arguments hold stale values of earlier
            // events (see `decode_m`): keep them out of the result.
            let mut args = [0u64; 4];
            let k = (sp.args.len() - 1).min(4);
            args[..k].copy_from_slice(&a[..k]);
            side.experimental.push(ExperimentalArgs { typ: t, args });
            row.arg = (side.experimental.len() - 1) as i64;
        }
        t => {
            return Err(TraceError::validation(format!(
                "internal error: unexpected wire-format event type {t}"
            )))
        }
    }
    if missing.get() {
        validate_ids(q, ids)?;
        return Err(TraceError::validation(
            "internal error: unresolved table reference",
        ));
    }
    Ok(())
}

/// Pseudo wire types of the events [`Unconverted`] holds besides ordered ones (no real
/// type comes near: they are below `SPECS.len()`).
pub(crate) const LATE_SYNC: u8 = u8::MAX;
pub(crate) const LATE_CPU: u8 = u8::MAX - 1;
const _: () = assert!(SPECS.len() < LATE_CPU as usize);

/// Ordered events, not yet rows (see the module's doc), in a chunk of a drained parse.
/// A Sync holds its number in `args[0]` and its clock snapshot's index + 1 (0: none)
/// in `args[1]`; a CPU sample its (local) stack ID in `args[0]`.
pub struct Unconverted {
    pub(crate) evs: Vec<QEvent>,
    /// (index into `evs` from which they apply, the generation's maps).
    tables: Vec<(usize, Arc<GenIds>)>,
    names: RowNames,
}

impl std::fmt::Debug for Unconverted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unconverted")
            .field("events", &self.evs.len())
            .field("generations", &self.tables.len())
            .finish()
    }
}

impl Unconverted {
    /// The queue in `slot` (a trace's `unconverted`), made empty if there is none.
    pub(crate) fn of(slot: &mut Option<Box<Self>>, names: RowNames) -> &mut Self {
        slot.get_or_insert_with(|| {
            Box::new(Unconverted {
                evs: Vec::new(),
                tables: Vec::new(),
                names,
            })
        })
    }

    pub fn len(&self) -> usize {
        self.evs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.evs.is_empty()
    }

    /// Empties it, keeping its allocation.
    pub fn clear(&mut self) {
        self.evs.clear();
        self.tables.clear();
    }

    /// Makes the references of the events from position `at` of `evs` on resolve
    /// through `ids` (they may still be in the reader's queue, see its `flush_late`).
    #[inline(always)]
    pub(crate) fn use_ids(&mut self, at: usize, ids: &Arc<GenIds>) {
        if !self.tables.last().is_some_and(|(_, t)| Arc::ptr_eq(t, ids)) {
            self.tables.push((at, ids.clone()));
        }
    }

    /// Appends the rows of the queued events to `out`'s table (and their side-table
    /// entries to `out`'s side tables), exactly as the reader would have stored them.
    /// `syncs` is set to the number of each Sync converted (so it holds, over the calls,
    /// how many Syncs the stream has had). On a broken reference, the rows before it are
    /// stored and its error returned: the parse's error, and `syncs - 1` (saturating)
    /// its number of generations.
    pub fn convert_into(&self, out: &mut Trace, syncs: &mut u64) -> Result<(), TraceError> {
        let mut side = Side {
            range_attrs: &mut out.range_attrs,
            u64s: &mut out.u64s,
            experimental: &mut out.experimental,
        };
        let events = &mut out.events;
        self.convert_each(&mut side, syncs, |row| events.push(row))
    }

    /// [`Unconverted::convert_into`], handing each row to `f` instead of storing it
    /// (the side-table entries are appended to `side`).
    #[inline(always)]
    pub(crate) fn convert_each(
        &self,
        side: &mut Side<'_>,
        syncs: &mut u64,
        mut f: impl FnMut(&Row),
    ) -> Result<(), TraceError> {
        // Runs of events of one generation (events before the first maps have none).
        // The maps' view is made once per run: made per event, it was read back (by a
        // wider load) right after its fields were stored, a store-forwarding stall that
        // cost more than the rest of the conversion.
        let first = self.tables.first().map_or(self.evs.len(), |t| t.0);
        let runs = std::iter::once((0, first, None)).chain(self.tables.iter().enumerate().map(
            |(k, (at, ids))| {
                let end = self.tables.get(k + 1).map_or(self.evs.len(), |t| t.0);
                (*at, end, Some(ids.ids()))
            },
        ));
        for (from, to, ids) in runs {
            let ids = || {
                ids.ok_or_else(|| {
                    TraceError::validation(
                        "internal error: an unconverted event without its generation",
                    )
                })
            };
            for q in &self.evs[from..to] {
                let mut row = Row::default();
                match q.ev.typ {
                    LATE_SYNC => {
                        row.kind = EventKind::Sync as u8;
                        row.g = -1;
                        row.p = -1;
                        row.m = -1;
                        row.arg = q.ev.args[0] as i64;
                        row.aux = q.ev.args[1] as u32;
                        *syncs = q.ev.args[0];
                    }
                    LATE_CPU => {
                        row.kind = EventKind::StackSample as u8;
                        row.g = q.ctx.g;
                        row.p = q.ctx.p;
                        row.m = q.ctx.m;
                        row.stack = cpu_stack(ids()?, q.ev.args[0])?;
                    }
                    _ => convert(q, &mut row, ids()?, &self.names, side, Stw::Named)?,
                }
                row.time = q.ev.time;
                f(&row);
            }
        }
        Ok(())
    }
}

/// The global ID of a CPU sample's stack. Go does not validate sample stacks, but
/// resolving a missing one panics in `Stack.Frames`; we report it as an error at the
/// same point.
pub(crate) fn cpu_stack(ids: Ids<'_>, id: u64) -> Result<u32, TraceError> {
    ids.stacks.get(id).ok_or_else(|| {
        TraceError::validation(format!(
            "panic in trace parser: expected id {id} in trace.stack table"
        ))
        .with_generation(ids.gen)
    })
}
