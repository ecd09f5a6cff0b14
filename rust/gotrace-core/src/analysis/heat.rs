//! Heatmaps: [`heat_batch`] bins the state intervals of a parsed trace; [`HeatStream`]
//! bins them while the events stream by (the tracker's intervals go straight into a
//! [`SparseBinner`] and are never stored). Both choose and order the rows with [`rank`]
//! and write the float64 matrix directly, so they give the same matrix, row for row.

use rustc_hash::FxHashMap;

use super::idmap::IdMap;
use super::intervals::{Interval, IntervalSink, Resource, Tracker};
use super::ranges::RangeTracker;
use super::summarizer::GoNames;
use super::summary::track;
use crate::binning::{self, SparseBinner, REMOVED, SKIP};
use crate::store::{gostate, resource, EventKind, Events, Row, Trace};

/// What a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Goroutine,
    Proc,
    Thread,
    /// The goroutine's start function (the Summarizer's name).
    Function,
    /// One row per state of [`HeatSpec::states`], in that order.
    State,
    /// The reason (string ID) of the transition that began the interval.
    Reason,
}

/// Row order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Largest total first (ties: smaller row ID first).
    Total,
    /// Earliest interval start first (ties: smaller row ID first).
    First,
    Id,
}

/// What a cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// ns of overlap of the row's intervals with the bin.
    Time,
    /// That divided by the bin width (0 for an empty bin).
    Fraction,
    /// Intervals beginning in the bin.
    Count,
}

/// What to bin.
#[derive(Clone, Debug)]
pub struct HeatSpec {
    pub by: By,
    /// State codes: `gostate` values (`procstate` for [`By::Proc`]).
    pub states: Vec<u8>,
    pub value: Value,
    /// Bin edges (ns), non-decreasing, at least two.
    pub edges: Vec<i64>,
    /// Keep the first `top` rows and sum the others into one last row (ID -1).
    pub top: Option<usize>,
    pub sort: Sort,
}

/// A heatmap's matrix and rows.
#[derive(Clone, Debug, Default)]
pub struct HeatMatrix {
    /// Row-major `row_ids.len() × bins` float64 cells (see [`binning::store_f64`]).
    pub values: Vec<f64>,
    pub bins: usize,
    /// Goroutine / proc / thread ID, function or reason string ID, state code; -1 for
    /// the "other" row (then last).
    pub row_ids: Vec<i64>,
    /// Per row but "other": the goroutine's name string ID ([`By::Goroutine`], 0 = none).
    pub names: Vec<u32>,
    /// The last row is "other" (the rows after the first `top`, summed).
    pub other: bool,
}

/// A finished streaming heatmap.
#[derive(Clone, Debug, Default)]
pub struct HeatResult {
    pub matrix: HeatMatrix,
    /// `[begin, end)` of the GC mark phases and of the stop-the-world ranges.
    pub gc: Vec<(i64, i64)>,
    pub stw: Vec<(i64, i64)>,
    /// Times of the first and last event (None: no events).
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// The tracker's sink: keeps the intervals of the chosen resource and states.
struct HeatSink {
    res: Resource,
    by: By,
    sort: Sort,
    /// Per state code: its row for [`By::State`] plus one, 0 = not binned.
    state_row: [u32; 256],
    count: bool,
    /// Row key (ID, reason, state code) -> row, stored plus one (see [`RowIx`]).
    rows: IdMap<RowIx>,
    keys: Vec<i64>,
    /// Per row, the earliest interval start: kept only for [`Sort::First`] (8 bytes a
    /// goroutine, and a streaming heatmap may see millions).
    firsts: bool,
    first: Vec<i64>,
    bins: SparseBinner,
    /// Dropping the rows that can no longer be among the `top` (see [`Prune`]).
    prune: Option<Prune>,
}

/// Row pruning of a streaming goroutine heatmap with `top`: a goroutine that has ended
/// (see [`IntervalSink::ended`]) and has at least `top` rows ranked before it can never
/// rise into the top, since the rows before it only ever gain (a larger total, an
/// earlier first interval); its cells go to the "other" row at once and its memory is
/// freed. Millions of short-lived goroutines then cost one map slot each instead of
/// their cells, keys and indices. If a pruned goroutine's ID comes back (only a broken
/// trace does that), the result could differ from the batch heatmap's: `conflict` says
/// so, and the caller computes it again without pruning.
struct Prune {
    top: usize,
    /// Per row: the goroutine ended.
    ended: Vec<bool>,
    n_ended: usize,
    /// Ended rows that trigger the next pass.
    next_at: usize,
    /// Some row was pruned: the heatmap has an "other" row.
    any: bool,
    conflict: bool,
}

/// A row number plus one, so that `Option` of it is four bytes in [`IdMap`]'s vector (a
/// streaming heatmap keeps one per goroutine ID, millions of them).
type RowIx = std::num::NonZeroU32;

/// The row of a pruned goroutine in [`HeatSink::rows`] (rows are fewer: each is a
/// goroutine with a stored cell or key).
const PRUNED: u32 = u32::MAX - 1;

fn row_ix(r: u32) -> RowIx {
    RowIx::new(r.wrapping_add(1)).unwrap_or(RowIx::MAX)
}

/// Ended rows before the first pruning pass (0: [`PRUNE_MIN_DEFAULT`]).
static PRUNE_MIN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const PRUNE_MIN_DEFAULT: usize = 1 << 15;

/// Sets the number of ended rows that triggers a pruning pass (see [`Prune`]) for all
/// streaming heatmaps of this process (`None`: the default, 32,768). The result is the
/// same whatever it is; tests set it to 1 so that small traces prune too.
#[doc(hidden)]
pub fn set_prune_min(n: Option<usize>) {
    PRUNE_MIN.store(n.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

fn prune_min() -> usize {
    match PRUNE_MIN.load(std::sync::atomic::Ordering::Relaxed) {
        0 => PRUNE_MIN_DEFAULT,
        n => n,
    }
}

impl HeatSink {
    /// An interval `[start, end)` of resource `id` (of this heatmap's resource) in `state`,
    /// begun by a transition of reason `reason`.
    #[inline]
    fn add(&mut self, id: i64, state: u8, reason: u32, start: i64, end: i64) {
        let sr = self.state_row[state as usize];
        if sr == 0 {
            return;
        }
        let key = match self.by {
            By::Reason => reason as i64,
            By::State => (sr - 1) as i64,
            _ => id,
        };
        let row = match self.rows.get(key).map(|r| r.get() - 1) {
            Some(PRUNED) => {
                if let Some(pr) = &mut self.prune {
                    pr.conflict = true;
                }
                return;
            }
            Some(r) => r,
            None => {
                let r = self.keys.len() as u32;
                self.rows.insert(key, row_ix(r));
                self.keys.push(key);
                if self.firsts {
                    self.first.push(start);
                }
                if let Some(pr) = &mut self.prune {
                    pr.ended.push(false);
                }
                r
            }
        };
        if let Some(f) = self.first.get_mut(row as usize) {
            *f = (*f).min(start);
        }
        if self.count {
            self.bins.add_instant(row, start);
        } else {
            self.bins.add_interval(row, start, end);
        }
    }

    /// Drops the ended rows that can no longer reach the top (see [`Prune`]).
    fn prune_pass(&mut self) {
        let sort = self.sort;
        let Some(pr) = &mut self.prune else { return };
        let n = self.keys.len();
        let totals = self.bins.totals(n);
        let keys = &self.keys;
        let first = &self.first;
        // Rows ranked as `rank` ranks them (the IDs are distinct here).
        let cmp = |a: usize, b: usize| match sort {
            Sort::Total => (std::cmp::Reverse(totals[a]), keys[a])
                .cmp(&(std::cmp::Reverse(totals[b]), keys[b])),
            Sort::First => (first[a], keys[a]).cmp(&(first[b], keys[b])),
            Sort::Id => keys[a].cmp(&keys[b]),
        };
        // The `top`-th best row; every ended row after it is out for good.
        let kth = if pr.top == 0 {
            None
        } else if n > pr.top {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.select_nth_unstable_by(pr.top - 1, |&a, &b| cmp(a as usize, b as usize));
            Some(order[pr.top - 1] as usize)
        } else {
            pr.next_at = pr.n_ended + prune_min().max(n / 2);
            return;
        };
        let mut new = vec![0u32; n];
        let mut kept = 0u32;
        for (r, slot) in new.iter_mut().enumerate() {
            if pr.ended[r] && kth.is_none_or(|k| cmp(k, r).is_lt()) {
                *slot = REMOVED;
            } else {
                *slot = kept;
                kept += 1;
            }
        }
        // A pass costs O(rows + cells): the next one waits for as many newly ended rows
        // as half the rows kept, so passes cost O(1) per row in all.
        if kept as usize == n {
            pr.next_at = pr.n_ended + prune_min().max(n / 2);
            return;
        }
        pr.any = true;
        self.bins.remove_rows(&new);
        let mut w = 0usize;
        for (r, &to) in new.iter().enumerate() {
            let key = self.keys[r];
            if to == REMOVED {
                self.rows.insert(key, row_ix(PRUNED));
                continue;
            }
            self.rows.insert(key, row_ix(to));
            self.keys[w] = key;
            pr.ended[w] = pr.ended[r];
            if self.firsts {
                self.first[w] = self.first[r];
            }
            w += 1;
        }
        self.keys.truncate(w);
        self.keys.shrink_to(2 * w);
        pr.ended.truncate(w);
        pr.ended.shrink_to(2 * w);
        if self.firsts {
            self.first.truncate(w);
            self.first.shrink_to(2 * w);
        }
        pr.n_ended = pr.ended.iter().filter(|&&e| e).count();
        pr.next_at = pr.n_ended + prune_min().max(w / 2);
    }
}

impl IntervalSink for HeatSink {
    const STATS: bool = false;

    #[inline]
    fn interval(&mut self, res: Resource, iv: &Interval) {
        if res == self.res {
            self.add(iv.id, iv.state, iv.reason, iv.start, iv.end);
        }
    }

    fn ended(&mut self, id: i64) {
        let Some(pr) = &mut self.prune else { return };
        let Some(r) = self.rows.get(id).map(|r| r.get() - 1) else {
            return;
        };
        if r == PRUNED || pr.ended[r as usize] {
            return;
        }
        pr.ended[r as usize] = true;
        pr.n_ended += 1;
        if pr.n_ended >= pr.next_at {
            self.prune_pass();
        }
    }
}

/// A goroutine's interval in progress, as a heatmap of goroutines needs it (16 bytes in
/// an [`IdMap`] slot: the state is never 0, so `Option` takes no room).
#[derive(Clone, Copy, Debug)]
struct GoCur {
    since: i64,
    reason: u32,
    state: std::num::NonZeroU8,
}

const _: () = assert!(std::mem::size_of::<Option<GoCur>>() == 16);

/// The goroutine part of [`Tracker`] with a [`HeatSink`], for heatmaps whose rows come
/// from goroutine intervals: the same intervals, from one map lookup per transition
/// (the general tracker keeps the fields every analysis needs, procs and threads, and
/// looks a goroutine up twice), which is most of a streaming heatmap's time. It costs
/// 8 bytes more per goroutine ID than the general tracker's slot (the interval's fields
/// live in the slot): ~4 MB more on a 100 MB trace of 457k goroutines.
struct GoTrack {
    sink: HeatSink,
    cur: IdMap<GoCur>,
    last_sync: i64,
    seen_event: bool,
}

impl GoTrack {
    /// As [`Tracker::go_transition`] (without the stack and context fields, which a
    /// heatmap does not use).
    #[inline]
    fn transition(&mut self, id: i64, from: u8, to: u8, time: i64, reason: u32) {
        if let Some(c) = self.cur.get(id) {
            if c.state.get() == to {
                return;
            }
            let c = *c;
            self.sink.add(id, c.state.get(), c.reason, c.since, time);
        }
        match to {
            gostate::RUNNING | gostate::RUNNABLE | gostate::WAITING | gostate::SYSCALL => {
                let since = if from == gostate::UNDETERMINED {
                    self.last_sync
                } else {
                    time
                };
                let state = std::num::NonZeroU8::new(to).expect("tracked states are not 0");
                let c = GoCur {
                    since,
                    reason,
                    state,
                };
                match self.cur.get_mut(id) {
                    Some(slot) => *slot = c,
                    None => {
                        self.cur.insert(id, c);
                    }
                }
            }
            _ => {
                self.cur.remove(id);
                if to == gostate::NOT_EXIST && from != gostate::SYSCALL && from != to {
                    self.sink.ended(id);
                }
            }
        }
    }

    /// Closes what is still open at `end`, in ID order, as [`Tracker::finish_sink`].
    fn finish(self, end: i64) -> HeatSink {
        let mut sink = self.sink;
        for (id, c) in self.cur.into_sorted() {
            sink.add(id, c.state.get(), c.reason, c.since, end);
        }
        sink
    }
}

/// The interval tracker of a [`HeatStream`]: [`GoTrack`] when the rows come from
/// goroutine intervals, the general one for procs and threads.
// One per heatmap: the sizes of the variants do not matter.
#[allow(clippy::large_enum_variant)]
enum Track {
    Go(GoTrack),
    All(Tracker<HeatSink>),
}

impl Track {
    fn sink_ref(&self) -> &HeatSink {
        match self {
            Track::Go(g) => &g.sink,
            Track::All(t) => &t.sink,
        }
    }

    fn sink(&mut self) -> &mut HeatSink {
        match self {
            Track::Go(g) => &mut g.sink,
            Track::All(t) => &mut t.sink,
        }
    }
}

/// A drained parse's consumer, which takes events one row at a time (never stored)
/// when its rows come from goroutine intervals: the general tracker reads stored rows.
impl crate::stream::Consumer for HeatStream {
    fn rows(&mut self, t: &Trace) {
        self.feed(t)
    }

    fn by_row(&mut self, _: &Trace) -> bool {
        matches!(self.tracker, Track::Go(_))
    }

    #[inline]
    fn row(&mut self, r: &Row, trace: &Trace) {
        self.go_event(r, trace);
        self.start.get_or_insert(r.time);
        self.end = Some(r.time);
    }
}

/// The fields of an event a [`HeatStream`] reads: of a stored row ([`Col`]) or of one
/// that is not ([`Row`]).
trait Ev: Copy {
    fn kind(self) -> u8;
    fn time(self) -> i64;
    fn res_kind(self) -> u8;
    fn arg(self) -> i64;
    fn from(self) -> u8;
    fn to(self) -> u8;
    fn name(self) -> u32;
    fn aux(self) -> u32;
}

/// Row `.1` of a table.
#[derive(Clone, Copy)]
struct Col<'a>(&'a Events, usize);

impl Ev for Col<'_> {
    #[inline(always)]
    fn kind(self) -> u8 {
        self.0.kind[self.1]
    }
    #[inline(always)]
    fn time(self) -> i64 {
        self.0.time[self.1]
    }
    #[inline(always)]
    fn res_kind(self) -> u8 {
        self.0.res_kind[self.1]
    }
    #[inline(always)]
    fn arg(self) -> i64 {
        self.0.arg.get(self.1)
    }
    #[inline(always)]
    fn from(self) -> u8 {
        self.0.from[self.1]
    }
    #[inline(always)]
    fn to(self) -> u8 {
        self.0.to[self.1]
    }
    #[inline(always)]
    fn name(self) -> u32 {
        self.0.name[self.1]
    }
    #[inline(always)]
    fn aux(self) -> u32 {
        self.0.aux[self.1]
    }
}

impl Ev for &Row {
    #[inline(always)]
    fn kind(self) -> u8 {
        self.kind
    }
    #[inline(always)]
    fn time(self) -> i64 {
        self.time
    }
    #[inline(always)]
    fn res_kind(self) -> u8 {
        self.res_kind
    }
    #[inline(always)]
    fn arg(self) -> i64 {
        self.arg
    }
    #[inline(always)]
    fn from(self) -> u8 {
        self.from
    }
    #[inline(always)]
    fn to(self) -> u8 {
        self.to
    }
    #[inline(always)]
    fn name(self) -> u32 {
        self.name
    }
    #[inline(always)]
    fn aux(self) -> u32 {
        self.aux
    }
}

/// The streaming heatmap: [`HeatStream::feed`] it the events in order (in chunks), then
/// [`HeatStream::finish`].
pub struct HeatStream {
    spec: HeatSpec,
    tracker: Track,
    names: GoNames,
    ranges: RangeTracker,
    /// Range name string ID -> is it a GC mark phase or a stop-the-world range.
    keep_range: FxHashMap<u32, bool>,
    start: Option<i64>,
    end: Option<i64>,
}

const GC_MARK: &[u8] = b"GC concurrent mark phase";
const STW_PREFIX: &[u8] = b"stop-the-world";

impl HeatStream {
    /// The bin edges (ns) this heatmap bins into.
    pub fn edges(&self) -> &[i64] {
        &self.spec.edges
    }

    /// For a trace of header version `version`. Panics if the edges are not valid
    /// (see [`crate::binning::BinIndex::new`]).
    pub fn new(version: u32, spec: HeatSpec) -> Self {
        let res = match spec.by {
            By::Proc => Resource::Proc,
            By::Thread => Resource::Thread,
            _ => Resource::Goroutine,
        };
        let mut state_row = [0u32; 256];
        for (i, &s) in spec.states.iter().enumerate() {
            state_row[s as usize] = i as u32 + 1;
        }
        let prune = (spec.by == By::Goroutine)
            .then_some(spec.top)
            .flatten()
            .map(|top| Prune {
                top,
                ended: Vec::new(),
                n_ended: 0,
                next_at: prune_min(),
                any: false,
                conflict: false,
            });
        let sink = HeatSink {
            res,
            by: spec.by,
            sort: spec.sort,
            prune,
            state_row,
            count: spec.value == Value::Count,
            rows: IdMap::default(),
            keys: Vec::new(),
            firsts: spec.sort == Sort::First,
            first: Vec::new(),
            bins: SparseBinner::new(spec.edges.clone()),
        };
        HeatStream {
            spec,
            tracker: if res == Resource::Goroutine {
                Track::Go(GoTrack {
                    sink,
                    cur: IdMap::default(),
                    last_sync: 0,
                    seen_event: false,
                })
            } else {
                Track::All(Tracker::with_sink(version > 0 && version < 22, sink))
            },
            names: GoNames::default(),
            ranges: RangeTracker::default(),
            keep_range: FxHashMap::default(),
            start: None,
            end: None,
        }
    }

    /// Takes every event of `trace.events` (which continue those fed before).
    pub fn feed(&mut self, trace: &Trace) {
        let ev = &trace.events;
        if matches!(self.tracker, Track::Go(_)) {
            for i in 0..ev.len() {
                self.go_event(Col(ev, i), trace);
            }
        } else {
            for i in 0..ev.len() {
                if let Track::All(t) = &mut self.tracker {
                    track(t, ev, i);
                }
                self.also(Col(ev, i), trace);
            }
        }
        if let (Some(&first), Some(&last)) = (ev.time.first(), ev.time.last()) {
            self.start.get_or_insert(first);
            self.end = Some(last);
        }
    }

    /// One event for [`Track::Go`].
    #[inline(always)]
    fn go_event(&mut self, e: impl Ev, trace: &Trace) {
        let Track::Go(g) = &mut self.tracker else {
            unreachable!("goroutine events for the general tracker")
        };
        let (kind, t) = (e.kind(), e.time());
        if !g.seen_event {
            g.seen_event = true;
            g.last_sync = t;
        }
        if kind == EventKind::Sync as u8 {
            g.last_sync = t;
        } else if kind == EventKind::StateTransition as u8 && e.res_kind() == resource::GOROUTINE {
            g.transition(e.arg(), e.from(), e.to(), t, e.name());
        }
        self.also(e, trace);
    }

    /// What every event is also given to: the names and the GC and STW ranges.
    #[inline(always)]
    fn also(&mut self, e: impl Ev, trace: &Trace) {
        let kind = e.kind();
        if kind == EventKind::StateTransition as u8 {
            if matches!(self.spec.by, By::Goroutine | By::Function)
                && e.res_kind() == resource::GOROUTINE
            {
                self.names
                    .transition(e.arg(), e.from(), e.to(), e.aux(), trace);
            }
        } else if (EventKind::RangeBegin as u8..=EventKind::RangeEnd as u8).contains(&kind) {
            let name = e.name();
            let keep = *self.keep_range.entry(name).or_insert_with(|| {
                let s = trace.strings.get(name);
                s == GC_MARK || s.starts_with(STW_PREFIX)
            });
            if keep {
                let s = trace.strings.get(name);
                self.ranges
                    .event(kind, e.time(), name, s, e.res_kind(), e.arg(), None);
            }
        }
    }

    /// Whether a goroutine dropped from the rows (see [`Prune`]) came back: then the
    /// result may differ from the batch heatmap's, and the trace must be streamed again
    /// with [`HeatStream::without_pruning`].
    pub fn conflicted(&self) -> bool {
        self.tracker
            .sink_ref()
            .prune
            .as_ref()
            .is_some_and(|p| p.conflict)
    }

    /// Bins from the general interval tracker even for goroutine rows (before any
    /// [`HeatStream::feed`]; the result is the same: tests compare the two).
    #[doc(hidden)]
    pub fn with_general_tracker(mut self, version: u32) -> Self {
        if let Track::Go(g) = self.tracker {
            self.tracker = Track::All(Tracker::with_sink(version > 0 && version < 22, g.sink));
        }
        self
    }

    /// Keeps every row until the end (for a trace in which [`HeatStream::conflicted`]).
    pub fn without_pruning(mut self) -> Self {
        self.tracker.sink().prune = None;
        self
    }

    /// Closes the intervals still open at the last event, picks and orders the rows.
    /// `trace` gives the string table.
    pub fn finish(self, trace: &Trace) -> HeatResult {
        let end = self.end.unwrap_or(0);
        let sink = match self.tracker {
            Track::Go(g) => g.finish(end),
            Track::All(t) => t.finish_sink(end).2,
        };
        let pruned = sink.prune.as_ref().is_some_and(|p| p.any);
        let spec = &self.spec;
        let bins = spec.edges.len() - 1;
        let cells = sink.bins.finish();

        // Group the binned rows into the heatmap's rows (by function: the goroutines' names).
        let (ids, groups): (Vec<i64>, Vec<u32>) = match spec.by {
            By::State => (
                spec.states.iter().map(|&s| s as i64).collect(),
                sink.keys.iter().map(|&k| k as u32).collect(),
            ),
            By::Function => {
                let key: Vec<i64> = sink
                    .keys
                    .iter()
                    .map(|&g| self.names.get(g) as i64)
                    .collect();
                distinct(&key)
            }
            _ => distinct(&sink.keys),
        };
        let ng = ids.len();
        let mut totals = vec![0i64; ng];
        let mut firsts = vec![i64::MAX; ng];
        for (r, &g) in groups.iter().enumerate() {
            totals[g as usize] = totals[g as usize].wrapping_add(cells.total(r));
            if let Some(&f) = sink.first.get(r) {
                firsts[g as usize] = firsts[g as usize].min(f);
            }
        }
        let (out_row, row_ids, other) = rank_with(spec, &ids, &totals, &firsts, pruned);
        let names = goroutine_names(spec, &row_ids, other, |id| self.names.get(id));

        let nout = row_ids.len();
        let mut values = vec![0f64; nout * bins];
        let fraction = spec.value == Value::Fraction;
        let mut members: Vec<(u32, u32)> = groups
            .iter()
            .enumerate()
            .map(|(r, &g)| (out_row[g as usize], r as u32))
            .collect();
        members.sort_unstable();
        let mut row = vec![0i64; bins];
        let mut store = |o: usize, run: &[(u32, u32)], row: &mut [i64]| {
            row.fill(0);
            if other && o == nout - 1 && !cells.removed.is_empty() {
                row.copy_from_slice(&cells.removed);
            }
            for &(_, r) in run {
                cells.add_to(r as usize, row);
            }
            let dst = &mut values[o * bins..(o + 1) * bins];
            binning::store_f64(row, 0, &spec.edges, fraction, dst);
        };
        let mut other_done = false;
        for run in members.chunk_by(|a, b| a.0 == b.0) {
            let o = run[0].0 as usize;
            other_done |= other && o == nout - 1;
            store(o, run, &mut row);
        }
        if other && !other_done {
            // Every row of "other" was pruned while streaming.
            store(nout - 1, &[], &mut row);
        }

        let summary = self.ranges.finish(end, |id| trace.strings.get(id).to_vec());
        let t = &summary.table;
        let (mut gc, mut stw) = (Vec::new(), Vec::new());
        for i in 0..t.name.len() {
            let pair = (t.begin[i], t.end[i]);
            if trace.strings.get(t.name[i]) == GC_MARK {
                gc.push(pair);
            } else {
                stw.push(pair);
            }
        }
        HeatResult {
            matrix: HeatMatrix {
                values,
                bins,
                row_ids,
                names,
                other,
            },
            gc,
            stw,
            start: self.start,
            end: self.end,
        }
    }
}

/// Distinct `keys` in increasing order and, per key, its index among them. Keys within a
/// range a few times their number (goroutine IDs, string IDs) are placed by a table
/// indexed by key, others by sorting.
fn distinct(keys: &[i64]) -> (Vec<i64>, Vec<u32>) {
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return (Vec::new(), Vec::new());
    };
    let span = max as i128 - min as i128;
    if span < 4 * keys.len() as i128 + 4096 {
        let mut slot = vec![u32::MAX; span as usize + 1];
        for &k in keys {
            slot[(k - min) as usize] = 0;
        }
        let mut ids = Vec::new();
        for (off, s) in slot.iter_mut().enumerate() {
            if *s == 0 {
                *s = ids.len() as u32;
                ids.push(min + off as i64);
            }
        }
        let groups = keys.iter().map(|&k| slot[(k - min) as usize]).collect();
        (ids, groups)
    } else {
        let mut ids = keys.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let groups = keys
            .iter()
            .map(|k| ids.binary_search(k).expect("own key") as u32)
            .collect();
        (ids, groups)
    }
}

/// Orders the groups (rows `ids`, with their totals and earliest starts) as the spec asks
/// and keeps the first `top` (the rest summed into a last row with ID -1): each group's
/// output row, the output's row IDs, and whether there is an "other" row. Ties are broken
/// by the smaller ID, then by the order given (a stable sort, as numpy's `lexsort` /
/// stable `argsort`). Rows by state keep the order of [`HeatSpec::states`] unless `top`
/// is given.
pub fn rank(
    spec: &HeatSpec,
    ids: &[i64],
    totals: &[i64],
    firsts: &[i64],
) -> (Vec<u32>, Vec<i64>, bool) {
    rank_with(spec, ids, totals, firsts, false)
}

/// [`rank`]; `pruned`: rows beyond these were dropped while streaming, so there is an
/// "other" row even if there are no more rows than `top` here.
fn rank_with(
    spec: &HeatSpec,
    ids: &[i64],
    totals: &[i64],
    firsts: &[i64],
    pruned: bool,
) -> (Vec<u32>, Vec<i64>, bool) {
    let ng = ids.len();
    let ranked = spec.by != By::State || spec.top.is_some();
    let top = spec.top.filter(|&t| ranked && (t < ng || pruned));
    let mut order: Vec<u32> = (0..ng as u32).collect();
    // The group index ends every key, so unstable sorts give the stable order; with `top`
    // only the first `top` need an order (the rest all go to "other").
    fn by_key<K: Ord>(order: &mut [u32], top: Option<usize>, key: impl Fn(&u32) -> K) {
        match top {
            Some(t) if t < order.len() => {
                order.select_nth_unstable_by_key(t, &key);
                order[..t].sort_unstable_by_key(key);
            }
            _ => order.sort_unstable_by_key(key),
        }
    }
    if ranked {
        match spec.sort {
            Sort::Total => by_key(&mut order, top, |&g| {
                let g = g as usize;
                (std::cmp::Reverse(totals[g]), ids[g], g)
            }),
            Sort::First => by_key(&mut order, top, |&g| {
                let g = g as usize;
                (firsts[g], ids[g], g)
            }),
            Sort::Id => by_key(&mut order, top, |&g| (ids[g as usize], g)),
        }
    }
    let mut out_row = vec![0u32; ng];
    for (rank, &g) in order.iter().enumerate() {
        out_row[g as usize] = rank as u32;
    }
    let mut row_ids: Vec<i64> = order.iter().map(|&g| ids[g as usize]).collect();
    let other = top;
    if let Some(top) = other {
        for r in &mut out_row {
            *r = (*r).min(top as u32);
        }
        row_ids.truncate(top);
        row_ids.push(-1);
    }
    (out_row, row_ids, other.is_some())
}

/// The name string ID of each row's goroutine but "other" ([`By::Goroutine`] only).
fn goroutine_names(
    spec: &HeatSpec,
    row_ids: &[i64],
    other: bool,
    name: impl Fn(i64) -> u32,
) -> Vec<u32> {
    if spec.by != By::Goroutine {
        return Vec::new();
    }
    let real = &row_ids[..row_ids.len() - other as usize];
    real.iter().map(|&id| name(id)).collect()
}

/// Matrices up to this many cells are binned into dense rows × bins arrays, in one pass
/// over the intervals in their order; larger ones (many rows) are grouped by row first.
const DENSE_CELLS: usize = 1 << 20;

/// The state intervals of one resource (columns of
/// [`Intervals`](super::intervals::Intervals)).
#[derive(Clone, Copy, Debug)]
pub struct IntervalCols<'a> {
    pub id: &'a [i64],
    pub start: &'a [i64],
    pub end: &'a [i64],
    pub state: &'a [u8],
    pub reason: &'a [u32],
}

/// Goroutine ID -> name string ID, from the goroutine table (IDs increasing).
#[derive(Clone, Copy, Debug)]
pub struct NameTable<'a> {
    pub id: &'a [i64],
    pub name: &'a [u32],
}

impl NameTable<'_> {
    /// The name of goroutine `g`, 0 if it is not in the table.
    pub fn get(&self, g: i64) -> u32 {
        let n = self.id.len().min(self.name.len());
        if n == 0 {
            return 0;
        }
        let pos = self.id[..n].partition_point(|&x| x < g).min(n - 1);
        if self.id[pos] == g {
            self.name[pos]
        } else {
            0
        }
    }
}

/// The heatmap of a parsed trace's intervals: O(intervals + rows × bins). Rows are chosen
/// and ordered before binning (per-row totals and first starts are one pass over the
/// intervals), so with `top` only `top + 1` rows are binned and allocated. Panics if the
/// columns differ in length or the edges are invalid (see [`binning::BinIndex::new`]).
pub fn heat_batch(spec: &HeatSpec, iv: &IntervalCols<'_>, names: &NameTable<'_>) -> HeatMatrix {
    let m = iv.id.len();
    assert!(
        [
            iv.start.len(),
            iv.end.len(),
            iv.state.len(),
            iv.reason.len()
        ]
        .iter()
        .all(|&l| l == m),
        "interval columns differ in length"
    );
    assert!(m < SKIP as usize, "too many intervals");
    let bins = binning::BinIndex::new(&spec.edges).bins();
    let (lo, hi) = (spec.edges[0], spec.edges[bins]);
    let mut state_row = [0u32; 256];
    for (i, &s) in spec.states.iter().enumerate() {
        state_row[s as usize] = i as u32 + 1;
    }

    // The chosen intervals and their row keys.
    let mut sel: Vec<u32> = Vec::new();
    let mut keys: Vec<i64> = Vec::new();
    for k in 0..m {
        let sr = state_row[iv.state[k] as usize];
        if sr == 0 {
            continue;
        }
        sel.push(k as u32);
        keys.push(match spec.by {
            By::Reason => iv.reason[k] as i64,
            By::State => (sr - 1) as i64,
            _ => iv.id[k],
        });
    }
    let (ids, groups) = match spec.by {
        By::State => (
            spec.states.iter().map(|&s| s as i64).collect(),
            keys.iter().map(|&k| k as u32).collect(),
        ),
        By::Function => {
            // Names are looked up once per goroutine, then grouped.
            let (gids, per_g) = distinct(&keys);
            let gnames: Vec<i64> = gids.iter().map(|&g| names.get(g) as i64).collect();
            let (ids, name_of_g) = distinct(&gnames);
            (ids, per_g.iter().map(|&g| name_of_g[g as usize]).collect())
        }
        _ => distinct(&keys),
    };
    drop(keys);

    let ng = ids.len();
    let mut totals = vec![0i64; ng];
    let mut firsts = vec![i64::MAX; ng];
    for (&k, &g) in sel.iter().zip(&groups) {
        let (k, g) = (k as usize, g as usize);
        let (s, e) = (iv.start[k], iv.end[k]);
        let t = if spec.value == Value::Count {
            (lo <= s && s <= hi) as i64
        } else {
            (e.min(hi).wrapping_sub(s.max(lo))).max(0)
        };
        totals[g] = totals[g].wrapping_add(t);
        firsts[g] = firsts[g].min(s);
    }
    let (out_row, row_ids, other) = rank(spec, &ids, &totals, &firsts);
    let nout = row_ids.len();
    let fraction = spec.value == Value::Fraction;
    let chosen = || {
        sel.iter()
            .zip(&groups)
            .map(|(&k, &g)| (out_row[g as usize], k as usize))
    };
    let values = if spec.value == Value::Count {
        binning::count_f64(chosen().map(|(r, k)| (r, iv.start[k])), nout, &spec.edges)
    } else if nout.saturating_mul(bins) <= DENSE_CELLS {
        let items = chosen().map(|(r, k)| (r, iv.start[k], iv.end[k]));
        binning::overlap_dense_f64(items, nout, &spec.edges, fraction)
    } else {
        let mut rows = vec![SKIP; m];
        for (r, k) in chosen() {
            rows[k] = r;
        }
        drop((sel, groups, out_row));
        binning::overlap_f64(iv.start, iv.end, &rows, nout, &spec.edges, fraction)
    };
    let names = goroutine_names(spec, &row_ids, other, |g| names.get(g));
    HeatMatrix {
        values,
        bins,
        row_ids,
        names,
        other,
    }
}
