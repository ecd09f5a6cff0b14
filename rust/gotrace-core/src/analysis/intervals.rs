//! State intervals of goroutines, procs and threads, following the oracle's
//! "generation-start interval rule" (shared/oracle/README.md):
//!
//! 1. `X->X` changes nothing: the current interval continues.
//! 2. Any other transition at `t` closes the current interval at `t`.
//! 3. A transition to `NotExist` (or to a state that is not tracked) ends tracking.
//! 4. Otherwise a new interval opens at `t`, except after `Undetermined`: the resource
//!    existed before the trace (or snapshot) began, so its interval opens at the most
//!    recent Sync. Procs of v1 traces are the exception (Go's converter emits their
//!    `Undetermined->X` at the first real ProcStart/ProcStop).
//! 5. Intervals still open at the end are closed at the last event and flagged `open`.
//!
//! Thread intervals are derived: a thread is Running / in Syscall while a goroutine's
//! Running / Syscall interval names it as its thread.

use super::idmap::IdMap;
use super::keyed::KeyedNs;
use crate::store::{gostate, prefault, procstate, IdCol};

/// Intervals of one resource kind, as columns of one length.
///
/// `g`, `p`, `m` are the goroutine, proc and thread involved (-1 = none / unknown): for a
/// goroutine interval the proc and thread it ran on (Running and Syscall intervals; `g` =
/// `id`); for a proc interval the thread that started it (`p` = `id`); for a thread interval
/// the goroutine it executed and that goroutine's proc (`m` = `id`). A table made for one
/// resource ([`Intervals::new`]) does not store its own ID column twice: read `g`, `p`, `m`
/// through [`Intervals::g`] etc. Open intervals (see [`Interval::open`]) come last.
///
/// The ID columns are [`IdCol`]s, 32 bits while every value fits, as in the event table:
/// a big trace has tens of millions of intervals, and they are most of an analysis'
/// memory.
#[derive(Default, Debug, Clone)]
pub struct Intervals {
    pub id: IdCol,
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    /// `gostate` values for goroutines and threads, `procstate` values for procs.
    pub state: Vec<u8>,
    /// String ID of the reason of the transition that began the interval (0 = none).
    pub reason: Vec<u32>,
    /// Stack ID of the transition that began the interval (0 = none).
    pub stack: Vec<u32>,
    g: IdCol,
    p: IdCol,
    m: IdCol,
    /// Runnable goroutine intervals begun by an unblock (`Waiting->Runnable`): the goroutine
    /// that unblocked it (-1 = none, e.g. the netpoller) and that goroutine's stack.
    pub unblocker: IdCol,
    pub unblocker_stack: Vec<u32>,
    /// First row still open at the end of the trace (every later one is open too).
    open_from: Option<usize>,
    /// Whose ID column is `id` itself (None: all three are stored).
    own: Option<Resource>,
    /// Rows `0..populated` are faulted in (or were written without that).
    populated: usize,
}

/// Rows faulted in at a time ahead of the writer: one `madvise` per column instead of a
/// page fault per 4 KiB of fresh memory, most of the cost of building big tables.
const PREFAULT_ROWS: usize = 1 << 15;

impl Intervals {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// An empty table with room for `n` rows, storing every column.
    pub fn with_capacity(n: usize) -> Self {
        Intervals::for_resource(None, n)
    }

    /// An empty table of intervals of `res`, with room for `n` rows.
    pub fn new(res: Resource, n: usize) -> Self {
        Intervals::for_resource(Some(res), n)
    }

    fn for_resource(own: Option<Resource>, n: usize) -> Self {
        let id_col = |r| if own == Some(r) { 0 } else { n };
        Intervals {
            id: IdCol::with_capacity(n),
            start: Vec::with_capacity(n),
            end: Vec::with_capacity(n),
            state: Vec::with_capacity(n),
            reason: Vec::with_capacity(n),
            stack: Vec::with_capacity(n),
            g: IdCol::with_capacity(id_col(Resource::Goroutine)),
            p: IdCol::with_capacity(id_col(Resource::Proc)),
            m: IdCol::with_capacity(id_col(Resource::Thread)),
            unblocker: IdCol::with_capacity(n),
            unblocker_stack: Vec::with_capacity(n),
            open_from: None,
            own,
            populated: 0,
        }
    }

    /// The goroutine column.
    pub fn g(&self) -> &IdCol {
        self.id_col(Resource::Goroutine, &self.g)
    }

    /// The proc column.
    pub fn p(&self) -> &IdCol {
        self.id_col(Resource::Proc, &self.p)
    }

    /// The thread column.
    pub fn m(&self) -> &IdCol {
        self.id_col(Resource::Thread, &self.m)
    }

    fn id_col<'a>(&'a self, r: Resource, col: &'a IdCol) -> &'a IdCol {
        if self.own == Some(r) {
            &self.id
        } else {
            col
        }
    }

    /// Which of `g`, `p`, `m` is the `id` column itself (not stored apart).
    pub fn own(&self) -> Option<Resource> {
        self.own
    }

    /// Moves out the stored `g`, `p`, `m` columns (None for the one that is `id`).
    pub fn take_gpm(&mut self) -> [Option<IdCol>; 3] {
        let own = self.own;
        let take = |r, v: &mut IdCol| (own != Some(r)).then(|| std::mem::take(v));
        [
            take(Resource::Goroutine, &mut self.g),
            take(Resource::Proc, &mut self.p),
            take(Resource::Thread, &mut self.m),
        ]
    }

    /// Rows `open_from()..len()` are the intervals still open at the end of the trace.
    pub fn open_from(&self) -> usize {
        self.open_from.unwrap_or(self.len())
    }

    /// The open flag of every row.
    pub fn open(&self) -> Vec<bool> {
        // Zeroed memory: only the pages of the open rows are ever written.
        let mut v = vec![false; self.len()];
        v[self.open_from()..].fill(true);
        v
    }

    #[cold]
    fn populate(&mut self) {
        let (from, to) = (self.populated, self.populated + PREFAULT_ROWS);
        self.populated = to;
        macro_rules! each {
            ($($col:ident),*) => {$(prefault(&self.$col, from, to);)*};
        }
        each!(start, end, state, reason, stack, unblocker_stack);
        for c in [&self.id, &self.g, &self.p, &self.m, &self.unblocker] {
            c.prefault(from, to);
        }
    }

    /// Appends a row. Open rows must come last (as the [`Tracker`] closes them).
    #[inline]
    pub fn push(&mut self, iv: &Interval) {
        let n = self.id.len();
        if n == self.populated {
            self.populate();
        }
        if iv.open {
            self.open_from.get_or_insert(n);
        } else {
            assert!(
                self.open_from.is_none(),
                "closed interval after an open one"
            );
        }
        self.id.push(iv.id);
        self.start.push(iv.start);
        self.end.push(iv.end);
        self.state.push(iv.state);
        self.reason.push(iv.reason);
        self.stack.push(iv.stack);
        if self.own != Some(Resource::Goroutine) {
            self.g.push(iv.g);
        }
        if self.own != Some(Resource::Proc) {
            self.p.push(iv.p);
        }
        if self.own != Some(Resource::Thread) {
            self.m.push(iv.m);
        }
        self.unblocker.push(iv.unblocker);
        self.unblocker_stack.push(iv.unblocker_stack);
    }
}

/// One interval, as the tracker closes it (the fields of one row of [`Intervals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interval {
    pub id: i64,
    pub start: i64,
    pub end: i64,
    pub state: u8,
    pub reason: u32,
    pub stack: u32,
    pub g: i64,
    pub p: i64,
    pub m: i64,
    pub unblocker: i64,
    pub unblocker_stack: u32,
    pub open: bool,
}

/// Which resource an interval belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Goroutine,
    Proc,
    Thread,
}

/// Where the [`Tracker`] puts the intervals it closes, in closing order (by end time,
/// except those still open at the end, closed last).
pub trait IntervalSink {
    /// Whether the tracker also keeps the per-resource sums ([`GoStateStat`], [`ProcStat`]).
    const STATS: bool = true;
    fn interval(&mut self, res: Resource, iv: &Interval);
    /// Goroutine `id` ended (`->NotExist`) other than from a syscall, after its last
    /// interval. Only a broken trace brings such an ID back: the runtime never reuses
    /// goroutine IDs, except those of cgo callbacks, which end from a syscall.
    fn ended(&mut self, _id: i64) {}
}

/// Keeps every interval (the batch analysis).
#[derive(Debug)]
pub struct StoredIntervals {
    pub goroutines: Intervals,
    pub procs: Intervals,
    pub threads: Intervals,
}

impl Default for StoredIntervals {
    fn default() -> Self {
        StoredIntervals {
            goroutines: Intervals::new(Resource::Goroutine, 0),
            procs: Intervals::new(Resource::Proc, 0),
            threads: Intervals::new(Resource::Thread, 0),
        }
    }
}

impl IntervalSink for StoredIntervals {
    #[inline]
    fn interval(&mut self, res: Resource, iv: &Interval) {
        match res {
            Resource::Goroutine => self.goroutines.push(iv),
            Resource::Proc => self.procs.push(iv),
            Resource::Thread => self.threads.push(iv),
        }
    }
}

/// Drops the intervals: only the per-resource sums are kept.
#[derive(Default, Debug)]
pub struct NoIntervals;

impl IntervalSink for NoIntervals {
    #[inline]
    fn interval(&mut self, _: Resource, _: &Interval) {}
}

/// The oracle's `goroutine_states` entry of one goroutine ID.
#[derive(Default, Debug, Clone)]
pub struct GoStateStat {
    pub id: i64,
    pub first_ns: i64,
    pub end_ns: Option<i64>,
    pub running_ns: i64,
    pub runnable_ns: i64,
    pub waiting_ns: i64,
    /// (reason string ID, ns), in first-seen order.
    pub waiting_ns_by_reason: KeyedNs,
    pub syscall_ns: i64,
    pub intervals: i64,
    pub lifetimes: i64,
}

/// The oracle's `procs` entry of one proc ID.
#[derive(Default, Debug, Clone)]
pub struct ProcStat {
    pub id: i64,
    pub running_ns: i64,
    pub running_intervals: i64,
    pub idle_ns: i64,
    pub transitions: i64,
    pub running_at_end: bool,
}

/// The interval in progress of one resource.
#[derive(Clone, Copy, Debug)]
struct Cur {
    state: u8,
    since: i64,
    reason: u32,
    stack: u32,
    g: i64,
    p: i64,
    m: i64,
    unblocker: i64,
    unblocker_stack: u32,
}

impl Cur {
    #[inline]
    fn closed(&self, id: i64, end: i64, open: bool) -> Interval {
        Interval {
            id,
            start: self.since,
            end,
            state: self.state,
            reason: self.reason,
            stack: self.stack,
            g: self.g,
            p: self.p,
            m: self.m,
            unblocker: self.unblocker,
            unblocker_stack: self.unblocker_stack,
            open,
        }
    }
}

/// Per resource: its stats row and its entry in [`Live`] ([`NONE`]: not in a tracked
/// state). Eight bytes, also as an `Option` in [`IdMap`]'s vector (the stats row is
/// stored plus one, so zero is free for `None`): a long trace has millions of goroutine
/// IDs, most of them ended.
#[derive(Clone, Copy, Debug)]
struct Slot {
    stat1: std::num::NonZeroU32,
    cur: u32,
}

impl Slot {
    fn new(stat: u32) -> Self {
        // Stats rows are fewer than resources seen, which fit in memory: never u32::MAX.
        let stat1 =
            std::num::NonZeroU32::new(stat.wrapping_add(1)).unwrap_or(std::num::NonZeroU32::MAX);
        Slot { stat1, cur: NONE }
    }

    fn stat(&self) -> u32 {
        self.stat1.get() - 1
    }
}

const NONE: u32 = u32::MAX;

/// The intervals in progress, in a slab reused as resources end and begin.
#[derive(Default, Debug)]
struct Live {
    curs: Vec<Cur>,
    free: Vec<u32>,
}

impl Live {
    #[inline]
    fn get(&self, i: u32) -> Option<Cur> {
        (i != NONE).then(|| self.curs[i as usize])
    }

    /// Stores `new` in entry `i` (allocating or freeing it); returns the entry now used.
    #[inline]
    fn set(&mut self, i: u32, new: Option<Cur>) -> u32 {
        match (i, new) {
            (NONE, None) => NONE,
            (NONE, Some(c)) => match self.free.pop() {
                Some(j) => {
                    self.curs[j as usize] = c;
                    j
                }
                None => {
                    self.curs.push(c);
                    (self.curs.len() - 1) as u32
                }
            },
            (i, Some(c)) => {
                self.curs[i as usize] = c;
                i
            }
            (i, None) => {
                self.free.push(i);
                NONE
            }
        }
    }
}

/// One goroutine transition, as the tracker needs it.
#[derive(Clone, Copy, Debug)]
pub struct GoTransition {
    pub id: i64,
    pub from: u8,
    pub to: u8,
    pub time: i64,
    /// Reason string ID.
    pub reason: u32,
    /// Transition stack ID.
    pub stack: u32,
    /// Execution context of the event.
    pub ctx_g: i64,
    pub ctx_p: i64,
    pub ctx_m: i64,
    /// Event stack (the context goroutine's stack).
    pub ctx_stack: u32,
}

/// The state tracker: feed it the transitions in stream order, then [`Tracker::finish`].
/// Closed intervals go to the sink `S`.
#[derive(Default, Debug)]
pub struct Tracker<S = StoredIntervals> {
    v1: bool,
    last_sync: i64,
    seen_event: bool,
    gs: IdMap<Slot>,
    ps: IdMap<Slot>,
    live: Live,
    pub go_stats: Vec<GoStateStat>,
    pub proc_stats: Vec<ProcStat>,
    pub sink: S,
    /// Per thread: end of its last interval (thread intervals are clipped to not overlap).
    thread_end: IdMap<i64>,
}

/// All intervals and the per-resource sums of a trace.
#[derive(Default, Debug)]
pub struct StateIntervals {
    pub goroutines: Intervals,
    pub procs: Intervals,
    pub threads: Intervals,
    /// Sorted by ID.
    pub go_stats: Vec<GoStateStat>,
    /// Sorted by ID.
    pub proc_stats: Vec<ProcStat>,
}

impl Tracker {
    /// `v1`: the trace is a converted Go 1.11-1.21 trace (changes where procs'
    /// `Undetermined->X` intervals start).
    pub fn new(v1: bool) -> Self {
        Tracker::with_sink(v1, StoredIntervals::default())
    }

    /// Like [`Tracker::new`], with room for the intervals of `go` goroutine and `proc`
    /// proc transitions.
    pub fn with_capacity(v1: bool, go: usize, proc: usize) -> Self {
        Tracker::with_sink(
            v1,
            StoredIntervals {
                goroutines: Intervals::new(Resource::Goroutine, go),
                threads: Intervals::new(Resource::Thread, go / 2),
                procs: Intervals::new(Resource::Proc, proc),
            },
        )
    }

    /// Closes what is still open at `end` (the last event's time) and sorts the sums by ID.
    pub fn finish(self, end: i64) -> StateIntervals {
        let (go_stats, proc_stats, iv) = self.finish_sink(end);
        StateIntervals {
            goroutines: iv.goroutines,
            procs: iv.procs,
            threads: iv.threads,
            go_stats,
            proc_stats,
        }
    }
}

impl<S: IntervalSink> Tracker<S> {
    /// A tracker handing its intervals to `sink` (`v1` as for [`Tracker::new`]).
    pub fn with_sink(v1: bool, sink: S) -> Self {
        Tracker {
            v1,
            last_sync: 0,
            seen_event: false,
            gs: IdMap::default(),
            ps: IdMap::default(),
            live: Live::default(),
            go_stats: Vec::new(),
            proc_stats: Vec::new(),
            sink,
            thread_end: IdMap::default(),
        }
    }

    /// Every event's time must be passed here first (the first one stands in for the
    /// last Sync until a Sync is seen).
    #[inline]
    pub fn event_time(&mut self, t: i64) {
        if !self.seen_event {
            self.seen_event = true;
            self.last_sync = t;
        }
    }

    #[inline]
    pub fn sync(&mut self, t: i64) {
        self.last_sync = t;
    }

    fn close_go(&mut self, id: i64, si: u32, c: &Cur, now: i64, open: bool) {
        if S::STATS {
            let d = now - c.since;
            let g = &mut self.go_stats[si as usize];
            match c.state {
                gostate::RUNNING => g.running_ns += d,
                gostate::RUNNABLE => g.runnable_ns += d,
                gostate::WAITING => {
                    g.waiting_ns += d;
                    g.waiting_ns_by_reason.add(c.reason, d);
                }
                gostate::SYSCALL => g.syscall_ns += d,
                _ => {}
            }
            g.intervals += 1;
        }
        self.sink
            .interval(Resource::Goroutine, &c.closed(id, now, open));
        if c.m >= 0 && (c.state == gostate::RUNNING || c.state == gostate::SYSCALL) {
            let last = self.thread_end.get_or_insert_with(c.m, || i64::MIN);
            let mut tc = *c;
            tc.since = tc.since.max(*last);
            tc.unblocker = -1;
            tc.unblocker_stack = 0;
            *last = now;
            self.sink
                .interval(Resource::Thread, &tc.closed(c.m, now, open));
        }
    }

    fn close_proc(&mut self, id: i64, si: u32, c: &Cur, now: i64, open: bool) {
        if S::STATS {
            let d = now - c.since;
            let p = &mut self.proc_stats[si as usize];
            match c.state {
                procstate::RUNNING => {
                    p.running_ns += d;
                    p.running_intervals += 1;
                }
                procstate::IDLE => p.idle_ns += d,
                _ => {}
            }
        }
        self.sink.interval(Resource::Proc, &c.closed(id, now, open));
    }

    pub fn go_transition(&mut self, tr: &GoTransition) {
        let id = tr.id;
        let slot = match self.gs.get(id) {
            Some(s) => *s,
            None => {
                let stat = self.go_stats.len() as u32;
                if S::STATS {
                    self.go_stats.push(GoStateStat {
                        id,
                        first_ns: tr.time,
                        ..Default::default()
                    });
                }
                let s = Slot::new(stat);
                self.gs.insert(id, s);
                s
            }
        };
        let si = slot.stat();
        if S::STATS
            && tr.from != tr.to
            && (tr.from == gostate::NOT_EXIST || tr.from == gostate::UNDETERMINED)
        {
            let g = &mut self.go_stats[si as usize];
            g.lifetimes += 1;
            g.end_ns = None;
        }
        if let Some(c) = self.live.get(slot.cur) {
            if c.state == tr.to {
                return;
            }
            self.close_go(id, si, &c, tr.time, false);
        }
        let tracked = matches!(
            tr.to,
            gostate::RUNNING | gostate::RUNNABLE | gostate::WAITING | gostate::SYSCALL
        );
        let new = if tracked {
            let since = if tr.from == gostate::UNDETERMINED {
                self.last_sync
            } else {
                tr.time
            };
            let on_cpu = tr.to == gostate::RUNNING || tr.to == gostate::SYSCALL;
            let unblock = tr.to == gostate::RUNNABLE && tr.from == gostate::WAITING;
            Some(Cur {
                state: tr.to,
                since,
                reason: tr.reason,
                stack: tr.stack,
                g: id,
                p: if on_cpu { tr.ctx_p } else { -1 },
                m: if on_cpu { tr.ctx_m } else { -1 },
                unblocker: if unblock { tr.ctx_g } else { -1 },
                unblocker_stack: if unblock { tr.ctx_stack } else { 0 },
            })
        } else {
            if tr.to == gostate::NOT_EXIST {
                if S::STATS {
                    self.go_stats[si as usize].end_ns = Some(tr.time);
                }
                if tr.from != gostate::SYSCALL && tr.from != tr.to {
                    self.sink.ended(id);
                }
            }
            None
        };
        let cur = self.live.set(slot.cur, new);
        if cur != slot.cur {
            if let Some(s) = self.gs.get_mut(id) {
                s.cur = cur;
            }
        }
    }

    pub fn proc_transition(&mut self, id: i64, from: u8, to: u8, t: i64, ctx_m: i64) {
        let slot = match self.ps.get(id) {
            Some(s) => *s,
            None => {
                let stat = self.proc_stats.len() as u32;
                if S::STATS {
                    self.proc_stats.push(ProcStat {
                        id,
                        ..Default::default()
                    });
                }
                let s = Slot::new(stat);
                self.ps.insert(id, s);
                s
            }
        };
        let si = slot.stat();
        if S::STATS {
            self.proc_stats[si as usize].transitions += 1;
        }
        if let Some(c) = self.live.get(slot.cur) {
            if c.state == to {
                return;
            }
            self.close_proc(id, si, &c, t, false);
        }
        let new = if to == procstate::RUNNING || to == procstate::IDLE {
            let since = if from == procstate::UNDETERMINED && !self.v1 {
                self.last_sync
            } else {
                t
            };
            Some(Cur {
                state: to,
                since,
                reason: 0,
                stack: 0,
                g: -1,
                p: id,
                m: if to == procstate::RUNNING { ctx_m } else { -1 },
                unblocker: -1,
                unblocker_stack: 0,
            })
        } else {
            None
        };
        let cur = self.live.set(slot.cur, new);
        if cur != slot.cur {
            if let Some(s) = self.ps.get_mut(id) {
                s.cur = cur;
            }
        }
    }

    /// Closes what is still open at `end` (the last event's time, in ID order, goroutines
    /// first): the sums sorted by ID (empty unless `S::STATS`), and the sink.
    pub fn finish_sink(mut self, end: i64) -> (Vec<GoStateStat>, Vec<ProcStat>, S) {
        for (id, s) in std::mem::take(&mut self.gs).into_sorted() {
            if let Some(c) = self.live.get(s.cur) {
                self.close_go(id, s.stat(), &c, end, true);
            }
        }
        for (id, s) in std::mem::take(&mut self.ps).into_sorted() {
            if let Some(c) = self.live.get(s.cur) {
                if S::STATS && c.state == procstate::RUNNING {
                    self.proc_stats[s.stat() as usize].running_at_end = true;
                }
                self.close_proc(id, s.stat(), &c, end, true);
            }
        }
        self.go_stats.sort_unstable_by_key(|g| g.id);
        self.proc_stats.sort_unstable_by_key(|p| p.id);
        (self.go_stats, self.proc_stats, self.sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gostate::*;

    fn tr(id: i64, from: u8, to: u8, time: i64) -> GoTransition {
        GoTransition {
            id,
            from,
            to,
            time,
            reason: 0,
            stack: 0,
            ctx_g: -1,
            ctx_p: 0,
            ctx_m: 7,
            ctx_stack: 0,
        }
    }

    #[test]
    fn undetermined_opens_at_last_sync() {
        let mut t = Tracker::new(false);
        t.event_time(100);
        t.sync(100);
        t.go_transition(&tr(1, UNDETERMINED, RUNNING, 150));
        t.go_transition(&tr(1, RUNNING, WAITING, 200));
        let s = t.finish(300);
        let g = &s.goroutines;
        assert_eq!(g.start, vec![100, 200]);
        assert_eq!(g.end, vec![200, 300]);
        assert_eq!(g.state, vec![RUNNING, WAITING]);
        assert_eq!(g.open(), vec![false, true]);
        assert_eq!(g.m().to_vec(), [7, -1]);
        assert_eq!(g.g().to_vec(), [1, 1]);
        assert_eq!(s.go_stats[0].running_ns, 100);
        assert_eq!(s.go_stats[0].waiting_ns, 100);
        assert_eq!(s.go_stats[0].first_ns, 150);
        assert_eq!(s.go_stats[0].intervals, 2);
        assert_eq!(s.go_stats[0].lifetimes, 1);
    }

    #[test]
    fn same_state_is_a_no_op_and_not_exist_ends() {
        let mut t = Tracker::new(false);
        t.event_time(0);
        t.go_transition(&tr(5, NOT_EXIST, RUNNABLE, 10));
        t.go_transition(&tr(5, RUNNABLE, RUNNABLE, 20));
        t.sync(30);
        t.go_transition(&tr(5, RUNNABLE, RUNNING, 40));
        t.go_transition(&tr(5, RUNNING, NOT_EXIST, 50));
        t.go_transition(&tr(5, NOT_EXIST, RUNNABLE, 60));
        let s = t.finish(70);
        assert_eq!(s.goroutines.start, vec![10, 40, 60]);
        assert_eq!(s.goroutines.end, vec![40, 50, 70]);
        let st = &s.go_stats[0];
        assert_eq!((st.runnable_ns, st.running_ns), (40, 10));
        assert_eq!(st.lifetimes, 2);
        assert_eq!(st.end_ns, None);
    }

    #[test]
    fn unblocker_is_recorded() {
        let mut t = Tracker::new(false);
        t.event_time(0);
        let mut a = tr(2, NOT_EXIST, WAITING, 5);
        a.reason = 9;
        t.go_transition(&a);
        let mut b = tr(2, WAITING, RUNNABLE, 8);
        b.ctx_g = 3;
        b.ctx_stack = 4;
        t.go_transition(&b);
        let s = t.finish(10);
        assert_eq!(s.goroutines.unblocker.to_vec(), [-1, 3]);
        assert_eq!(s.goroutines.unblocker_stack, vec![0, 4]);
        assert_eq!(s.go_stats[0].waiting_ns_by_reason, vec![(9, 3)]);
    }

    #[test]
    fn procs_v1_open_at_transition() {
        for (v1, want) in [(false, 10), (true, 50)] {
            let mut t = Tracker::new(v1);
            t.event_time(10);
            t.proc_transition(1, procstate::UNDETERMINED, procstate::RUNNING, 50, 3);
            t.proc_transition(1, procstate::RUNNING, procstate::RUNNING, 60, 3);
            t.proc_transition(1, procstate::RUNNING, procstate::IDLE, 80, 3);
            let s = t.finish(100);
            assert_eq!(s.procs.start, vec![want, 80]);
            let p = &s.proc_stats[0];
            assert_eq!(p.running_ns, 80 - want);
            assert_eq!(p.idle_ns, 20);
            assert_eq!(p.transitions, 3);
            assert!(!p.running_at_end);
        }
    }
}
