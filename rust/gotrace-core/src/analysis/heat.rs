//! Heatmaps computed while the events stream by: the state tracker's intervals go straight
//! into a [`SparseBinner`] and are never stored. Rows are chosen and ordered at the end
//! exactly as `gotrace_fast.heatmap` does for a parsed trace (python/gotrace_fast/heatmap.py):
//! the result is the same matrix, row for row.

use rustc_hash::FxHashMap;

use super::idmap::IdMap;
use super::intervals::{Interval, IntervalSink, Resource, Tracker};
use super::ranges::RangeTracker;
use super::summarizer::GoNames;
use super::summary::track;
use crate::binning::SparseBinner;
use crate::store::{resource, EventKind, Trace};

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

/// What to bin.
#[derive(Clone, Debug)]
pub struct HeatSpec {
    pub by: By,
    /// State codes: `gostate` values (`procstate` for [`By::Proc`]).
    pub states: Vec<u8>,
    /// Count the intervals beginning in each bin instead of summing their overlap.
    pub count: bool,
    /// Bin edges (ns), non-decreasing, at least two.
    pub edges: Vec<i64>,
    /// Keep the first `top` rows and sum the others into one last row (ID -1).
    pub top: Option<usize>,
    pub sort: Sort,
}

/// A finished heatmap.
#[derive(Clone, Debug, Default)]
pub struct HeatResult {
    /// Row-major `row_ids.len() × bins` ns (or counts).
    pub values: Vec<i64>,
    pub bins: usize,
    /// Goroutine / proc / thread ID, function or reason string ID, state code; -1 for
    /// the "other" row (then last).
    pub row_ids: Vec<i64>,
    /// Per row but "other": the goroutine's name string ID ([`By::Goroutine`], 0 = none).
    pub names: Vec<u32>,
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
    /// Per state code: its row for [`By::State`] plus one, 0 = not binned.
    state_row: [u32; 256],
    count: bool,
    /// Row key (ID, reason, state code) -> row.
    rows: IdMap<u32>,
    keys: Vec<i64>,
    first: Vec<i64>,
    bins: SparseBinner,
}

impl IntervalSink for HeatSink {
    const STATS: bool = false;

    #[inline]
    fn interval(&mut self, res: Resource, iv: &Interval) {
        let sr = self.state_row[iv.state as usize];
        if res != self.res || sr == 0 {
            return;
        }
        let key = match self.by {
            By::Reason => iv.reason as i64,
            By::State => (sr - 1) as i64,
            _ => iv.id,
        };
        let row = match self.rows.get(key) {
            Some(&r) => r,
            None => {
                let r = self.keys.len() as u32;
                self.rows.insert(key, r);
                self.keys.push(key);
                self.first.push(iv.start);
                r
            }
        };
        let f = &mut self.first[row as usize];
        *f = (*f).min(iv.start);
        if self.count {
            self.bins.add_instant(row, iv.start);
        } else {
            self.bins.add_interval(row, iv.start, iv.end);
        }
    }
}

/// The streaming heatmap: [`HeatStream::feed`] it the events in order (in chunks), then
/// [`HeatStream::finish`].
pub struct HeatStream {
    spec: HeatSpec,
    tracker: Tracker<HeatSink>,
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
        let sink = HeatSink {
            res,
            by: spec.by,
            state_row,
            count: spec.count,
            rows: IdMap::default(),
            keys: Vec::new(),
            first: Vec::new(),
            bins: SparseBinner::new(spec.edges.clone()),
        };
        HeatStream {
            spec,
            tracker: Tracker::with_sink(version > 0 && version < 22, sink),
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
        let want_names = matches!(self.spec.by, By::Goroutine | By::Function);
        for i in 0..ev.len() {
            track(&mut self.tracker, ev, i);
            let kind = ev.kind[i];
            if kind == EventKind::StateTransition as u8 {
                if want_names && ev.res_kind[i] == resource::GOROUTINE {
                    self.names
                        .transition(ev.arg[i], ev.from[i], ev.to[i], ev.aux[i], trace);
                }
            } else if (EventKind::RangeBegin as u8..=EventKind::RangeEnd as u8).contains(&kind) {
                let name = ev.name[i];
                let keep = *self.keep_range.entry(name).or_insert_with(|| {
                    let s = trace.strings.get(name);
                    s == GC_MARK || s.starts_with(STW_PREFIX)
                });
                if keep {
                    let s = trace.strings.get(name);
                    self.ranges
                        .event(kind, ev.time[i], name, s, ev.res_kind[i], ev.arg[i], None);
                }
            }
        }
        if let (Some(&first), Some(&last)) = (ev.time.first(), ev.time.last()) {
            self.start.get_or_insert(first);
            self.end = Some(last);
        }
    }

    /// Closes the intervals still open at the last event, picks and orders the rows.
    /// `trace` gives the string table.
    pub fn finish(self, trace: &Trace) -> HeatResult {
        let end = self.end.unwrap_or(0);
        let (_, _, sink) = self.tracker.finish_sink(end);
        let spec = &self.spec;
        let bins = spec.edges.len() - 1;
        let cells = sink.bins.finish();

        // Group the binned rows into the heatmap's rows (by function: the goroutines' names).
        // `ids` are the groups' row IDs: sorted and distinct, or by state the codes in the
        // order given (every one a row, as the Python code does).
        let (ids, groups): (Vec<i64>, Vec<usize>) = match spec.by {
            By::State => (
                spec.states.iter().map(|&s| s as i64).collect(),
                sink.keys.iter().map(|&k| k as usize).collect(),
            ),
            _ => {
                let key: Vec<i64> = match spec.by {
                    By::Function => sink
                        .keys
                        .iter()
                        .map(|&g| self.names.get(g) as i64)
                        .collect(),
                    _ => sink.keys.clone(),
                };
                let mut ids = key.clone();
                ids.sort_unstable();
                ids.dedup();
                let groups = key
                    .iter()
                    .map(|k| ids.binary_search(k).expect("own key"))
                    .collect();
                (ids, groups)
            }
        };
        let ng = ids.len();
        let mut totals = vec![0i64; ng];
        let mut firsts = vec![i64::MAX; ng];
        for (r, &g) in groups.iter().enumerate() {
            totals[g] += cells.total(r);
            firsts[g] = firsts[g].min(sink.first[r]);
        }

        // The rank of each group, as numpy's lexsort / stable argsort give it.
        let ranked = spec.by != By::State || spec.top.is_some();
        let mut order: Vec<usize> = (0..ng).collect();
        if ranked {
            match spec.sort {
                Sort::Total => order.sort_by_key(|&g| (std::cmp::Reverse(totals[g]), ids[g])),
                Sort::First => order.sort_by_key(|&g| (firsts[g], ids[g])),
                Sort::Id => order.sort_by_key(|&g| ids[g]),
            }
        }
        let mut out_row = vec![0usize; ng];
        for (rank, &g) in order.iter().enumerate() {
            out_row[g] = rank;
        }
        let mut row_ids: Vec<i64> = order.iter().map(|&g| ids[g]).collect();
        let other = spec.top.filter(|&t| ranked && t < ng);
        if let Some(top) = other {
            for r in &mut out_row {
                *r = (*r).min(top);
            }
            row_ids.truncate(top);
        }
        let names = if spec.by == By::Goroutine {
            row_ids.iter().map(|&id| self.names.get(id)).collect()
        } else {
            Vec::new()
        };
        if other.is_some() {
            row_ids.push(-1);
        }

        let mut values = vec![0i64; row_ids.len() * bins];
        for (r, &g) in groups.iter().enumerate() {
            let o = out_row[g];
            cells.add_to(r, &mut values[o * bins..(o + 1) * bins]);
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
            values,
            bins,
            row_ids,
            names,
            gc,
            stw,
            start: self.start,
            end: self.end,
        }
    }
}
