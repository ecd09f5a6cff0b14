//! Speculative ordering of one generation, without the state the generations before it
//! leave, so that generations can be ordered side by side.
//!
//! Why it can work: the runtime writes a GoStatus for every goroutine and a ProcStatus
//! for every P before their first other event in a generation (and, at its end, for
//! every live goroutine not seen yet), and sequence numbers restart each generation. So
//! almost everything the ordering decides inside a generation depends on that
//! generation alone. What it reads from before is:
//!
//! * each thread's goroutine and proc when it first moves in the generation: held as
//!   *unknown* values ([`unknown_m`]) that rows and states carry until the merge
//!   resolves them; comparing one with a value records an assumption (equal or not)
//!   instead of deciding;
//! * whether a goroutine or proc named by a status event exists, and in which status;
//!   whether a created goroutine or begun task already exists;
//! * the GC's sequence number and phase; tasks begun earlier (their end's type and
//!   parent are filled in at the merge); regions open on a goroutine (ends that pop
//!   below what the generation pushed are replayed at the merge); ranges in flight
//!   (declared again by the Active events, taken as assumptions).
//!
//! Anything else the speculation cannot answer fails it, like any error: the generation
//! is then ordered again, after its predecessor, by the ordinary path. A speculation
//! whose assumptions all hold against the real state is exactly what the ordinary path
//! would have done: each assumption is the answer to a question the ordinary path would
//! have asked of that state, and [`Ordering::merge_speculation`] checks them all before
//! it changes anything.

use rustc_hash::{FxHashMap, FxHashSet};

use super::tables::MState;
use super::{GcState, Ordering, RangeType};

/// Values below this are unknown thread states (no real ID is this negative; an event
/// naming one fails the speculation).
const UNKNOWN_BELOW: i64 = i64::MIN + (1 << 34);

#[inline(always)]
pub(crate) fn is_unknown(v: i64) -> bool {
    v < UNKNOWN_BELOW
}

/// The unknown (goroutine, proc) of the thread in `slot` at the generation's start.
pub(crate) fn unknown_m(slot: u32) -> MState {
    let b = i64::MIN + 2 * slot as i64;
    MState { g: b, p: b + 1 }
}

/// (slot, is the proc) of an unknown value.
fn unknown_of(v: i64) -> (u32, bool) {
    let k = v.wrapping_sub(i64::MIN);
    ((k / 2) as u32, k % 2 == 1)
}

/// The thread of a row that the merge finds: the holder of a promoted abandoned
/// syscall's P (an unknown value of no slot).
pub const HOLDER: i64 = UNKNOWN_BELOW - 1;

/// Marks a task end whose begin the speculation has not seen (in `args[3]`, where the
/// type's string ID goes): the merge fills in the type and parent.
pub const TASK_UNKNOWN: u64 = u32::MAX as u64;

#[derive(Debug, Default)]
pub(super) struct Spec {
    /// (unknown value, wanted value, equal?)
    m_conds: Vec<(i64, i64, bool)>,
    /// Threads assumed known to the real ordering (by slot).
    m_exist: Vec<u32>,
    /// Goroutines first named in the generation: Some(status) = exists in that status,
    /// None = does not exist.
    g_conds: Vec<(i64, Option<u8>)>,
    /// Goroutines destroyed in the generation.
    pub(super) destroyed: FxHashSet<i64>,
    /// Procs first named by a status event, and that status.
    p_conds: Vec<(i64, u8)>,
    /// Goroutines introduced by a status event (their regions and ranges predate the
    /// generation).
    pub(super) g_intro: FxHashMap<i64, Intro>,
    pub(super) p_intro: FxHashMap<i64, Intro>,
    /// Tasks begun here assumed not active before.
    tasks_absent: Vec<u64>,
    /// Tasks ended here without a begin seen here.
    pub(super) tasks_ended: FxHashSet<u64>,
    /// The real (sequence number, phase) of the GC assumed at the first GC event.
    pub(super) gc: Option<(u64, GcState)>,
    /// Per row whose thread is [`HOLDER`]: the P, and the threads' states the
    /// speculation knew then (ID, state).
    holders: Vec<(i64, Vec<(i64, MState)>)>,
}

#[derive(Debug, Default)]
pub(super) struct Intro {
    /// Region ends popped below the regions begun here, in order.
    pub(super) regions_below: Vec<(u64, u32)>,
    /// Ranges declared in flight (Active) before any other range event here: the real
    /// state must hold exactly these.
    pub(super) ranges: Vec<RangeType>,
    /// A range began or ended here: later Active events must find theirs.
    pub(super) ranges_closed: bool,
}

impl Spec {
    /// `a == b`, where `a` may be unknown: then assumed equal.
    #[inline]
    pub fn is(spec: &mut Option<Box<Spec>>, a: i64, b: i64) -> bool {
        if is_unknown(a) {
            if let Some(s) = spec {
                s.m_conds.push((a, b, true));
                return true;
            }
        }
        a == b
    }

    /// `a != NONE` for an unknown `a`: assumed.
    pub fn assume_some(&mut self, a: i64, none: i64) {
        self.m_conds.push((a, none, false));
    }

    pub fn assume_none(&mut self, a: i64, none: i64) {
        self.m_conds.push((a, none, true));
    }

    pub fn assume_m_exists(&mut self, slot: u32) {
        self.m_exist.push(slot);
    }

    pub fn assume_g(&mut self, g: i64, status: Option<u8>) {
        self.g_conds.push((g, status));
    }

    pub fn assume_p(&mut self, p: i64, status: u8) {
        self.p_conds.push((p, status));
    }

    pub fn assume_task_absent(&mut self, id: u64) {
        self.tasks_absent.push(id);
    }

    /// A row whose thread is the one holding P `pid` (Go's search over all threads,
    /// the last match winning), `known` the threads' states as the speculation had them.
    pub fn holder(&mut self, pid: i64, known: Vec<(i64, MState)>) {
        self.holders.push((pid, known));
    }
}

/// What the reader does to the rows of a merged speculation: the real values of the
/// unknown thread states they hold, and the type and parent of tasks ended there.
pub struct Resolved {
    initial: Vec<MState>,
    /// Per unknown task end, in row order: (type string ID, parent).
    pub tasks: Vec<(u32, u64)>,
    /// Per [`HOLDER`] row, in row order: (thread, goroutine).
    pub holders: Vec<(i64, i64)>,
}

impl Resolved {
    /// The value of `v` (unknown or not).
    #[inline]
    pub fn value(&self, v: i64) -> i64 {
        if !is_unknown(v) {
            return v;
        }
        let (slot, p) = unknown_of(v);
        let s = self.initial[slot as usize];
        if p {
            s.p
        } else {
            s.g
        }
    }
}

impl Ordering {
    /// An ordering for generation `gen` of a trace whose first generation is
    /// `initial_gen`, knowing nothing of the generations before `gen`.
    pub fn speculative(ver: u32, initial_gen: u64) -> Ordering {
        let mut o = Ordering::new(ver);
        o.initial_gen = initial_gen;
        o.gc_state = GcState::Unknown;
        o.gc_seen = (0, GcState::Unknown);
        o.m_states.unknown_start = true;
        o.spec = Some(Box::default());
        o
    }

    /// The trace's first generation (0: none ordered yet).
    pub fn initial_gen(&self) -> u64 {
        self.initial_gen
    }

    /// Turns the local string IDs a speculation holds (task types, region names; its
    /// generation's tables were not merged) into global ones with `f`.
    pub fn remap_spec_strings(&mut self, f: &dyn Fn(u32) -> u32) {
        for (name, _) in self.active_tasks.values_mut() {
            *name = f(*name);
        }
        for x in self.g_states.values_mut().filter_map(|s| s.extra.as_mut()) {
            for r in &mut x.regions {
                r.1 = f(r.1);
            }
        }
        if let Some(s) = self.spec.as_mut() {
            for i in s.g_intro.values_mut() {
                for r in &mut i.regions_below {
                    r.1 = f(r.1);
                }
            }
        }
    }

    /// Whether the event's IDs could be taken for unknown values.
    #[cold]
    pub(super) fn spec_collides(&self, m: i64, args: &[u64; 4]) -> bool {
        is_unknown(m) || args.iter().any(|&a| is_unknown(a as i64))
    }

    /// Checks the speculation `spec` (run over the generation after the one `self` has
    /// just finished) against `self`, and if every assumption holds, makes `self` what
    /// ordering that generation would have made it. `task_ends` are the IDs of the
    /// task ends marked [`TASK_UNKNOWN`], in row order. `None`: an assumption fails, and
    /// `self` is unchanged.
    pub fn merge_speculation(&mut self, mut spec: Ordering, task_ends: &[u64]) -> Option<Resolved> {
        let s = spec.spec.take()?;
        // The real state of each speculative thread slot at the generation's start.
        let mut known = Resolved {
            initial: (0..spec.m_states.slots())
                .map(|slot| {
                    let (id, _, _) = spec.m_states.slot_info(slot);
                    self.m_states
                        .get(&id)
                        .copied()
                        .unwrap_or(MState { g: -1, p: -1 })
                })
                .collect(),
            tasks: Vec::with_capacity(task_ends.len()),
            holders: Vec::with_capacity(s.holders.len()),
        };
        for &(a, b, eq) in &s.m_conds {
            if (known.value(a) == b) != eq {
                return None;
            }
        }
        for &slot in &s.m_exist {
            let (id, _, _) = spec.m_states.slot_info(slot);
            self.m_states.get(&id)?;
        }
        for &(g, status) in &s.g_conds {
            match (self.g_states.get(&g), status) {
                (Some(st), Some(want)) if st.status == want => {}
                (None, None) => {}
                _ => return None,
            }
        }
        for &(p, status) in &s.p_conds {
            match self.p_states.get(&p) {
                Some(st) if st.status == status => {}
                _ => return None,
            }
        }
        for id in &s.tasks_absent {
            if self.active_tasks.contains_key(id) {
                return None;
            }
        }
        if let Some(gc) = s.gc {
            if (self.gc_seq, self.gc_state) != gc {
                return None;
            }
        }
        // The threads holding promoted Ps, as Go's search over all threads finds them:
        // each thread as the speculation had it where it knew it, else as the real state
        // has it. Two matches would make the order of the search matter: not assumed.
        for (pid, seen) in &s.holders {
            let now = |id: i64, real: MState| -> MState {
                match seen.iter().find(|k| k.0 == id) {
                    Some(&(_, st)) => MState {
                        g: if is_unknown(st.g) { real.g } else { st.g },
                        p: if is_unknown(st.p) { real.p } else { st.p },
                    },
                    None => real,
                }
            };
            let real = self.m_states.iter().map(|(id, st)| (id, now(id, *st)));
            let new = seen
                .iter()
                .filter(|k| self.m_states.get(&k.0).is_none())
                .map(|k| (k.0, now(k.0, MState { g: -1, p: -1 })));
            let mut found = real.chain(new).filter(|(_, st)| st.p == *pid);
            let (Some((id, st)), None) = (found.next(), found.next()) else {
                return None;
            };
            known.holders.push((id, st.g));
        }

        // Regions and ranges of the goroutines and procs introduced by status events.
        let mut regions: FxHashMap<i64, Vec<(u64, u32)>> = FxHashMap::default();
        for (&g, intro) in &s.g_intro {
            let real = self.g_states.get(&g)?;
            let (real_regions, real_ranges) = match &real.extra {
                Some(x) => (&x.regions[..], &x.ranges.in_flight[..]),
                None => (&[][..], &[][..]),
            };
            if real_ranges != &intro.ranges[..] {
                return None;
            }
            let mut stack = real_regions.to_vec();
            for &want in &intro.regions_below {
                if let Some(&top) = stack.last() {
                    if top != want {
                        return None;
                    }
                    stack.pop();
                }
            }
            regions.insert(g, stack);
        }
        for (&p, intro) in &s.p_intro {
            if self.p_states.get(&p)?.ranges.in_flight[..] != intro.ranges[..] {
                return None;
            }
        }

        // Every assumption holds: take the generation's changes.
        for id in task_ends {
            known.tasks.push(match self.active_tasks.remove(id) {
                Some((name, parent)) => (name, parent),
                None => (0, crate::store::NO_TASK),
            });
        }
        self.active_tasks.extend(spec.active_tasks.drain());
        for g in &s.destroyed {
            self.g_states.remove(g);
        }
        for (g, mut st) in spec.g_states.drain() {
            if let Some(below) = regions.remove(&g) {
                if let Some(x) = st.extra.as_mut() {
                    let mut stack = below;
                    stack.append(&mut x.regions);
                    x.regions = stack;
                } else if !below.is_empty() {
                    st.extra().regions = below;
                }
            }
            self.g_states.insert(g, st);
        }
        for (p, st) in spec.p_states.drain() {
            self.p_states.insert(p, st);
        }
        for slot in 0..spec.m_states.slots() {
            let (id, seen, st) = spec.m_states.slot_info(slot);
            if seen {
                let st = MState {
                    g: known.value(st.g),
                    p: known.value(st.p),
                };
                self.m_states.insert(id, st);
            }
        }
        if spec.gc_state != GcState::Unknown {
            self.gc_seq = spec.gc_seq;
            self.gc_state = spec.gc_state;
        }
        Some(known)
    }
}
