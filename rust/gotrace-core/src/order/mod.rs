//! Go's scheduler state machine (`internal/trace/order.go`), which both validates a trace
//! and decides in which order the per-M event streams may be interleaved.
//!
//! `advance` is offered the next event of one M. It answers:
//! * `Ok(true)`: the event is consistent with the state so far; it (and any events it
//!   implies, e.g. the three halves of a GoSwitch) was queued, state updated.
//! * `Ok(false)`: not yet — some other M must move first (a sequence number is not the
//!   successor of the resource's last one, a goroutine is not yet in the needed state).
//! * `Err`: the trace is broken.
//!
//! Each handler states its preconditions on the scheduling context (M, P, G present or
//! not) through [`validate_ctx`]; the wording of errors follows Go's.
//!
//! Sequence numbers are per resource and per generation: a GoStatus/ProcStatus at a
//! generation start resets them to (gen, 0), and an event advances only with (gen, seq+1).
//! Several handlers "smuggle" derived values into unused argument slots of the event
//! (old states, task parents), exactly where Go's `baseEvent.extra` puts them, because the
//! API-level view of the event needs them later.

use rustc_hash::{FxHashMap, FxHashSet};

pub mod speculate;
pub(crate) mod tables;
use speculate::{is_unknown, Spec};
use tables::{DenseMap, GMap, MMap, MState};

use crate::generation::Generation;
use crate::store::{gostate, procstate, NO_TASK};
use crate::wire::spec::{self, event_name, SPECS};

/// An event type's name for error messages, formatted only if an error is built.
#[derive(Clone, Copy)]
struct EvName(u32, u8);

impl std::fmt::Display for EvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&event_name(self.0, self.1))
    }
}

pub const NO_G: i64 = -1;
pub const NO_P: i64 = -1;
pub const NO_M: i64 = -1;

/// tracev2 goroutine statuses (wire values).
pub mod gs {
    pub const BAD: u8 = 0;
    pub const RUNNABLE: u8 = 1;
    pub const RUNNING: u8 = 2;
    pub const SYSCALL: u8 = 3;
    pub const WAITING: u8 = 4;
    pub fn name(s: u8) -> &'static str {
        match s {
            RUNNABLE => "Runnable",
            RUNNING => "Running",
            SYSCALL => "Syscall",
            WAITING => "Waiting",
            _ => "Bad",
        }
    }
    /// Go's `tracev2GoStatus2GoState` (index 0 and out-of-range give Undetermined).
    pub fn to_state(s: u64) -> u8 {
        use crate::store::gostate as st;
        match s {
            1 => st::RUNNABLE,
            2 => st::RUNNING,
            3 => st::SYSCALL,
            4 => st::WAITING,
            _ => st::UNDETERMINED,
        }
    }
}

/// tracev2 proc statuses (wire values).
pub mod ps {
    pub const BAD: u8 = 0;
    pub const RUNNING: u8 = 1;
    pub const IDLE: u8 = 2;
    pub const SYSCALL: u8 = 3;
    pub const SYSCALL_ABANDONED: u8 = 4;
    pub fn name(s: u8) -> &'static str {
        match s {
            RUNNING => "Running",
            IDLE => "Idle",
            SYSCALL => "Syscall",
            SYSCALL_ABANDONED => "SyscallAbandoned",
            _ => "Bad",
        }
    }
    /// Go's `tracev2ProcStatus2ProcState`.
    pub fn to_state(s: u64) -> u8 {
        match s {
            1 | 3 => crate::store::procstate::RUNNING,
            2 | 4 => crate::store::procstate::IDLE,
            _ => crate::store::procstate::UNDETERMINED,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    pub g: i64,
    pub p: i64,
    pub m: i64,
}

/// A decoded event: wire type, time in ns, and up to 4 arguments (timestamp delta removed).
#[derive(Clone, Copy, Debug, Default)]
pub struct BaseEvent {
    pub typ: u8,
    pub time: i64,
    pub args: [u64; 4],
}

/// An event ready to be emitted, with its scheduling context *before* the event.
#[derive(Clone, Copy, Debug)]
pub struct QEvent {
    pub ev: BaseEvent,
    pub ctx: Ctx,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seq {
    gen: u64,
    seq: u64,
}

impl Seq {
    fn succeeds(self, b: Seq) -> bool {
        self.gen == b.gen && self.seq == b.seq.wrapping_add(1)
    }
}

/// A special time range bound to a resource: its Begin event type and, for STW, the
/// reason's string ID *in the generation where it began* (Go resolves it later in the
/// generation of the End event; we keep that behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RangeType {
    typ: u8,
    desc: u64,
}

fn make_range_type(typ: u8, desc: u64) -> RangeType {
    let st = SPECS[typ as usize].start_ev;
    RangeType {
        typ: if st != 0 { st } else { typ },
        desc,
    }
}

/// Ranges in flight on one resource, in Go's slice order (which decides which STW an
/// STWEnd closes). Only STW ranges can pile up (one per reason); past a few entries a set
/// answers `has`, so that nesting thousands of them is not quadratic.
#[derive(Default, Debug)]
struct RangeState {
    in_flight: Vec<RangeType>,
    index: Option<Box<FxHashSet<RangeType>>>,
}

const RANGE_INDEX_AFTER: usize = 16;

impl RangeState {
    fn has(&self, t: RangeType) -> bool {
        match &self.index {
            Some(set) => set.contains(&t),
            None => self.in_flight.contains(&t),
        }
    }
    fn push(&mut self, t: RangeType) {
        self.in_flight.push(t);
        match &mut self.index {
            Some(set) => {
                set.insert(t);
            }
            None if self.in_flight.len() > RANGE_INDEX_AFTER => {
                self.index = Some(Box::new(self.in_flight.iter().copied().collect()));
            }
            None => {}
        }
    }
    fn begin(&mut self, t: RangeType) -> Result<(), String> {
        if self.has(t) {
            return Err(format!(
                "discovered event already in-flight for when starting event {}",
                SPECS[t.typ as usize].name
            ));
        }
        self.push(t);
        Ok(())
    }
    fn active(&mut self, t: RangeType, initial_gen: bool) -> Result<(), String> {
        if initial_gen {
            if self.has(t) {
                return Err(format!(
                    "found named active range already in first gen: {{{} {}}}",
                    t.typ, t.desc
                ));
            }
            self.push(t);
        } else if !self.has(t) {
            return Err(format!(
                "resource is missing active range: {} {:?}",
                SPECS[t.typ as usize].name, self.in_flight
            ));
        }
        Ok(())
    }
    fn end(&mut self, typ: u8) -> Result<u64, String> {
        let st = SPECS[typ as usize].start_ev;
        let Some(idx) = self.in_flight.iter().position(|r| r.typ == st) else {
            return Err(format!(
                "tried to end event {}, but not in-flight",
                SPECS[st as usize].name
            ));
        };
        let gone = self.in_flight.swap_remove(idx);
        if let Some(set) = &mut self.index {
            set.remove(&gone);
        }
        Ok(gone.desc)
    }
}

/// A speculation's RangeActive on a goroutine or proc introduced by a status event,
/// before any other range event on it: the range is assumed in flight before (taken
/// into `ranges` and the assumptions). False: not such a case, check as usual.
fn spec_active(
    intro: Option<&mut speculate::Intro>,
    ranges: &mut RangeState,
    t: RangeType,
) -> bool {
    match intro {
        Some(i) if !i.ranges_closed && !ranges.has(t) => {
            i.ranges.push(t);
            ranges.push(t);
            true
        }
        _ => false,
    }
}

#[derive(Debug)]
struct GState {
    status: u8,
    seq: Seq,
    /// Regions and ranges, which few goroutines have: boxed to keep the map's entries
    /// small (there can be hundreds of thousands of goroutines).
    extra: Option<Box<GExtra>>,
}

#[derive(Debug, Default)]
struct GExtra {
    /// Active user regions: (task ID, global string ID of the region type).
    regions: Vec<(u64, u32)>,
    ranges: RangeState,
}

impl GState {
    fn new(status: u8, seq: Seq) -> Self {
        GState {
            status,
            seq,
            extra: None,
        }
    }

    fn extra(&mut self) -> &mut GExtra {
        self.extra.get_or_insert_with(Default::default)
    }
}

#[derive(Debug)]
struct PState {
    status: u8,
    seq: Seq,
    ranges: RangeState,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum GcState {
    Undetermined,
    NotRunning,
    Running,
    /// Speculative ordering: decided by the generations before (see [`speculate`]).
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Go's names: mustNotHave, mayHave, mustHave.
enum Need {
    MustNotHave,
    MayHave,
    MustHave,
}
use Need::*;

struct Reqs {
    m: Need,
    p: Need,
    g: Need,
}

const fn reqs(m: Need, p: Need, g: Need) -> Reqs {
    Reqs { m, p, g }
}

const USER_GO_REQS: Reqs = reqs(MustHave, MustHave, MustHave);

/// Go's `validateCtx`. Inlined so that the constant requirements fold away.
#[inline(always)]
fn validate_ctx(ctx: Ctx, r: Reqs) -> Result<(), String> {
    let ok_m = match r.m {
        MustHave => ctx.m != NO_M,
        MustNotHave => ctx.m == NO_M,
        MayHave => true,
    };
    let ok_p = match r.p {
        MustHave => ctx.p != NO_P,
        MustNotHave => ctx.p == NO_P,
        MayHave => true,
    };
    let ok_g = match r.g {
        MustHave => ctx.g != NO_G,
        MustNotHave => ctx.g == NO_G,
        MayHave => true,
    };
    if ok_m && ok_p && ok_g {
        return Ok(());
    }
    validate_ctx_err(ctx, r)
}

#[cold]
#[inline(never)]
fn validate_ctx_err(ctx: Ctx, r: Reqs) -> Result<(), String> {
    if r.m == MustHave && ctx.m == NO_M {
        return Err("expected a thread but didn't have one".into());
    } else if r.m == MustNotHave && ctx.m != NO_M {
        return Err("expected no thread but had one".into());
    }
    if r.p == MustHave && ctx.p == NO_P {
        return Err("expected a proc but didn't have one".into());
    } else if r.p == MustNotHave && ctx.p != NO_P {
        return Err("expected no proc but had one".into());
    }
    if r.g == MustHave && ctx.g == NO_G {
        return Err("expected a goroutine but didn't have one".into());
    } else if r.g == MustNotHave && ctx.g != NO_G {
        return Err("expected no goroutine but had one".into());
    }
    Ok(())
}

/// [`validate_ctx`] for an ordering that may be speculating (see [`Ordering::vctx`]).
#[inline(always)]
fn vctx<const S: bool>(spec: &mut Option<Box<Spec>>, ctx: Ctx, r: Reqs) -> Result<(), String> {
    match spec {
        Some(s) if S && (is_unknown(ctx.g) || is_unknown(ctx.p)) => vctx_spec(s, ctx, r),
        _ => validate_ctx(ctx, r),
    }
}

/// [`Ordering::is`] for callers that hold a borrow of another of the ordering's tables.
#[inline(always)]
fn same<const S: bool>(spec: &mut Option<Box<Spec>>, a: i64, b: i64) -> bool {
    if S {
        Spec::is(spec, a, b)
    } else {
        a == b
    }
}

#[cold]
#[inline(never)]
fn vctx_spec(s: &mut Spec, mut ctx: Ctx, r: Reqs) -> Result<(), String> {
    for (v, need, none, fill) in [(ctx.g, r.g, NO_G, 0), (ctx.p, r.p, NO_P, 1)] {
        if !is_unknown(v) {
            continue;
        }
        // Checked below against a stand-in value that satisfies it.
        let stand_in = match need {
            MustHave => {
                s.assume_some(v, none);
                0
            }
            MustNotHave => {
                s.assume_none(v, none);
                none
            }
            MayHave => none,
        };
        if fill == 0 {
            ctx.g = stand_in;
        } else {
            ctx.p = stand_in;
        }
    }
    validate_ctx(ctx, r)
}

pub struct Ordering {
    ver: u32,
    g_states: GMap<GState>,
    p_states: DenseMap<PState>,
    m_states: MMap,
    /// Active tasks: ID → (global string ID of the type, parent ID).
    active_tasks: FxHashMap<u64, (u32, u64)>,
    gc_seq: u64,
    gc_state: GcState,
    initial_gen: u64,
    /// Events accepted by the last `advance`, to be emitted in order before anything
    /// else (Go's ring-buffer queue; here it is always drained right after an advance).
    pub queue: Vec<QEvent>,
    /// The M of the event being advanced: whether there is one, and its slot.
    cur_has_m: bool,
    cur_slot: u32,
    /// The GC state when the frontier index last looked (see [`Ordering::wakes`]).
    gc_seen: (u64, GcState),
    /// Speculative ordering (see [`speculate`]): the assumptions made so far.
    spec: Option<Box<Spec>>,
}

/// Something a blocked event waits for (see [`Ordering::wait_keys`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Wait {
    /// Goroutine `0` having sequence number (generation `1`, number `2`).
    G(i64, u64, u64),
    /// Any write to goroutine `0`.
    GAny(i64),
    /// Proc `0` having sequence number (generation `1`, number `2`).
    P(i64, u64, u64),
    /// Any write to proc `0`.
    PAny(i64),
    /// Any write to the M in slot `0`.
    M(u32),
    /// Any change of the GC sequence number or state.
    Gc,
}

type Adv = Result<bool, String>;

impl Ordering {
    pub fn new(ver: u32) -> Self {
        Ordering {
            ver,
            g_states: GMap::default(),
            p_states: DenseMap::default(),
            m_states: MMap::default(),
            active_tasks: FxHashMap::default(),
            gc_seq: 0,
            gc_state: GcState::Undetermined,
            initial_gen: 0,
            queue: Vec::with_capacity(16),
            cur_has_m: false,
            cur_slot: 0,
            gc_seen: (0, GcState::Undetermined),
            spec: None,
        }
    }

    /// The goroutine running on this M (`g`), which must exist and be in status `want`.
    /// `shown` is the status Go's message names: Go says "not Running" for some events
    /// that check for Syscall, and we keep its wording.
    fn cur_g(&mut self, typ: u8, g: i64, want: u8, shown: &str) -> Result<&mut GState, String> {
        let name = EvName(self.ver, typ);
        match self.g_states.get_mut(&g) {
            None => Err(format!(
                "event {name} for goroutine ({g}) that doesn't exist"
            )),
            Some(s) if s.status != want => {
                Err(format!("{name} event for goroutine that's not {shown}"))
            }
            Some(s) => Ok(s),
        }
    }

    /// The slot of thread `m` (see [`MMap`]); cursors resolve it once per generation.
    pub fn m_slot(&mut self, m: i64) -> u32 {
        self.m_states.slot(m)
    }

    fn name(&self, typ: u8) -> String {
        event_name(self.ver, typ)
    }

    #[inline]
    fn push(&mut self, ev: BaseEvent, ctx: Ctx) {
        self.queue.push(QEvent { ev, ctx });
    }

    /// Hints that `ev` will be offered soon: the goroutine it names (if any) is
    /// fetched into cache.
    #[inline]
    pub fn prefetch(&self, ev: &BaseEvent) {
        use spec::*;
        if matches!(
            ev.typ,
            EV_GO_START
                | EV_GO_UNBLOCK
                | EV_GO_SWITCH
                | EV_GO_SWITCH_DESTROY
                | EV_GO_STATUS
                | EV_GO_STATUS_STACK
                | EV_GO_CREATE
                | EV_GO_CREATE_BLOCKED
                | EV_GO_CREATE_SYSCALL
        ) {
            self.g_states.prefetch(ev.args[0] as i64);
        }
    }

    /// Go's `ordering.Advance`: may the event `ev`, next on thread `m`, happen now?
    #[inline]
    pub fn advance(
        &mut self,
        ev: &mut BaseEvent,
        g: &Generation,
        m: i64,
        m_slot: u32,
        gen: u64,
    ) -> Result<bool, String> {
        // Two copies of the handlers: the speculative one and the ordinary one, in which
        // every test of `S` folds away.
        if self.spec.is_some() {
            self.advance_in::<true>(ev, g, m, m_slot, gen)
        } else {
            self.advance_in::<false>(ev, g, m, m_slot, gen)
        }
    }

    fn advance_in<const S: bool>(
        &mut self,
        ev: &mut BaseEvent,
        g: &Generation,
        m: i64,
        m_slot: u32,
        gen: u64,
    ) -> Result<bool, String> {
        if self.initial_gen == 0 {
            self.initial_gen = gen;
        }
        if S && self.spec_collides(m, &ev.args) {
            return Self::spec_fail("an ID in the range of unknown values");
        }
        let mut cur = Ctx {
            g: NO_G,
            p: NO_P,
            m,
        };
        let has_m = m != NO_M;
        self.cur_has_m = has_m;
        self.cur_slot = m_slot;
        if has_m {
            let ms = self.m_states.touch(m_slot);
            cur.p = ms.p;
            cur.g = ms.g;
        }
        use spec::*;
        let r = match ev.typ {
            EV_PROCS_CHANGE | EV_GO_LABEL | EV_USER_LOG => self.annotation::<S>(ev, cur),
            EV_PROC_START => self.proc_start::<S>(ev, gen, cur),
            EV_PROC_STOP => self.proc_stop::<S>(ev, cur),
            EV_PROC_STEAL => self.proc_steal::<S>(ev, gen, cur),
            EV_PROC_STATUS => self.proc_status::<S>(ev, gen, cur),
            EV_GO_CREATE | EV_GO_CREATE_BLOCKED => self.go_create::<S>(ev, gen, cur),
            EV_GO_CREATE_SYSCALL => self.go_create_syscall::<S>(ev, gen, cur),
            EV_GO_START => self.go_start::<S>(ev, gen, cur),
            EV_GO_DESTROY | EV_GO_STOP | EV_GO_BLOCK => self.go_stop_exec::<S>(ev, cur),
            EV_GO_DESTROY_SYSCALL => self.go_destroy_syscall::<S>(ev, cur),
            EV_GO_UNBLOCK => self.go_unblock::<S>(ev, gen, cur),
            EV_GO_SYSCALL_BEGIN => self.go_syscall_begin::<S>(ev, gen, cur),
            EV_GO_SYSCALL_END => self.go_syscall_end::<S>(ev, cur),
            EV_GO_SYSCALL_END_BLOCKED => self.go_syscall_end_blocked::<S>(ev, cur),
            EV_GO_STATUS | EV_GO_STATUS_STACK => self.go_status::<S>(ev, gen, cur),
            EV_STW_BEGIN | EV_GC_MARK_ASSIST_BEGIN => self.go_range_begin::<S>(ev, cur),
            EV_STW_END | EV_GC_MARK_ASSIST_END => self.go_range_end::<S>(ev, cur),
            EV_GC_ACTIVE => self.gc_active::<S>(ev, gen, cur),
            EV_GC_BEGIN => self.gc_begin::<S>(ev, cur),
            EV_GC_END => self.gc_end::<S>(ev, cur),
            EV_GC_SWEEP_ACTIVE => self.gc_sweep_active::<S>(ev, gen, cur),
            EV_GC_SWEEP_BEGIN => self.gc_sweep_begin::<S>(ev, cur),
            EV_GC_SWEEP_END => self.gc_sweep_end::<S>(ev, cur),
            EV_GC_MARK_ASSIST_ACTIVE => self.go_range_active::<S>(ev, gen, cur),
            EV_HEAP_ALLOC | EV_HEAP_GOAL => self.heap_metric::<S>(ev, cur),
            EV_USER_TASK_BEGIN => self.user_task_begin::<S>(ev, g, cur),
            EV_USER_TASK_END => self.user_task_end::<S>(ev, cur),
            EV_USER_REGION_BEGIN | EV_USER_REGION_END => self.user_region::<S>(ev, g, cur),
            EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => self.go_switch::<S>(ev, gen, cur),
            EV_SPAN..=EV_GOROUTINE_STACK_FREE => self.alloc_free::<S>(ev, cur),
            t => Err(format!("bad event type found while ordering: {t}")),
        };
        r
    }

    /// Starts or stops logging the resources written by `advance` (see [`Ordering::wakes`]).
    pub fn log_writes(&mut self, on: bool) {
        self.g_states.log.on = on;
        self.p_states.log.on = on;
        self.m_states.log.on = on;
        self.g_states.log.keys.clear();
        self.p_states.log.keys.clear();
        self.m_states.log.keys.clear();
        self.gc_seen = (self.gc_seq, self.gc_state);
    }

    /// What `ev`, next on the M in slot `m_slot` (`has_m`: a real M), waits for, given
    /// that `advance` just answered `Ok(false)` for it: keys that [`Ordering::wakes`]
    /// yields once a write may have changed that answer. Each key names state the
    /// handler read before it said "not yet"; a handler that reads nothing else cannot
    /// change its answer (to `true` or to an error) until one of them is written.
    /// Sequence-numbered waits name the exact state (resource, generation, sequence
    /// number) that would let the event through, so that threads queued on one
    /// goroutine wake one at a time. Empty: no precise key (the caller keeps trying it).
    pub fn wait_keys(
        &self,
        ev: &BaseEvent,
        m_slot: u32,
        has_m: bool,
        gen: u64,
        out: &mut Vec<Wait>,
    ) {
        use spec::*;
        let pred = |s: u64| (gen, s.wrapping_sub(1));
        let own = has_m.then_some(Wait::M(m_slot));
        let ctx = if has_m {
            self.m_states.peek(m_slot)
        } else {
            MState { g: NO_G, p: NO_P }
        };
        match ev.typ {
            // proc_start: the P's (status, seq), and this M holding no P.
            EV_PROC_START => {
                let (g, s) = pred(ev.args[1]);
                out.push(Wait::P(ev.args[0] as i64, g, s));
                out.extend(own);
            }
            // proc_steal: the P's (status, seq).
            EV_PROC_STEAL => {
                let (g, s) = pred(ev.args[1]);
                out.push(Wait::P(ev.args[0] as i64, g, s));
            }
            // go_start, go_unblock: the goroutine's (existence, status, seq).
            EV_GO_START | EV_GO_UNBLOCK => {
                let (g, s) = pred(ev.args[1]);
                out.push(Wait::G(ev.args[0] as i64, g, s));
            }
            // go_switch: this M's context and running goroutine (checked first), then
            // the next goroutine's (status, seq).
            EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => {
                let (g, s) = pred(ev.args[1]);
                out.push(Wait::G(ev.args[0] as i64, g, s));
                out.push(Wait::GAny(ctx.g));
                out.extend(own);
            }
            // go_syscall_end_blocked: this M's P and that P's status.
            EV_GO_SYSCALL_END_BLOCKED => {
                out.push(Wait::PAny(ctx.p));
                out.extend(own);
            }
            // gc_active, gc_begin, gc_end: the GC sequence number and state.
            EV_GC_ACTIVE | EV_GC_BEGIN | EV_GC_END => out.push(Wait::Gc),
            _ => {}
        }
    }

    /// The keys of the waits that the writes since the last call (or [`Ordering::log_writes`])
    /// may have ended, appended to `out`; drains the write logs.
    pub fn wakes(&mut self, out: &mut Vec<Wait>) {
        let mut keys = std::mem::take(&mut self.g_states.log.keys);
        for &gid in &keys {
            out.push(Wait::GAny(gid));
            if let Some(s) = self.g_states.get(&gid) {
                out.push(Wait::G(gid, s.seq.gen, s.seq.seq));
            }
        }
        keys.clear();
        self.g_states.log.keys = keys;
        let mut keys = std::mem::take(&mut self.p_states.log.keys);
        for &pid in &keys {
            out.push(Wait::PAny(pid));
            if let Some(s) = self.p_states.get(&pid) {
                out.push(Wait::P(pid, s.seq.gen, s.seq.seq));
            }
        }
        keys.clear();
        self.p_states.log.keys = keys;
        out.extend(self.m_states.log.keys.drain(..).map(Wait::M));
        if (self.gc_seq, self.gc_state) != self.gc_seen {
            self.gc_seen = (self.gc_seq, self.gc_state);
            out.push(Wait::Gc);
        }
    }

    /// A handler's success: the event advanced, and this M's context is now `new`
    /// (stored here, straight from registers, rather than returned through memory).
    #[inline(always)]
    fn done(&mut self, new: Ctx) -> Adv {
        if self.cur_has_m {
            self.m_states
                .set(self.cur_slot, MState { g: new.g, p: new.p });
        }
        Ok(true)
    }

    /// [`validate_ctx`], where a speculative ordering's unknown goroutine or proc
    /// satisfies a requirement by assuming it.
    #[inline(always)]
    fn vctx<const S: bool>(&mut self, ctx: Ctx, r: Reqs) -> Result<(), String> {
        vctx::<S>(&mut self.spec, ctx, r)
    }

    /// `a == b`, where `a` may be a speculative ordering's unknown value (then assumed).
    #[inline(always)]
    fn is<const S: bool>(&mut self, a: i64, b: i64) -> bool {
        same::<S>(&mut self.spec, a, b)
    }

    /// A speculative ordering's lookup of thread `mid` that the generation has not
    /// touched: it is assumed to be known to the real ordering, in its unknown state.
    #[cold]
    fn spec_m(&mut self, mid: i64) {
        let slot = self.m_states.slot(mid);
        if let Some(s) = self.spec.as_mut() {
            s.assume_m_exists(slot);
        }
        self.m_states.insert(mid, speculate::unknown_m(slot));
    }

    /// A goroutine created here: a speculation assumes it did not exist before (unless
    /// it was destroyed here first).
    #[inline]
    fn spec_new_g<const S: bool>(&mut self, g: i64) {
        if !S {
            return;
        }
        if let Some(s) = self.spec.as_mut() {
            if !s.destroyed.contains(&g) {
                s.assume_g(g, None);
            }
        }
    }

    /// A speculation's first GC event (sequence number `seq`): the GC is assumed to have
    /// been in phase `before` with the sequence number before `seq`.
    #[inline]
    fn spec_gc<const S: bool>(&mut self, seq: u64, before: GcState) {
        if S && self.gc_state == GcState::Unknown {
            let prev = seq.wrapping_sub(1);
            if let Some(s) = self.spec.as_mut() {
                s.gc = Some((prev, before));
            }
            self.gc_seq = prev;
            self.gc_state = before;
        }
    }

    /// A range begins or ends on goroutine (`g`) or proc `id`: from now on its ranges
    /// are the generation's own.
    #[inline]
    fn spec_range_op<const S: bool>(&mut self, g: bool, id: i64) {
        if !S {
            return;
        }
        if let Some(s) = self.spec.as_mut() {
            let intro = if g { &mut s.g_intro } else { &mut s.p_intro };
            if let Some(i) = intro.get_mut(&id) {
                i.ranges_closed = true;
            }
        }
    }

    /// A goroutine destroyed here.
    #[inline]
    fn spec_gone<const S: bool>(&mut self, g: i64) {
        if !S {
            return;
        }
        if let Some(s) = self.spec.as_mut() {
            s.destroyed.insert(g);
        }
    }

    /// The failure of a speculation on something it cannot know.
    #[cold]
    fn spec_fail(what: &str) -> Adv {
        Err(format!("speculation: {what}"))
    }

    // Precondition: none (status events may come from any thread). Sets up or checks
    // the P's state and resets its sequence number for this generation.
    fn proc_status<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, mut cur: Ctx) -> Adv {
        let pid = ev.args[0] as i64;
        let status = ev.args[1];
        if status >= 5 {
            return Err(format!("invalid status for proc {pid}: {status}"));
        }
        let status = status as u8;
        let mut old_state = ps::to_state(status as u64);
        if let Some(s) = self.p_states.get_mut(&pid) {
            if status == ps::SYSCALL_ABANDONED && s.status == ps::SYSCALL {
                // Abandoned is a lossy Syscall; we still know the M, so promote it.
                old_state = procstate::RUNNING;
                ev.args[1] = ps::SYSCALL as u64;
            } else if status == ps::SYSCALL_ABANDONED && s.status == ps::SYSCALL_ABANDONED {
                old_state = procstate::IDLE;
                ev.args[1] = ps::SYSCALL_ABANDONED as u64;
            } else if s.status != status {
                return Err(format!(
                    "inconsistent status for proc {pid}: old {} vs. new {}",
                    ps::name(s.status),
                    ps::name(status)
                ));
            }
            s.seq = Seq { gen, seq: 0 };
        } else if let Some(sp) = self.spec.as_mut().filter(|_| S) {
            // Introduced here: assumed known, in this status; an abandoned syscall is
            // assumed to be a Syscall before (the runtime writes SyscallAbandoned when
            // it steals a P whose status it has not written in the generation yet, and
            // the P was in Syscall in the one before), promoted as below.
            let before = if status == ps::SYSCALL_ABANDONED {
                old_state = procstate::RUNNING;
                ev.args[1] = ps::SYSCALL as u64;
                ps::SYSCALL
            } else {
                status
            };
            sp.assume_p(pid, before);
            sp.p_intro.insert(pid, Default::default());
            self.p_states.insert(
                pid,
                PState {
                    status: before,
                    seq: Seq { gen, seq: 0 },
                    ranges: RangeState::default(),
                },
            );
        } else {
            self.p_states.insert(
                pid,
                PState {
                    status,
                    seq: Seq { gen, seq: 0 },
                    ranges: RangeState::default(),
                },
            );
            old_state = if gen == self.initial_gen {
                procstate::UNDETERMINED
            } else {
                procstate::NOT_EXIST
            };
        }
        ev.args[2] = old_state as u64; // extra[0]: the old state, for the transition.

        let mut new = cur;
        if status == ps::RUNNING || status == ps::SYSCALL {
            new.p = pid;
        }
        // A promoted SyscallAbandoned is about to be stolen and its status was likely not
        // written by the thread it is bound to: emit it in the context it is bound to.
        if status == ps::SYSCALL_ABANDONED && old_state == procstate::RUNNING {
            if S {
                // Which thread holds the P depends on threads the speculation may not
                // know: the merge finds it (see `Spec::holder`).
                let snapshot = (0..self.m_states.slots())
                    .map(|slot| self.m_states.slot_info(slot))
                    .filter(|&(_, seen, _)| seen)
                    .map(|(id, _, st)| (id, st))
                    .collect();
                self.spec.as_mut().unwrap().holder(pid, snapshot);
                cur.m = speculate::HOLDER;
                cur.p = pid;
                cur.g = NO_G;
                self.push(*ev, cur);
                return self.done(new);
            }
            let mut found = false;
            for (mid, ms) in self.m_states.iter() {
                if ms.p == pid {
                    cur.m = mid;
                    cur.p = pid;
                    cur.g = ms.g;
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "failed to find sched context for proc {pid} that's about to be stolen"
                ));
            }
        }
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: the P is Idle with seq+1, and this M has no P. Then M must be present.
    fn proc_start<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0] as i64;
        let seq = Seq {
            gen,
            seq: ev.args[1],
        };
        match self.p_states.get(&pid) {
            Some(s) if s.status == ps::IDLE && seq.succeeds(s.seq) => {}
            _ => return Ok(false),
        }
        if !self.is::<S>(cur.p, NO_P) {
            return Ok(false);
        }
        self.vctx::<S>(cur, reqs(MustHave, MustNotHave, MayHave))?;
        let s = self.p_states.get_mut(&pid).unwrap();
        s.status = ps::RUNNING;
        s.seq = seq;
        let mut new = cur;
        new.p = pid;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: this M holds a Running or Syscall P. Always advanceable.
    fn proc_stop<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        let name = EvName(self.ver, ev.typ);
        let Some(s) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "event {name} for proc ({}) that doesn't exist",
                cur.p
            ));
        };
        if s.status != ps::RUNNING && s.status != ps::SYSCALL {
            return Err(format!(
                "{name} event for proc that's not {} or {}",
                ps::name(ps::RUNNING),
                ps::name(ps::SYSCALL)
            ));
        }
        validate_ctx(cur, reqs(MustHave, MustHave, MayHave))?;
        s.status = ps::IDLE;
        let mut new = cur;
        new.p = NO_P;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: the P is in (possibly abandoned) Syscall with seq+1.
    fn proc_steal<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0] as i64;
        let seq = Seq {
            gen,
            seq: ev.args[1],
        };
        let old_status = match self.p_states.get(&pid) {
            Some(s)
                if (s.status == ps::SYSCALL || s.status == ps::SYSCALL_ABANDONED)
                    && seq.succeeds(s.seq) =>
            {
                s.status
            }
            _ => return Ok(false),
        };
        self.vctx::<S>(cur, reqs(MustHave, MayHave, MayHave))?;
        ev.args[3] = old_status as u64; // extra[0]: lets the view say Idle->Idle.
        let s = self.p_states.get_mut(&pid).unwrap();
        s.status = ps::IDLE;
        s.seq = seq;
        if old_status == ps::SYSCALL_ABANDONED {
            // We lost track of the M: leave it alone.
            self.push(*ev, cur);
            return self.done(cur);
        }
        let mid = ev.args[2] as i64;
        let mut new = cur;
        if mid == cur.m {
            // Self-steal: like a ProcStop.
            if !self.is::<S>(cur.p, pid) {
                return Err(format!(
                    "tried to self-steal proc {pid} (thread {mid}), but got proc {} instead",
                    cur.p
                ));
            }
            new.p = NO_P;
            self.push(*ev, cur);
            return self.done(new);
        }
        if S && self.m_states.get(&mid).is_none() {
            self.spec_m(mid);
        }
        let Some(ms) = self.m_states.get_mut(&mid) else {
            return Err(format!("stole proc from non-existent thread {mid}"));
        };
        if !same::<S>(&mut self.spec, ms.p, pid) {
            return Err(format!(
                "tried to steal proc {pid} from thread {mid}, but got proc {} instead",
                ms.p
            ));
        }
        // The victim M is in a syscall and cannot proceed until it loses its P.
        ms.p = NO_P;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: none on the context. First generation: any goroutine may appear
    // (Undetermined -> X); later ones only goroutines we know, in the state we know.
    fn go_status<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, mut cur: Ctx) -> Adv {
        let gid = ev.args[0] as i64;
        let mid = ev.args[1] as i64;
        let status = ev.args[2];
        if status >= 5 {
            return Err(format!("invalid status for goroutine {gid}: {status}"));
        }
        let status = status as u8;
        let mut old_state = gs::to_state(status as u64);
        if let Some(s) = self.g_states.get_mut(&gid) {
            if s.status != status {
                return Err(format!(
                    "inconsistent status for goroutine {gid}: old {} vs. new {}",
                    gs::name(s.status),
                    gs::name(status)
                ));
            }
            s.seq = Seq { gen, seq: 0 };
        } else if let Some(sp) = self.spec.as_mut().filter(|_| S) {
            // Introduced here: assumed known, in this status.
            if sp.destroyed.contains(&gid) {
                return Self::spec_fail("status of a goroutine destroyed before");
            }
            sp.assume_g(gid, Some(status));
            sp.g_intro.insert(gid, Default::default());
            self.g_states
                .insert(gid, GState::new(status, Seq { gen, seq: 0 }));
        } else if gen == self.initial_gen {
            self.g_states
                .insert(gid, GState::new(status, Seq { gen, seq: 0 }));
            old_state = gostate::UNDETERMINED;
        } else {
            return Err(format!(
                "found goroutine status for new goroutine after the first generation: id={gid} status={}",
                gs::name(status)
            ));
        }
        ev.args[2] = (old_state as u64) << 32 | status as u64;

        let mut new = cur;
        match status {
            gs::RUNNING => new.g = gid,
            gs::SYSCALL => {
                if mid == NO_M {
                    return Err(format!("found goroutine {gid} in syscall without a thread"));
                }
                if mid == cur.m {
                    if gen != self.initial_gen && !self.is::<S>(cur.g, gid) {
                        return Err(format!(
                            "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                            cur.g
                        ));
                    }
                    new.g = gid;
                } else {
                    // A goroutine sitting in a syscall on another M for the whole
                    // generation: attribute the event to that M.
                    if S && self.m_states.get(&mid).is_none() {
                        self.spec_m(mid);
                    }
                    match self.m_states.get(&mid).copied() {
                        Some(ms) => {
                            if !self.is::<S>(ms.g, gid) {
                                return Err(format!(
                                    "inconsistent thread for syscalling goroutine {gid}: thread has goroutine {}",
                                    ms.g
                                ));
                            }
                            cur.g = if is_unknown(ms.g) { gid } else { ms.g };
                        }
                        None => {
                            self.m_states.insert(mid, MState { g: gid, p: NO_P });
                        }
                    }
                    cur.m = mid;
                }
            }
            _ => {}
        }
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: M and P; the current G, if any, is running.
    fn go_create<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MustHave, MayHave))?;
        match self.g_states.get(&cur.g).map(|s| s.status) {
            Some(st) if st != gs::RUNNING => {
                return Err(format!(
                    "{} event for goroutine that's not Running",
                    self.name(ev.typ)
                ));
            }
            Some(_) => {}
            // Unknown: assumed none (the runtime names a creating goroutine's status
            // first).
            None if S && !self.is::<S>(cur.g, NO_G) => {
                return Self::spec_fail("the creating goroutine");
            }
            None => {}
        }
        let newg = ev.args[0] as i64;
        if self.g_states.contains_key(&newg) {
            return Err(format!(
                "tried to create goroutine ({newg}) that already exists"
            ));
        }
        self.spec_new_g::<S>(newg);
        let status = if ev.typ == spec::EV_GO_CREATE_BLOCKED {
            gs::WAITING
        } else {
            gs::RUNNABLE
        };
        self.g_states
            .insert(newg, GState::new(status, Seq { gen, seq: 0 }));
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P and a Running G on this M. Always advanceable.
    fn go_stop_exec<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        let s = self.cur_g(ev.typ, cur.g, gs::RUNNING, "Running")?;
        let mut new = cur;
        match ev.typ {
            spec::EV_GO_DESTROY => {
                self.g_states.remove(&cur.g);
                self.spec_gone::<S>(cur.g);
                new.g = NO_G;
            }
            spec::EV_GO_STOP => {
                s.status = gs::RUNNABLE;
                new.g = NO_G;
            }
            _ => {
                s.status = gs::WAITING;
                new.g = NO_G;
            }
        }
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: the G is Runnable with seq+1; this M has a P and no G.
    fn go_start<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let gid = ev.args[0] as i64;
        let seq = Seq {
            gen,
            seq: ev.args[1],
        };
        let Some(s) = self.g_states.get_mut(&gid) else {
            return Ok(false);
        };
        if s.status != gs::RUNNABLE || !seq.succeeds(s.seq) {
            return Ok(false);
        }
        vctx::<S>(&mut self.spec, cur, reqs(MustHave, MustHave, MustNotHave))?;
        s.status = gs::RUNNING;
        s.seq = seq;
        let mut new = cur;
        new.g = gid;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: the G is Waiting with seq+1. Any context may unblock.
    fn go_unblock<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let gid = ev.args[0] as i64;
        let seq = Seq {
            gen,
            seq: ev.args[1],
        };
        match self.g_states.get_mut(&gid) {
            Some(s) if s.status == gs::WAITING && seq.succeeds(s.seq) => {
                s.status = gs::RUNNABLE;
                s.seq = seq;
            }
            _ => return Ok(false),
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: a Running G on this M; the next G is Waiting with seq+1.
    // Emits: the switch itself (an unblock of next), a GoBlock or GoDestroy of the
    // current G, and a GoStart of next.
    fn go_switch<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.cur_g(ev.typ, cur.g, gs::RUNNING, "Running")?;
        let nextg = ev.args[0] as i64;
        let seq = Seq {
            gen,
            seq: ev.args[1],
        };
        match self.g_states.get(&nextg) {
            Some(s) if s.status == gs::WAITING && seq.succeeds(s.seq) => {}
            _ => return Ok(false),
        }
        self.push(*ev, cur);
        if ev.typ == spec::EV_GO_SWITCH {
            self.g_states.get_mut(&cur.g).unwrap().status = gs::WAITING;
            self.push(
                BaseEvent {
                    typ: spec::EV_GO_BLOCK,
                    time: ev.time,
                    args: [0; 4],
                },
                cur,
            );
        } else {
            self.g_states.remove(&cur.g);
            self.spec_gone::<S>(cur.g);
            self.push(
                BaseEvent {
                    typ: spec::EV_GO_DESTROY,
                    time: ev.time,
                    args: [0; 4],
                },
                cur,
            );
        }
        let n = self.g_states.get_mut(&nextg).unwrap();
        n.status = gs::RUNNING;
        n.seq = seq;
        let mut new = cur;
        new.g = nextg;
        let mut start_ctx = cur;
        start_ctx.g = NO_G;
        self.push(
            BaseEvent {
                typ: spec::EV_GO_START,
                time: ev.time,
                args: [nextg as u64, ev.args[1], 0, 0],
            },
            start_ctx,
        );
        self.done(new)
    }

    // Precondition: a Running G on this M with a P whose seq advances by one.
    fn go_syscall_begin<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        let name = EvName(self.ver, ev.typ);
        let s = self.cur_g(ev.typ, cur.g, gs::RUNNING, "Running")?;
        s.status = gs::SYSCALL;
        let Some(p) = self.p_states.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {name}", cur.p));
        };
        p.status = ps::SYSCALL;
        let pseq = Seq {
            gen,
            seq: ev.args[0],
        };
        if !pseq.succeeds(p.seq) {
            return Err(format!(
                "failed to advance {name}: can't make sequence: {} (gen={}) -> {} (gen={})",
                p.seq.seq, p.seq.gen, pseq.seq, pseq.gen
            ));
        }
        p.seq = pseq;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: a G in Syscall on this M, whose P is in Syscall. Always advanceable.
    fn go_syscall_end<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        let name = EvName(self.ver, ev.typ);
        let s = self.cur_g(ev.typ, cur.g, gs::SYSCALL, "Running")?;
        s.status = gs::RUNNING;
        let Some(p) = self.p_states.get_mut(&cur.p) else {
            return Err(format!("uninitialized proc {} found during {name}", cur.p));
        };
        if p.status != ps::SYSCALL {
            return Err(format!(
                "expected proc {} in state {}, but got {} instead",
                cur.p,
                ps::name(ps::SYSCALL),
                ps::name(p.status)
            ));
        }
        p.status = ps::RUNNING;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: this M's P (if any) has left Syscall (stopped or stolen first).
    fn go_syscall_end_blocked<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        let name = EvName(self.ver, ev.typ);
        if !self.is::<S>(cur.p, NO_P) {
            let Some(p) = self.p_states.get(&cur.p) else {
                return Err(format!("uninitialized proc {} found during {name}", cur.p));
            };
            if p.status == ps::SYSCALL {
                return Ok(false);
            }
        }
        self.vctx::<S>(cur, reqs(MustHave, MayHave, MustHave))?;
        let s = self.cur_g(ev.typ, cur.g, gs::SYSCALL, "Running")?;
        s.status = gs::RUNNABLE;
        let mut new = cur;
        new.g = NO_G;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: M, no G (a cgo callback creates its goroutine in a syscall).
    fn go_create_syscall<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MayHave, MustNotHave))?;
        let newg = ev.args[0] as i64;
        if self.g_states.contains_key(&newg) {
            return Err(format!(
                "tried to create goroutine ({newg}) in syscall that already exists"
            ));
        }
        self.spec_new_g::<S>(newg);
        self.g_states
            .insert(newg, GState::new(gs::SYSCALL, Seq { gen, seq: 0 }));
        let mut new = cur;
        new.g = newg;
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: M and a G in Syscall. If the M holds a P (in Syscall), the P is
    // abandoned and an extra self-ProcSteal is emitted first.
    fn go_destroy_syscall<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MayHave, MustHave))?;
        let name = EvName(self.ver, ev.typ);
        self.cur_g(ev.typ, cur.g, gs::SYSCALL, "Syscall")?;
        self.g_states.remove(&cur.g);
        self.spec_gone::<S>(cur.g);
        let mut new = cur;
        new.g = NO_G;
        if !self.is::<S>(cur.p, NO_P) {
            let Some(p) = self.p_states.get_mut(&cur.p) else {
                return Err(format!("found invalid proc {} during {name}", cur.p));
            };
            if p.status != ps::SYSCALL {
                return Err(format!(
                    "proc {} in unexpected state {} during {name}",
                    cur.p,
                    ps::name(p.status)
                ));
            }
            p.status = ps::SYSCALL_ABANDONED;
            new.p = NO_P;
            self.push(
                BaseEvent {
                    typ: spec::EV_PROC_STEAL,
                    time: ev.time,
                    args: [cur.p as u64, 0, 0, ps::SYSCALL as u64],
                },
                cur,
            );
        }
        self.push(*ev, cur);
        self.done(new)
    }

    // Precondition: M, P, G. Task IDs may not begin twice while active.
    fn user_task_begin<const S: bool>(
        &mut self,
        ev: &mut BaseEvent,
        g: &Generation,
        cur: Ctx,
    ) -> Adv {
        let id = ev.args[0];
        if self.active_tasks.contains_key(&id) {
            return Err(format!("task ID conflict: {id}"));
        }
        if let Some(s) = self.spec.as_mut().filter(|_| S) {
            if !s.tasks_ended.contains(&id) {
                s.assume_task_absent(id);
            }
        }
        let mut parent = ev.args[1];
        if parent == 0 {
            // 0 on the wire means "no parent", not the background task.
            parent = NO_TASK;
            ev.args[1] = NO_TASK;
        }
        let name_id = ev.args[2];
        let Some(name) = g.strings.get(name_id) else {
            return Err(format!("invalid string ID {name_id} for {} event", ev.typ));
        };
        self.active_tasks.insert(id, (name, parent));
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P, G. Carries the task's type and parent from its Begin, which
    // may lie in an earlier generation (extra[0] = parent, extra[1] = type, global ID).
    fn user_task_end<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        let id = ev.args[0];
        if let Some((name, parent)) = self.active_tasks.remove(&id) {
            ev.args[2] = parent;
            ev.args[3] = name as u64;
        } else if let Some(s) = self.spec.as_mut().filter(|_| S) {
            // Begun before, maybe: the merge fills in the type and parent.
            s.tasks_ended.insert(id);
            ev.args[2] = NO_TASK;
            ev.args[3] = speculate::TASK_UNKNOWN;
        } else {
            ev.args[2] = NO_TASK;
            ev.args[3] = 0;
        }
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P and a known G. Regions nest per goroutine; an End with no open
    // region is fine (it began before the trace).
    fn user_region<const S: bool>(&mut self, ev: &mut BaseEvent, g: &Generation, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        let tid = ev.args[0];
        let name_id = ev.args[1];
        let Some(name) = g.strings.get(name_id) else {
            return Err(format!("invalid string ID {name_id} for {} event", ev.typ));
        };
        let begin = ev.typ == spec::EV_USER_REGION_BEGIN;
        let Some(s) = self.g_states.get_mut(&cur.g) else {
            return Err(format!(
                "encountered {} without known state for current goroutine {}",
                if begin {
                    "EvUserRegionBegin"
                } else {
                    "EvUserRegionEnd"
                },
                cur.g
            ));
        };
        if begin {
            s.extra().regions.push((tid, name));
        } else if s.extra().regions.is_empty() && S {
            // The goroutine may hold regions begun before this generation.
            if let Some(intro) = self.spec.as_mut().unwrap().g_intro.get_mut(&cur.g) {
                intro.regions_below.push((tid, name));
            }
        } else if let Some(&last) = s.extra().regions.last() {
            if last != (tid, name) {
                return Err(format!(
                    "misuse of region in goroutine {}: region end {{{tid} {}}} when the inner-most active region start event is {{{} {}}}",
                    cur.g, name, last.0, last.1
                ));
            }
            s.extra().regions.pop();
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    fn gc_active<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        if gen == self.initial_gen {
            if self.gc_state != GcState::Undetermined {
                return Err("GCActive in the first generation isn't first GC event".into());
            }
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(*ev, cur);
            return self.done(cur);
        }
        self.spec_gc::<S>(seq, GcState::Running);
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(false);
        }
        if self.gc_state != GcState::Running {
            return Err("encountered GCActive while GC was not in progress".into());
        }
        self.gc_seq = seq;
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    fn gc_begin<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        self.spec_gc::<S>(seq, GcState::NotRunning);
        if self.gc_state == GcState::Undetermined {
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(*ev, cur);
            return self.done(cur);
        }
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(false);
        }
        if self.gc_state == GcState::Running {
            return Err("encountered GCBegin while GC was already in progress".into());
        }
        self.gc_seq = seq;
        self.gc_state = GcState::Running;
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    fn gc_end<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        self.spec_gc::<S>(seq, GcState::Running);
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok(false);
        }
        if self.gc_state == GcState::NotRunning {
            return Err("encountered GCEnd when GC was not in progress".into());
        }
        if self.gc_state == GcState::Undetermined {
            return Err("encountered GCEnd when GC was in an undetermined state".into());
        }
        self.gc_seq = seq;
        self.gc_state = GcState::NotRunning;
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P, G.
    fn annotation<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M and P.
    fn heap_metric<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MustHave, MayHave))?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M and P; no sweep in flight on the P.
    fn gc_sweep_begin<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MustHave, MayHave))?;
        let t = make_range_type(ev.typ, 0);
        self.spec_range_op::<S>(false, cur.p);
        match self.p_states.get_mut(&cur.p) {
            Some(p) => p.ranges.begin(t)?,
            None => {
                return Err(format!(
                    "uninitialized proc {} found during GCSweepBegin",
                    cur.p
                ))
            }
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    fn gc_sweep_active<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0] as i64;
        let initial = gen == self.initial_gen;
        let Some(p) = self.p_states.get_mut(&pid) else {
            return Err(format!("encountered GCSweepActive for unknown proc {pid}"));
        };
        let t = make_range_type(ev.typ, 0);
        let intro = self
            .spec
            .as_mut()
            .filter(|_| S)
            .and_then(|s| s.p_intro.get_mut(&pid));
        if !spec_active(intro, &mut p.ranges, t) {
            p.ranges.active(t, initial)?;
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    fn gc_sweep_end<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MustHave, MayHave))?;
        self.spec_range_op::<S>(false, cur.p);
        match self.p_states.get_mut(&cur.p) {
            Some(p) => {
                p.ranges.end(ev.typ)?;
            }
            None => {
                return Err(format!(
                    "uninitialized proc {} found during GCSweepEnd",
                    cur.p
                ))
            }
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P and a known G; the range not already in flight.
    fn go_range_begin<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        let desc = if ev.typ == spec::EV_STW_BEGIN {
            ev.args[0]
        } else {
            0
        };
        self.spec_range_op::<S>(true, cur.g);
        let Some(s) = self.g_states.get_mut(&cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                ev.typ, cur.g
            ));
        };
        s.extra().ranges.begin(make_range_type(ev.typ, desc))?;
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: none on the context (may name a non-running goroutine).
    fn go_range_active<const S: bool>(&mut self, ev: &mut BaseEvent, gen: u64, cur: Ctx) -> Adv {
        let gid = ev.args[0] as i64;
        let initial = gen == self.initial_gen;
        let name = EvName(self.ver, ev.typ);
        let Some(s) = self.g_states.get_mut(&gid) else {
            return Err(format!("uninitialized goroutine {gid} found during {name}"));
        };
        let t = make_range_type(ev.typ, 0);
        let intro = self
            .spec
            .as_mut()
            .filter(|_| S)
            .and_then(|s| s.g_intro.get_mut(&gid));
        if !spec_active(intro, &mut s.extra().ranges, t) {
            s.extra().ranges.active(t, initial)?;
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M, P and a known G with the range in flight. STWEnd gets the
    // reason of its Begin in args[0].
    fn go_range_end<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, USER_GO_REQS)?;
        self.spec_range_op::<S>(true, cur.g);
        let Some(s) = self.g_states.get_mut(&cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                ev.typ, cur.g
            ));
        };
        let desc = s.extra().ranges.end(ev.typ)?;
        if ev.typ == spec::EV_STW_END {
            ev.args[0] = desc;
        }
        self.push(*ev, cur);
        self.done(cur)
    }

    // Precondition: M.
    fn alloc_free<const S: bool>(&mut self, ev: &mut BaseEvent, cur: Ctx) -> Adv {
        self.vctx::<S>(cur, reqs(MustHave, MayHave, MayHave))?;
        self.push(*ev, cur);
        self.done(cur)
    }
}
