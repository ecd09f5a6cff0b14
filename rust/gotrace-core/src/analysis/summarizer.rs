//! Per-goroutine execution statistics equal to Go's `internal/trace` Summarizer
//! (`go tool trace`'s goroutine analysis), including its quirks (see the oracle README,
//! "trace.Summarizer quirks"):
//!
//! * time 0 means "unset" for the pending timestamps;
//! * `Undetermined->X` credits the time since the last Sync to X, and the creation time
//!   is that Sync;
//! * `NotExist->X` starts a fresh summary (a reused ID keeps its last lifetime only);
//! * Waiting with reason `forever` finalizes the goroutine like its end;
//! * a syscall is split into syscall / syscall-block time when its P goes idle; a
//!   goroutine still in a blocked syscall at the end has the whole syscall counted as
//!   syscall time and the blocked part as scheduling wait too;
//! * the syscall bookkeeping (P -> G, G -> P) is the same lossy pair of maps.

use rustc_hash::FxHashMap as HashMap;

use super::idmap::IdMap;
use super::keyed::KeyedNs;
use crate::store::{gostate, procstate, resource, EventKind};

/// `GoroutineExecStats`. Maps are (string ID, ns) lists in first-insertion order; entries
/// of 0 ns are kept where Go's map has them.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct ExecStats {
    pub exec: i64,
    pub sched_wait: i64,
    pub block_by_reason: KeyedNs,
    pub syscall: i64,
    pub syscall_block: i64,
    pub total: i64,
    pub range_time: KeyedNs,
}

impl ExecStats {
    /// Go's `UnknownTime()`.
    pub fn unknown(&self) -> i64 {
        let mut sum = self.exec + self.sched_wait + self.syscall + self.syscall_block;
        for (_, d) in self.block_by_reason.iter() {
            sum += d;
        }
        if sum < self.total {
            self.total - sum
        } else {
            0
        }
    }

    /// `self - v` over the keys of `self`.
    fn sub(&self, v: &ExecStats) -> ExecStats {
        let diff = |a: &KeyedNs, b: &KeyedNs| {
            let mut out = KeyedNs::default();
            for &(k, d) in a.iter() {
                out.push(k, d - b.get(k).unwrap_or(0));
            }
            out
        };
        ExecStats {
            exec: self.exec - v.exec,
            sched_wait: self.sched_wait - v.sched_wait,
            block_by_reason: diff(&self.block_by_reason, &v.block_by_reason),
            syscall: self.syscall - v.syscall,
            syscall_block: self.syscall_block - v.syscall_block,
            total: self.total - v.total,
            range_time: diff(&self.range_time, &v.range_time),
        }
    }
}

/// An event a region starts or ends with: (time, [`EventKind`] value).
pub type EventRef = Option<(i64, u8)>;

/// `UserRegionSummary`.
#[derive(Default, Debug, Clone)]
pub struct RegionSummary {
    pub task_id: u64,
    /// Region type (string ID).
    pub name: u32,
    pub start: EventRef,
    pub end: EventRef,
    pub stats: ExecStats,
}

/// Go's `GoroutineSummary`, plus who created the goroutine.
#[derive(Default, Debug, Clone)]
pub struct GoroutineSummary {
    pub id: i64,
    /// Root frame function (string ID) and PC of the first transition stack seen.
    pub name: u32,
    pub pc: u64,
    pub creation_time: i64,
    pub start_time: i64,
    pub end_time: i64,
    pub stats: ExecStats,
    pub regions: Vec<RegionSummary>,
    /// The goroutine whose `NotExist->X` transition created this one (-1: none / it existed
    /// before the trace), and that creator's stack at the creation (the `go` statement).
    pub creator: i64,
    pub creation_stack: u32,
    pending: Pend,
}

/// A goroutine's [`Pending`] state, allocated at its first write and freed when the
/// goroutine is finalized: most of a big trace's goroutines have ended, and their
/// summaries are kept to the end (96 bytes each less; 44 MB for 457 k goroutines).
/// Reading an absent one reads zeros ("unset"), as Go's fresh summary does.
#[derive(Default, Debug, Clone)]
struct Pend(Option<Box<Pending>>);

static NO_PENDING: Pending = Pending {
    last_start: 0,
    last_runnable: 0,
    last_block: 0,
    last_block_reason: 0,
    last_syscall: 0,
    last_syscall_block: 0,
    last_range: KeyedNs::new(),
    active_regions: Vec::new(),
};

impl std::ops::Deref for Pend {
    type Target = Pending;
    fn deref(&self) -> &Pending {
        self.0.as_deref().unwrap_or(&NO_PENDING)
    }
}

impl std::ops::DerefMut for Pend {
    fn deref_mut(&mut self) -> &mut Pending {
        self.0.get_or_insert_with(Default::default)
    }
}

#[derive(Default, Debug, Clone)]
struct Pending {
    last_start: i64,
    last_runnable: i64,
    last_block: i64,
    last_block_reason: u32,
    last_syscall: i64,
    last_syscall_block: i64,
    last_range: KeyedNs,
    active_regions: Vec<RegionSummary>,
}

impl GoroutineSummary {
    fn new(id: i64, creation: i64) -> Self {
        GoroutineSummary {
            id,
            creation_time: creation,
            creator: -1,
            ..Default::default()
        }
    }

    fn snapshot(&self, last_ts: i64) -> ExecStats {
        let mut r = self.stats.clone();
        let p = &self.pending;
        if self.stats.total == 0 {
            r.total = last_ts - self.creation_time;
        }
        if p.last_start != 0 {
            r.exec += last_ts - p.last_start;
        }
        if p.last_runnable != 0 {
            r.sched_wait += last_ts - p.last_runnable;
        }
        if p.last_block != 0 {
            r.block_by_reason
                .add(p.last_block_reason, last_ts - p.last_block);
        }
        if p.last_syscall != 0 {
            r.syscall += last_ts - p.last_syscall;
        }
        if p.last_syscall_block != 0 {
            r.sched_wait += last_ts - p.last_syscall_block;
        }
        for &(name, ts) in p.last_range.iter() {
            r.range_time.add(name, last_ts - ts);
        }
        r
    }

    fn finalize(&mut self, last_ts: i64, trigger: EventRef, is_system: bool) {
        if let Some((t, _)) = trigger {
            self.end_time = t;
        }
        let fin = self.snapshot(last_ts);
        let active = match self.pending.0.as_deref_mut() {
            Some(p) => std::mem::take(&mut p.active_regions),
            None => Vec::new(),
        };
        if !is_system {
            for mut r in active {
                r.end = trigger;
                r.stats = fin.sub(&r.stats);
                self.regions.push(r);
            }
        }
        self.stats = fin;
        self.pending = Pend(None);
    }
}

/// Go's `UserTaskSummary`, reduced to what it reports: counts and IDs.
#[derive(Default, Debug, Clone)]
pub struct TaskSummary {
    pub id: u64,
    /// Task type (string ID).
    pub name: u32,
    pub parent: Option<u64>,
    /// Sorted.
    pub children: Vec<u64>,
    pub start: EventRef,
    pub end: EventRef,
    pub logs: i64,
    pub regions: i64,
    /// Goroutine IDs associated with the task (sorted; may hold -1, as Go's map does).
    pub goroutines: Vec<i64>,
}

/// Go's `IsSystemGoroutine`.
pub fn is_system_goroutine(name: &[u8]) -> bool {
    name.is_empty() || (name != b"runtime.main" && name.starts_with(b"runtime."))
}

/// One event as the summarizer sees it.
#[derive(Clone, Copy, Debug)]
pub struct Ev {
    pub time: i64,
    pub kind: u8,
    pub g: i64,
    pub p: i64,
    pub stack: u32,
    pub res_kind: u8,
    pub from: u8,
    pub to: u8,
    pub arg: i64,
    pub name: u32,
    /// Transition stack for state transitions.
    pub aux: u32,
}

/// Read access to the trace's strings and stacks.
pub trait Names {
    fn string(&self, id: u32) -> &[u8];
    /// Outermost frame (function string ID, PC) of a stack, None for no frames.
    fn root_frame(&self, stack: u32) -> Option<(u32, u64)>;
}

/// The goroutine names (root function string IDs) the [`Summarizer`] ends with, kept
/// alone: 8 bytes per goroutine ID instead of a whole summary.
#[derive(Default, Debug)]
pub struct GoNames {
    /// Name string ID plus one (so that `Option` of it is four bytes in [`IdMap`]'s
    /// vector: a streaming heatmap keeps one per goroutine ID).
    names: IdMap<std::num::NonZeroU32>,
}

const NO_NAME: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;

/// String ID `s` plus one (string IDs never reach u32::MAX: each is a distinct string of
/// the input).
fn name1(s: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(s.wrapping_add(1)).unwrap_or(NO_NAME)
}

impl GoNames {
    /// A goroutine transition (the Summarizer's naming rule: a fresh summary on
    /// `Undetermined->X` and `NotExist->X`, named after the root frame of the first
    /// transition stack that has one).
    #[inline]
    pub fn transition<N: Names>(&mut self, id: i64, from: u8, to: u8, stack: u32, names: &N) {
        if from == to {
            return;
        }
        if from == gostate::UNDETERMINED || from == gostate::NOT_EXIST {
            self.names.insert(id, NO_NAME);
        }
        if let Some(n) = self.names.get_mut(id) {
            if *n == NO_NAME {
                if let Some((func, _)) = names.root_frame(stack) {
                    *n = name1(func);
                }
            }
        }
    }

    /// The name of goroutine `id` (0 = none, or never seen).
    pub fn get(&self, id: i64) -> u32 {
        self.names.get(id).map_or(0, |n| n.get() - 1)
    }

    /// Every goroutine ID seen and its name, by increasing ID.
    pub fn into_sorted(self) -> (Vec<i64>, Vec<u32>) {
        self.names
            .into_sorted()
            .into_iter()
            .map(|(id, n)| (id, n.get() - 1))
            .unzip()
    }
}

/// The summaries by goroutine ID: one vector of summaries (grown in bulk, its pages faulted
/// in ahead with one call) and an ID -> slot map. A box per goroutine cost a page fault per
/// dozen goroutines; with the state intervals built on the other core at the same time,
/// those faults contended in the kernel and doubled the summaries' time on big traces.
#[derive(Default, Debug)]
struct Goroutines {
    slot: IdMap<u32>,
    v: Vec<GoroutineSummary>,
    /// Slots of `v` below this have their pages faulted in.
    populated: usize,
}

/// Slots of [`Goroutines`] faulted in at a time (about 1 MB).
const POPULATE_SLOTS: usize = 4096;

impl Goroutines {
    #[inline]
    fn get(&self, id: i64) -> Option<&GoroutineSummary> {
        self.slot.get(id).map(|&i| &self.v[i as usize])
    }

    #[inline]
    fn get_mut(&mut self, id: i64) -> Option<&mut GoroutineSummary> {
        self.slot.get(id).map(|&i| &mut self.v[i as usize])
    }

    #[inline]
    fn contains_key(&self, id: i64) -> bool {
        self.slot.contains_key(id)
    }

    /// Sets the summary of `id`, replacing any (a reused ID starts afresh, as in Go's map).
    fn insert(&mut self, id: i64, g: GoroutineSummary) {
        if let Some(&i) = self.slot.get(id) {
            self.v[i as usize] = g;
            return;
        }
        let n = self.v.len();
        if n >= self.populated {
            self.v.reserve(POPULATE_SLOTS);
            self.populated = (n + POPULATE_SLOTS).min(self.v.capacity());
            crate::store::prefault(&self.v, n, self.populated);
        }
        self.slot.insert(id, self.v.len() as u32);
        self.v.push(g);
    }

    /// The summaries sorted by ID, reordered in place (each moved at most once).
    fn into_sorted(self) -> Vec<GoroutineSummary> {
        let mut v = self.v;
        // order[k]: the slot of the k-th smallest ID.
        let mut order: Vec<u32> = self.slot.into_sorted().into_iter().map(|e| e.1).collect();
        debug_assert_eq!(order.len(), v.len());
        // Follow each cycle of the permutation: position `cur` takes the summary now at
        // `order[cur]`, and the one that was at `cur` moves along until the cycle closes.
        for start in 0..order.len() {
            let mut cur = start;
            loop {
                let next = order[cur] as usize;
                order[cur] = cur as u32;
                if next == start {
                    break;
                }
                v.swap(cur, next);
                cur = next;
            }
        }
        v
    }
}

#[derive(Default, Debug)]
pub struct Summarizer {
    gs: Goroutines,
    syscalling_p: HashMap<i64, i64>,
    syscalling_g: IdMap<i64>,
    ranges_p: HashMap<(i64, u32), i64>,
    tasks: HashMap<u64, TaskSummary>,
    /// Name string ID -> is it "forever" / system goroutine (cached).
    forever: HashMap<u32, bool>,
    last_ts: i64,
    sync_ts: i64,
}

impl Summarizer {
    pub fn new() -> Self {
        Self::default()
    }

    fn is_system<N: Names>(names: &N, g: &GoroutineSummary) -> bool {
        is_system_goroutine(names.string(g.name))
    }

    /// What every event does to the summarizer, whatever its kind.
    #[inline]
    pub fn note_time(&mut self, t: i64) {
        if self.sync_ts == 0 {
            self.sync_ts = t;
        }
        self.last_ts = t;
    }

    pub fn event<N: Names>(&mut self, ev: &Ev, names: &N) {
        self.note_time(ev.time);
        let k = ev.kind;
        if k == EventKind::Sync as u8 {
            self.sync_ts = ev.time;
        } else if k == EventKind::StateTransition as u8 {
            if ev.res_kind == resource::GOROUTINE {
                self.go_transition(ev, names);
            } else if ev.res_kind == resource::PROC && ev.from != ev.to && ev.to == procstate::IDLE
            {
                if let Some(goid) = self.syscalling_p.remove(&ev.arg) {
                    if let Some(g) = self.gs.get_mut(goid) {
                        g.pending.last_syscall_block = ev.time;
                    }
                }
            }
        } else if k == EventKind::RangeBegin as u8 || k == EventKind::RangeActive as u8 {
            let gid = match ev.res_kind {
                resource::GOROUTINE => ev.arg,
                resource::PROC => {
                    if self.gs.contains_key(ev.g) {
                        self.ranges_p.insert((ev.arg, ev.name), ev.g);
                    }
                    ev.g
                }
                _ => return,
            };
            let sync_ts = self.sync_ts;
            let Some(g) = self.gs.get_mut(gid) else {
                return;
            };
            let lr = &mut g.pending.last_range;
            if k == EventKind::RangeActive as u8 {
                if let Some(i) = lr.position(ev.name) {
                    let ts = lr[i].1;
                    if ts != 0 {
                        g.stats.range_time.add(ev.name, sync_ts - ts);
                    }
                    g.pending.last_range.set_at(i, sync_ts);
                } else {
                    lr.push(ev.name, sync_ts);
                }
            } else {
                match lr.position(ev.name) {
                    Some(i) => lr.set_at(i, ev.time),
                    None => lr.push(ev.name, ev.time),
                }
            }
        } else if k == EventKind::RangeEnd as u8 {
            let gid = match ev.res_kind {
                resource::GOROUTINE => Some(ev.arg),
                resource::PROC => match self.ranges_p.remove(&(ev.arg, ev.name)) {
                    Some(goid) if goid == ev.g => Some(goid),
                    _ => None,
                },
                _ => None,
            };
            let Some(g) = gid.and_then(|id| self.gs.get_mut(id)) else {
                return;
            };
            let lr = &mut g.pending.last_range;
            let Some(i) = lr.position(ev.name) else {
                return;
            };
            let ts = lr[i].1;
            if ts == 0 {
                return;
            }
            lr.remove_at(i);
            g.stats.range_time.add(ev.name, ev.time - ts);
        } else if k == EventKind::RegionBegin as u8 {
            let Some(g) = self.gs.get_mut(ev.g) else {
                return;
            };
            let stats = g.snapshot(ev.time);
            let task = Self::task(&mut self.tasks, ev.arg as u64);
            task.regions += 1;
            task.goroutines.push(ev.g);
            g.pending.active_regions.push(RegionSummary {
                task_id: ev.arg as u64,
                name: ev.name,
                start: Some((ev.time, k)),
                end: None,
                stats,
            });
        } else if k == EventKind::RegionEnd as u8 {
            let Some(g) = self.gs.get_mut(ev.g) else {
                return;
            };
            let mut r = match g.pending.active_regions.pop() {
                Some(r) => r,
                None => {
                    let task = Self::task(&mut self.tasks, ev.arg as u64);
                    task.regions += 1;
                    task.goroutines.push(ev.g);
                    RegionSummary {
                        task_id: ev.arg as u64,
                        name: ev.name,
                        ..Default::default()
                    }
                }
            };
            r.stats = g.snapshot(ev.time).sub(&r.stats);
            r.end = Some((ev.time, k));
            g.regions.push(r);
        }
    }

    fn task(tasks: &mut HashMap<u64, TaskSummary>, id: u64) -> &mut TaskSummary {
        tasks.entry(id).or_insert_with(|| TaskSummary {
            id,
            ..Default::default()
        })
    }

    /// TaskBegin / TaskEnd (`parent`: the event's parent task ID) and Log events.
    pub fn task_event(&mut self, ev: &Ev, parent: u64) {
        let id = ev.arg as u64;
        let k = ev.kind;
        if k == EventKind::Log as u8 {
            let task = Self::task(&mut self.tasks, id);
            task.goroutines.push(ev.g);
            task.logs += 1;
            return;
        }
        let task = Self::task(&mut self.tasks, id);
        task.name = ev.name;
        task.goroutines.push(ev.g);
        if k == EventKind::TaskBegin as u8 {
            task.start = Some((ev.time, k));
        } else {
            task.end = Some((ev.time, k));
        }
        if parent != crate::store::NO_TASK && task.parent.is_none() {
            task.parent = Some(parent);
            Self::task(&mut self.tasks, parent).children.push(id);
        }
    }

    fn go_transition<N: Names>(&mut self, ev: &Ev, names: &N) {
        let id = ev.arg;
        let (old, new) = (ev.from, ev.to);
        if old == new {
            return;
        }
        let t = ev.time;
        match old {
            gostate::UNDETERMINED => {
                let mut g = GoroutineSummary::new(id, self.sync_ts);
                let d = t - self.sync_ts;
                match new {
                    gostate::RUNNING => g.stats.exec += d,
                    gostate::WAITING => g.stats.block_by_reason.add(ev.name, d),
                    gostate::RUNNABLE => g.stats.sched_wait += d,
                    gostate::SYSCALL => {
                        if ev.p == -1 {
                            g.stats.syscall_block += d;
                        } else {
                            g.stats.syscall += d;
                        }
                    }
                    _ => {}
                }
                self.gs.insert(id, g);
            }
            gostate::NOT_EXIST => {
                let mut g = GoroutineSummary::new(id, t);
                g.creator = ev.g;
                g.creation_stack = ev.stack;
                if let Some(creator) = self.gs.get(ev.g) {
                    if let Some(r) = creator.pending.active_regions.last() {
                        g.pending.active_regions.push(RegionSummary {
                            task_id: r.task_id,
                            start: Some((t, ev.kind)),
                            ..Default::default()
                        });
                    }
                }
                self.gs.insert(id, g);
            }
            _ => {}
        }
        let Some(g) = self.gs.get_mut(id) else {
            return;
        };
        match old {
            gostate::RUNNING => {
                g.stats.exec += t - g.pending.last_start;
                g.pending.last_start = 0;
            }
            gostate::WAITING if g.pending.last_block != 0 => {
                g.stats
                    .block_by_reason
                    .add(g.pending.last_block_reason, t - g.pending.last_block);
                g.pending.last_block = 0;
            }
            gostate::RUNNABLE if g.pending.last_runnable != 0 => {
                g.stats.sched_wait += t - g.pending.last_runnable;
                g.pending.last_runnable = 0;
            }
            gostate::SYSCALL => {
                let p = &mut g.pending;
                if p.last_syscall != 0 {
                    if p.last_syscall_block != 0 {
                        g.stats.syscall_block += t - p.last_syscall_block;
                        g.stats.syscall += p.last_syscall_block - p.last_syscall;
                    } else {
                        g.stats.syscall += t - p.last_syscall;
                    }
                    p.last_syscall = 0;
                    p.last_syscall_block = 0;
                    let pid = self.syscalling_g.get(id).copied().unwrap_or(0);
                    self.syscalling_p.remove(&pid);
                    self.syscalling_g.remove(id);
                }
            }
            _ => {}
        }
        if g.name == 0 {
            if let Some((func, pc)) = names.root_frame(ev.aux) {
                g.name = func;
                g.pc = pc;
            }
        }
        match new {
            gostate::RUNNING => {
                g.pending.last_start = t;
                if g.start_time == 0 {
                    g.start_time = t;
                }
            }
            gostate::RUNNABLE => g.pending.last_runnable = t,
            gostate::WAITING | gostate::NOT_EXIST => {
                let forever = new == gostate::WAITING
                    && *self
                        .forever
                        .entry(ev.name)
                        .or_insert_with(|| names.string(ev.name) == b"forever");
                if new == gostate::WAITING && !forever {
                    g.pending.last_block = t;
                    g.pending.last_block_reason = ev.name;
                } else {
                    let sys = Self::is_system(names, g);
                    g.finalize(t, Some((t, ev.kind)), sys);
                }
            }
            gostate::SYSCALL => {
                self.syscalling_p.insert(ev.p, id);
                self.syscalling_g.insert(id, ev.p);
                g.pending.last_syscall = t;
            }
            _ => {}
        }
    }

    /// Finalizes every goroutine at the last event; returns them sorted by ID, each one's
    /// regions sorted by start time (no start first).
    pub fn finish<N: Names>(self, names: &N) -> (Vec<GoroutineSummary>, Vec<TaskSummary>) {
        let last = self.last_ts;
        let mut tasks: Vec<TaskSummary> = self.tasks.into_values().collect();
        for t in &mut tasks {
            t.children.sort_unstable();
            t.goroutines.sort_unstable();
            t.goroutines.dedup();
        }
        tasks.sort_unstable_by_key(|t| t.id);
        let mut out = self.gs.into_sorted();
        for g in &mut out {
            let sys = is_system_goroutine(names.string(g.name));
            g.finalize(last, None, sys);
            // Go's slices.SortFunc: equal starts (e.g. regions inherited at one creation, or
            // none) end up in its order.
            crate::gosort::sort_func(&mut g.regions, |a, b| match (a.start, b.start) {
                (None, y) => y.is_some(),
                (Some(_), None) => false,
                (Some(x), Some(y)) => x.0 < y.0,
            });
        }
        debug_assert!(out.windows(2).all(|w| w[0].id < w[1].id));
        (out, tasks)
    }
}

#[cfg(test)]
mod tests {
    use super::{GoroutineSummary, Goroutines};

    /// Insertion in any order, with reused IDs, comes out sorted by ID with the last
    /// summary of each ID: the in-place reordering against a plain sort.
    #[test]
    fn goroutines_come_out_sorted_with_the_last_summary_of_each_id() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for n in [0usize, 1, 2, 7, 100, 5000] {
            let mut gs = Goroutines::default();
            let mut want = std::collections::BTreeMap::new();
            for k in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Dense small IDs, some reused, and a few far ones (the map's sparse part).
                let id = match x % 10 {
                    0 => (x >> 20) as i64,
                    _ => (x % (n as u64 + 1)) as i64,
                };
                gs.insert(id, GoroutineSummary::new(id, k as i64));
                want.insert(id, k as i64);
            }
            let got: Vec<(i64, i64)> = gs
                .into_sorted()
                .iter()
                .map(|g| (g.id, g.creation_time))
                .collect();
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "n = {n}");
        }
    }
}
