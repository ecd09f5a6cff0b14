//! Mutator utilization and the minimum mutator utilization (MMU) curve, computed as Go's
//! `internal/trace` does (`MutatorUtilizationV2`, `NewMMUCurve`, `MMUCurve.MMU`).
//!
//! The utilization function is a step function: a list of [`MutatorUtil`] changes, each
//! giving the mean fraction of the procs that run user code from its time on. GC work
//! that is counted against the mutator is chosen with the `UTIL_*` flags.
//!
//! The MMU for a window `w` is the lowest mean of that function over any interval of
//! length `w` inside the trace. Go finds it with a branch-and-bound search: the function
//! is cut into (at most) 1000 equal bands, every band gets a lower bound for the
//! utilization of windows starting in it, and bands are refined exactly, lowest bound
//! first, until no remaining bound is below the best value found. This module follows the
//! same steps, in the same order and with the same floating-point operations, so that
//! the values are Go's, not just equal up to rounding.
//!
//! Where Go's code panics (an index out of range on odd input, e.g. a range event outside
//! any proc) these functions return an [`MmuError`] with Go's panic text instead. Time
//! arithmetic wraps, as Go's int64 does: extreme timestamps of a broken trace then give
//! Go's values (or Go's index panic), in every build profile.

use super::idmap::IdMap;
use crate::store::{gostate, resource, EventKind, Trace};

/// Count stop-the-world phases of the GC (ranges `stop-the-world (...)` mentioning GC).
pub const UTIL_STW: u32 = 1;
/// Count background mark workers (goroutines labelled `GC ...` other than `GC (idle)`).
pub const UTIL_BACKGROUND: u32 = 2;
/// Count mark assists (`GC mark assist` ranges, while the goroutine runs).
pub const UTIL_ASSIST: u32 = 4;
/// Count incremental sweeping (`GC incremental sweep` ranges).
pub const UTIL_SWEEP: u32 = 8;
/// One utilization function per P (0 or 1 at every time) instead of a single one.
pub const UTIL_PER_PROC: u32 = 16;

/// What `go tool trace` shows by default.
pub const UTIL_DEFAULT: u32 = UTIL_STW | UTIL_BACKGROUND | UTIL_ASSIST;

/// The number of bands a series is cut into (Go's `bandsPerSeries`).
pub const BANDS_PER_SERIES: usize = 1000;

/// A change of the mutator utilization: from `time` on, the mean utilization is `util`
/// (in `[0, 1]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MutatorUtil {
    pub time: i64,
    pub util: f64,
}

/// Go's code would panic on this input; the message is Go's panic value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MmuError(pub String);

impl std::fmt::Display for MmuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MmuError {}

type Result<T> = std::result::Result<T, MmuError>;

fn index_error(i: i64, len: usize) -> MmuError {
    MmuError(format!(
        "runtime error: index out of range [{i}] with length {len}"
    ))
}

/// Refuses GOMAXPROCS metrics that would make the P table (and, per proc, the series)
/// grow by more than this many entries in all: Go builds one entry per P at each increase,
/// so a few bytes of metric events alternating between 1 and 2^24 would take time and
/// memory without bound (a fuzzed 4 KB trace asking for 2^22 Ps took 10 s). Real traces
/// grow it by at most a few thousand.
const MAX_GOMAXPROCS_GROWTH: i64 = 1 << 20;

const GOMAXPROCS_METRIC: &[u8] = b"/sched/gomaxprocs:threads";

fn is_gc_stw(name: &[u8]) -> bool {
    name.starts_with(b"stop-the-world") && name.windows(2).any(|w| w == b"GC")
}

fn is_gc_mark_assist(name: &[u8]) -> bool {
    name == b"GC mark assist"
}

fn is_gc_sweep(name: &[u8]) -> bool {
    name == b"GC incremental sweep"
}

fn executing(state: u8) -> bool {
    state == gostate::RUNNING || state == gostate::SYSCALL
}

/// Per-goroutine facts the utilization pass needs: last state (Go's `states`), in a mark
/// assist (`inGC`), is a background mark worker (`bgMark`). Dense for the usual small
/// non-negative goroutine IDs, a hash map for the rest.
#[derive(Default)]
struct GoTable(IdMap<GoInfo>);

#[derive(Default, Clone, Copy)]
struct GoInfo {
    state: u8,
    in_gc: bool,
    bg_mark: bool,
}

impl GoTable {
    fn get(&self, g: i64) -> GoInfo {
        self.0.get(g).copied().unwrap_or_default()
    }

    fn get_mut(&mut self, g: i64) -> &mut GoInfo {
        self.0.get_or_insert_with(g, GoInfo::default)
    }
}

#[derive(Clone, Copy)]
struct PerP {
    /// > 0 while GC work runs on this P.
    gc: i64,
    /// The output series of this P.
    series: usize,
}

/// The Ps and how many of them currently do GC work (kept up to date on every change,
/// instead of Go's count over all Ps at every event).
struct Procs {
    ps: Vec<PerP>,
    busy: usize,
}

impl Procs {
    fn index(&self, p: i64) -> Result<usize> {
        if p < 0 || p as usize >= self.ps.len() {
            return Err(index_error(p, self.ps.len()));
        }
        Ok(p as usize)
    }

    fn add_gc(&mut self, p: i64, delta: i64) -> Result<()> {
        let i = self.index(p)?;
        let pp = &mut self.ps[i];
        let was = pp.gc > 0;
        pp.gc += delta;
        match (was, pp.gc > 0) {
            (false, true) => self.busy += 1,
            (true, false) => self.busy -= 1,
            _ => {}
        }
        Ok(())
    }
}

/// Appends a utilization change, as Go's `addUtil`: no point if the value does not
/// change, and the lowest value wins among changes at the same time.
fn add_util(util: &mut Vec<MutatorUtil>, mu: MutatorUtil) {
    if let Some(last) = util.last_mut() {
        if mu.util == last.util {
            return;
        }
        if mu.time == last.time {
            if mu.util < last.util {
                *last = mu;
            }
            return;
        }
    }
    util.push(mu);
}

/// The mutator utilization functions of a trace (Go's `MutatorUtilizationV2`): one
/// series, or with [`UTIL_PER_PROC`] one per P (a P removed by lowering GOMAXPROCS and
/// added again gets a new series). Every series ends with a 0 at the last event's time.
/// Empty if the trace has no events or no `/sched/gomaxprocs:threads` metric (v1 traces
/// that never change GOMAXPROCS).
pub fn mutator_utilization(trace: &Trace, flags: u32) -> Result<Vec<Vec<MutatorUtil>>> {
    let ev = &trace.events;
    let strings = &trace.strings;
    let per_proc = flags & UTIL_PER_PROC != 0;
    let handle_stw = |name: &[u8]| flags & UTIL_STW != 0 && is_gc_stw(name);
    let handle_assist = |name: &[u8]| flags & UTIL_ASSIST != 0 && is_gc_mark_assist(name);
    let handle_sweep = |name: &[u8]| flags & UTIL_SWEEP != 0 && is_gc_sweep(name);

    let mut out: Vec<Vec<MutatorUtil>> = Vec::new();
    let mut stw: i64 = 0;
    let mut procs = Procs {
        ps: Vec::new(),
        busy: 0,
    };
    let mut gs = GoTable::default();
    // (time, GOMAXPROCS) at every change of GOMAXPROCS.
    let mut gomaxprocs_at: Vec<(i64, i64)> = Vec::new();
    let mut n_sync: i64 = 0;
    // Ps added by GOMAXPROCS increases so far.
    let mut grown: i64 = 0;

    const SYNC: u8 = EventKind::Sync as u8;
    const METRIC: u8 = EventKind::Metric as u8;
    const LABEL: u8 = EventKind::Label as u8;
    const RANGE_BEGIN: u8 = EventKind::RangeBegin as u8;
    const RANGE_ACTIVE: u8 = EventKind::RangeActive as u8;
    const RANGE_END: u8 = EventKind::RangeEnd as u8;
    const TRANSITION: u8 = EventKind::StateTransition as u8;

    // The goroutine of a range's scope; Go panics if the scope is not a goroutine.
    let scope_goroutine = |i: usize| -> Result<i64> {
        let k = ev.res_kind[i];
        if k != resource::GOROUTINE {
            let kind = resource::NAMES.get(k as usize).copied().unwrap_or("?");
            return Err(MmuError(format!(
                "attempted to get GoID from {kind} resource ID"
            )));
        }
        Ok(ev.arg.get(i))
    };

    for i in 0..ev.len() {
        let kind = ev.kind[i];
        let time = ev.time[i];
        match kind {
            SYNC => n_sync = ev.arg.get(i),
            METRIC if strings.get(ev.name[i]) == GOMAXPROCS_METRIC => {
                // Go converts the uint64 value with int(): same bits.
                let n = ev.arg.get(i);
                if procs.ps.len() as i64 > n {
                    if n < 0 {
                        return Err(MmuError(format!(
                            "runtime error: slice bounds out of range [:{n}]"
                        )));
                    }
                    let n = n as usize;
                    for p in &procs.ps[n..] {
                        if per_proc {
                            add_util(&mut out[p.series], MutatorUtil { time, util: 0.0 });
                        }
                        if p.gc > 0 {
                            procs.busy -= 1;
                        }
                    }
                    procs.ps.truncate(n);
                }
                grown = grown.saturating_add(n.saturating_sub(procs.ps.len() as i64).max(0));
                if grown > MAX_GOMAXPROCS_GROWTH {
                    return Err(MmuError(format!(
                        "GOMAXPROCS {n} is too large (increases add up to more than \
                         {MAX_GOMAXPROCS_GROWTH} Ps)"
                    )));
                }
                while (procs.ps.len() as i64) < n {
                    let mut series = 0;
                    if per_proc || out.is_empty() {
                        series = out.len();
                        out.push(vec![MutatorUtil { time, util: 1.0 }]);
                    }
                    procs.ps.push(PerP { gc: 0, series });
                }
                if gomaxprocs_at.last().map(|&(_, last)| last) != Some(n) {
                    gomaxprocs_at.push((time, n));
                }
            }
            _ => {}
        }
        if procs.ps.is_empty() {
            // Nothing can be said before GOMAXPROCS is known.
            continue;
        }

        match kind {
            RANGE_ACTIVE | RANGE_BEGIN => {
                let name = strings.get(ev.name[i]);
                if kind == RANGE_ACTIVE {
                    if n_sync > 1 {
                        // Seen already in an earlier generation: nothing new.
                        continue_record(&mut out, &procs, stw, per_proc, time);
                        continue;
                    }
                    // The range has been going on since the trace started, which the
                    // function so far does not show: take this P's share off everything
                    // recorded until now (a trace cannot start inside a STW).
                    let missed = if handle_assist(name) {
                        executing(gs.get(ev.g.get(i)).state)
                    } else {
                        handle_sweep(name)
                    };
                    if missed && !per_proc {
                        let s = &mut out[0];
                        let (mut mi, mut pi) = (0, 0);
                        while mi < s.len() {
                            if pi + 1 < gomaxprocs_at.len() && gomaxprocs_at[pi + 1].0 < s[mi].time
                            {
                                pi += 1;
                                continue;
                            }
                            s[mi].util -= 1.0 / gomaxprocs_at[pi].1 as f64;
                            if s[mi].util < 0.0 {
                                s[mi].util = 0.0;
                            }
                            mi += 1;
                        }
                    }
                }
                if handle_stw(name) {
                    stw += 1;
                } else if handle_sweep(name) {
                    procs.add_gc(ev.p.get(i), 1)?;
                } else if handle_assist(name) {
                    procs.add_gc(ev.p.get(i), 1)?;
                    let g = scope_goroutine(i)?;
                    if g != -1 {
                        gs.get_mut(g).in_gc = true;
                    }
                }
            }
            RANGE_END => {
                let name = strings.get(ev.name[i]);
                if handle_stw(name) {
                    stw -= 1;
                } else if handle_sweep(name) {
                    procs.add_gc(ev.p.get(i), -1)?;
                } else if handle_assist(name) {
                    procs.add_gc(ev.p.get(i), -1)?;
                    let g = scope_goroutine(i)?;
                    if g != -1 {
                        gs.get_mut(g).in_gc = false;
                    }
                }
            }
            TRANSITION if ev.res_kind[i] == resource::GOROUTINE => {
                let g = ev.arg.get(i);
                let (old, new) = (ev.from[i], ev.to[i]);
                let info = gs.get_mut(g);
                let gc_goroutine = info.in_gc || info.bg_mark;
                info.state = new;
                if gc_goroutine {
                    if !executing(old) && executing(new) {
                        procs.add_gc(ev.p.get(i), 1)?;
                    } else if executing(old) && !executing(new) {
                        procs.add_gc(ev.p.get(i), -1)?;
                    }
                }
            }
            LABEL if flags & UTIL_BACKGROUND != 0 => {
                let label = strings.get(ev.name[i]);
                // Dedicated workers push everything else off their P, so per P they do
                // not delay goroutines directly.
                if label.starts_with(b"GC ")
                    && label != b"GC (idle)"
                    && !(per_proc && label == b"GC (dedicated)")
                {
                    gs.get_mut(ev.g.get(i)).bg_mark = true;
                    procs.add_gc(ev.p.get(i), 1)?;
                }
            }
            _ => {}
        }
        continue_record(&mut out, &procs, stw, per_proc, time);
    }

    let Some(&last_time) = ev.time.last() else {
        return Ok(Vec::new());
    };
    // The end of the trace: utilization 0, as at its start.
    for p in &procs.ps {
        add_util(
            &mut out[p.series],
            MutatorUtil {
                time: last_time,
                util: 0.0,
            },
        );
    }
    Ok(out)
}

/// Records the utilization after an event.
#[inline]
fn continue_record(
    out: &mut [Vec<MutatorUtil>],
    procs: &Procs,
    stw: i64,
    per_proc: bool,
    time: i64,
) {
    if !per_proc {
        let busy = if stw > 0 { procs.ps.len() } else { procs.busy };
        let util = 1.0 - busy as f64 / procs.ps.len() as f64;
        add_util(&mut out[0], MutatorUtil { time, util });
    } else {
        for p in &procs.ps {
            let util = if stw > 0 || p.gc > 0 { 0.0 } else { 1.0 };
            add_util(&mut out[p.series], MutatorUtil { time, util });
        }
    }
}

/// The MMU curve of a set of utilization functions (Go's `MMUCurve`).
#[derive(Debug, Clone)]
pub struct MmuCurve {
    series: Vec<MmuSeries>,
}

#[derive(Debug, Clone)]
struct MmuSeries {
    util: Vec<MutatorUtil>,
    /// `sums[j]`: integral of the function from its start to `util[j].time`.
    sums: Vec<f64>,
    /// Summaries of consecutive bands of `band_dur` ns, plus one at the end.
    bands: Vec<Band>,
    band_dur: i64,
}

#[derive(Debug, Clone, Copy)]
struct Band {
    /// Lowest utilization inside the band.
    min_util: f64,
    /// Integral of the function up to the band's left edge.
    cum_util: f64,
    /// Integrator position at the band's left edge.
    pos: usize,
}

/// A band's lower bound for the mean utilization of windows starting in it.
#[derive(Debug, Clone, Copy)]
struct BandBound {
    series: usize,
    band: usize,
    bound: f64,
}

/// One window of the windowed utilization: starting at `time`, mean utilization `mu`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtilWindow {
    pub time: i64,
    pub mu: f64,
}

/// Collects the minimum and, if `n_worst > 0`, the `n_worst` lowest pairwise disjoint
/// windows (Go's accumulator; its distribution tracking is not needed: see
/// [`MmuCurve::mud`]).
struct Accumulator {
    mmu: f64,
    /// Windows above this cannot change the result.
    bound: f64,
    n_worst: usize,
    /// Max-heap (Go's `utilHeap`): the best of the kept worst windows on top.
    worst: Vec<UtilWindow>,
}

/// Go's `utilHeap.Less`: higher utilization first, later time first among equals.
fn worst_less(a: &UtilWindow, b: &UtilWindow) -> bool {
    if a.mu != b.mu {
        return a.mu > b.mu;
    }
    a.time > b.time
}

impl Accumulator {
    fn new(n_worst: usize) -> Self {
        Accumulator {
            mmu: 1.0,
            bound: 1.0,
            n_worst,
            worst: Vec::new(),
        }
    }

    /// Adds the windowed utilization `mu` of the window starting at `time`; true once
    /// nothing can change the result any more.
    fn add_mu(&mut self, time: i64, mu: f64, window: i64) -> bool {
        if mu < self.mmu {
            self.mmu = mu;
        }
        self.bound = self.mmu;
        if self.n_worst == 0 {
            // Nothing is below 0.
            return mu == 0.0;
        }
        if self.worst.len() < self.n_worst || mu < self.worst[0].mu {
            // Among overlapping windows only the lower one is kept (the first on ties).
            let mut keep_old = false;
            for i in 0..self.worst.len() {
                let w = self.worst[i];
                if time.wrapping_add(window) > w.time && w.time.wrapping_add(window) > time {
                    if w.mu <= mu {
                        keep_old = true;
                    } else {
                        heap_remove(&mut self.worst, i, worst_less);
                    }
                    break;
                }
            }
            if !keep_old {
                heap_push(&mut self.worst, UtilWindow { time, mu }, worst_less);
                if self.worst.len() > self.n_worst {
                    heap_pop(&mut self.worst, worst_less);
                }
            }
        }
        if self.worst.len() < self.n_worst {
            self.bound = 1.0;
        } else {
            self.bound = go_max(self.bound, self.worst[0].mu);
        }
        self.worst.len() == self.n_worst && self.worst[0].mu == 0.0
    }
}

fn bound_less(a: &BandBound, b: &BandBound) -> bool {
    a.bound < b.bound
}

impl MmuCurve {
    /// Builds the curve with Go's band count.
    pub fn new(utils: Vec<Vec<MutatorUtil>>) -> Result<Self> {
        Self::with_bands(utils, BANDS_PER_SERIES)
    }

    /// Builds the curve cutting each series into at most `bands` bands (Go's tests vary
    /// this; results agree up to rounding).
    pub fn with_bands(utils: Vec<Vec<MutatorUtil>>, bands: usize) -> Result<Self> {
        let series = utils
            .into_iter()
            .map(|u| MmuSeries::new(u, bands))
            .collect::<Result<_>>()?;
        Ok(MmuCurve { series })
    }

    /// The minimum mutator utilization over all windows of `window` ns (a window longer
    /// than a series counts as that series' length). 0 for `window <= 0`; 1 if there are
    /// no series.
    pub fn mmu(&self, window: i64) -> Result<f64> {
        let mut acc = Accumulator::new(0);
        self.run(window, &mut acc)?;
        Ok(acc.mmu)
    }

    /// Up to `n` windows of `window` ns with the lowest utilization, lowest first (Go's
    /// `MMUCurve.Examples`). Meant to be disjoint, but exactly as in Go a new window is
    /// only checked against the first kept window it overlaps, so one that overlaps two
    /// can displace one and stay next to the other. Which of equally bad windows are
    /// chosen depends on the banding, as in Go.
    pub fn examples(&self, window: i64, n: usize) -> Result<Vec<UtilWindow>> {
        let mut acc = Accumulator::new(n);
        self.run(window, &mut acc)?;
        let mut out = acc.worst;
        // Go's sort.Reverse(utilHeap): ascending utilization, then ascending time.
        out.sort_by(|a, b| {
            if worst_less(b, a) {
                std::cmp::Ordering::Less
            } else if worst_less(a, b) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        Ok(out)
    }

    /// Go's `MMUCurve.MUD` (mutator utilization distribution quantiles) as Go 1.27
    /// computes it: its accumulator stops before recording the distribution when no worst
    /// windows are tracked, so every quantile comes out as the MMU. Reproduced as such.
    pub fn mud(&self, window: i64, quantiles: &[f64]) -> Result<Vec<f64>> {
        if quantiles.is_empty() {
            return Ok(Vec::new());
        }
        let mmu = self.mmu(window)?;
        Ok(vec![mmu; quantiles.len()])
    }

    fn run(&self, window: i64, acc: &mut Accumulator) -> Result<()> {
        if window <= 0 {
            acc.mmu = 0.0;
            return Ok(());
        }
        let mut heap: Vec<BandBound> = Vec::new();
        let mut windows = Vec::with_capacity(self.series.len());
        for (i, s) in self.series.iter().enumerate() {
            let max = s.util[s.util.len() - 1].time.wrapping_sub(s.util[0].time);
            let w = window.min(max);
            windows.push(w);
            s.band_bounds(i, w, &mut heap)?;
        }
        // Refine bands, lowest bound first, while a band could still hold a lower window.
        heap_init(&mut heap, bound_less);
        while let Some(top) = heap.first().copied().filter(|t| t.bound < acc.bound) {
            self.series[top.series].band_mmu(top.band, windows[top.series], acc)?;
            heap_pop(&mut heap, bound_less);
        }
        Ok(())
    }
}

impl MmuSeries {
    fn new(util: Vec<MutatorUtil>, bands_per_series: usize) -> Result<Self> {
        if util.is_empty() {
            return Err(index_error(-1, 0));
        }
        let mut sums = Vec::with_capacity(util.len());
        let mut prev = MutatorUtil { time: 0, util: 0.0 };
        let mut sum = 0.0f64;
        for u in &util {
            sum += prev.util * u.time.wrapping_sub(prev.time) as f64;
            sums.push(sum);
            prev = *u;
        }

        let num_bands = bands_per_series.min(util.len());
        let dur = util[util.len() - 1].time.wrapping_sub(util[0].time);
        let band_dur = (dur.wrapping_add(num_bands as i64 - 1) / num_bands as i64).max(1);
        let mut s = MmuSeries {
            util,
            sums,
            bands: Vec::with_capacity(num_bands + 1),
            band_dur,
        };
        // One band more than `num_bands`, for the final cumulative sum.
        let mut pos = 0;
        for i in 0..=num_bands {
            let (start, end) = s.band_time(i);
            let cum_util = s.advance(&mut pos, start)?;
            let mut min_util = 1.0f64;
            for u in s.util[pos..].iter().take_while(|u| u.time < end) {
                min_util = go_min(min_util, u.util);
            }
            s.bands.push(Band {
                min_util,
                cum_util,
                pos,
            });
        }
        Ok(s)
    }

    fn band_time(&self, i: usize) -> (i64, i64) {
        let start = (i as i64)
            .wrapping_mul(self.band_dur)
            .wrapping_add(self.util[0].time);
        (start, start.wrapping_add(self.band_dur))
    }

    /// The integral of the function up to `time`, moving the integrator position `pos`
    /// (the last change at or before `time`). Times must not decrease between calls.
    fn advance(&self, pos: &mut usize, time: i64) -> Result<f64> {
        let util = &self.util;
        let mut p = *pos;
        const MAX_SEQ: usize = 8;
        if p + MAX_SEQ < util.len() && util[p + MAX_SEQ].time > time {
            while p + 1 < util.len() && util[p + 1].time <= time {
                p += 1;
            }
        } else {
            let (mut l, mut r) = (p, util.len());
            while l < r {
                let h = (l + r) / 2;
                if util[h].time <= time {
                    l = h + 1;
                } else {
                    r = h;
                }
            }
            // A time before the series' start (wrapped int64 arithmetic on extreme
            // timestamps): Go indexes -1.
            p = l
                .checked_sub(1)
                .ok_or_else(|| index_error(-1, util.len()))?;
        }
        *pos = p;
        let mut partial = 0.0;
        if time != util[p].time {
            partial = util[p].util * time.wrapping_sub(util[p].time) as f64;
        }
        Ok(self.sums[p] + partial)
    }

    /// The first change after `time`, looking from position `pos` on.
    fn next(&self, pos: usize, time: i64) -> i64 {
        self.util[pos..]
            .iter()
            .find(|u| u.time > time)
            .map_or(i64::MAX, |u| u.time)
    }

    /// Pushes, per band, a lower bound of the mean utilization of every window of
    /// `window` ns whose left edge lies in that band.
    fn band_bounds(&self, series: usize, window: i64, out: &mut Vec<BandBound>) -> Result<()> {
        let bd = self.band_dur;
        // The fewest and the most bands a window can touch.
        let min_bands = window.wrapping_add(bd - 1) / bd;
        let max_bands = window.wrapping_add(2i64.wrapping_mul(bd - 1)) / bd;
        if window > 1 && max_bands < 2 {
            return Err(MmuError("maxBands < 2".into()));
        }
        let tail_dur = window % bd;
        let len = self.bands.len();
        let n = (len as i64).wrapping_sub(max_bands).wrapping_add(1).max(0);
        // Go's indexing: out of range (bands < 1, from wrapped arithmetic on extreme
        // times) it panics, at the first bad index in this order.
        let band = |k: i64| {
            usize::try_from(k)
                .ok()
                .and_then(|k| self.bands.get(k))
                .ok_or_else(|| index_error(k, len))
        };
        for i in 0..n {
            // Partially covered bands count at their minimum, fully covered ones at
            // their mean.
            let mut util = 0.0f64;
            let l = band(i)?.min_util;
            let r1 = band(i.wrapping_add(min_bands).wrapping_sub(1))?.min_util;
            let r2 = band(i.wrapping_add(max_bands).wrapping_sub(1))?.min_util;
            let min_band = go_min(l, go_min(r1, r2));
            if min_bands == 1 {
                util += min_band * window as f64;
            } else {
                // The worst window covers the worst partial band fully and the second
                // worst with the rest.
                util += min_band * bd as f64;
                let mid_band = if min_band == l {
                    go_min(r1, r2)
                } else if min_band == r1 {
                    go_min(l, r2)
                } else if min_band == r2 {
                    go_min(l, r1)
                } else {
                    0.0
                };
                util += mid_band * tail_dur as f64;
            }
            if min_bands > 2 {
                util += band(i + min_bands - 1)?.cum_util - band(i + 1)?.cum_util;
            }
            out.push(BandBound {
                series,
                band: i as usize,
                bound: util / window as f64,
            });
        }
        Ok(())
    }

    /// The exact minimum over the windows whose left edge is in band `band`. The windowed
    /// mean is piecewise linear with kinks where either edge meets a change, so only
    /// those times are visited; with a slope of at most 1/window, times that cannot go
    /// below the current bound are skipped.
    fn band_mmu(&self, band: usize, window: i64, acc: &mut Accumulator) -> Result<()> {
        let util = &self.util;
        let mut left = self.bands[band].pos;
        let mut right = left;
        let (mut time, mut end_time) = self.band_time(band);
        let util_end = util[util.len() - 1].time.wrapping_sub(window);
        if util_end < end_time {
            end_time = util_end;
        }
        loop {
            let r = self.advance(&mut right, time.wrapping_add(window))?;
            let l = self.advance(&mut left, time)?;
            let mu = (r - l) / window as f64;
            if acc.add_mu(time, mu, window) || time == end_time {
                break;
            }
            let min_time = time.wrapping_add(((mu - acc.bound) * window as f64) as i64);
            let t1 = self.next(left, time);
            let t2 = self
                .next(right, time.wrapping_add(window))
                .wrapping_sub(window);
            time = if t1 < t2 { t1 } else { t2 };
            if time < min_time {
                time = min_time;
            }
            if time >= end_time {
                time = end_time;
            }
        }
        Ok(())
    }
}

/// Go's `math.Min` (NaN wins; -0 is below +0).
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

/// Go's `math.Max` (NaN wins; +0 is above -0).
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else if x > y {
        x
    } else {
        y
    }
}

// Go's container/heap (same sift steps, so the same order among equal keys).

fn heap_down<T>(h: &mut [T], i0: usize, n: usize, less: fn(&T, &T) -> bool) -> bool {
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(&h[j2], &h[j1]) {
            j = j2;
        }
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

fn heap_up<T>(h: &mut [T], mut j: usize, less: fn(&T, &T) -> bool) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_init<T>(h: &mut [T], less: fn(&T, &T) -> bool) {
    let n = h.len();
    for i in (0..n / 2).rev() {
        heap_down(h, i, n, less);
    }
}

fn heap_push<T>(h: &mut Vec<T>, x: T, less: fn(&T, &T) -> bool) {
    h.push(x);
    let n = h.len();
    heap_up(h, n - 1, less);
}

fn heap_pop<T>(h: &mut Vec<T>, less: fn(&T, &T) -> bool) -> Option<T> {
    let n = h.len().checked_sub(1)?;
    h.swap(0, n);
    heap_down(h, 0, n, less);
    h.pop()
}

fn heap_remove<T>(h: &mut Vec<T>, i: usize, less: fn(&T, &T) -> bool) -> Option<T> {
    let n = h.len().checked_sub(1)?;
    if n != i {
        h.swap(i, n);
        if !heap_down(h, i, n, less) {
            heap_up(h, i, less);
        }
    }
    h.pop()
}

/// MMU values of a trace for several windows, with the size of the utilization function.
#[derive(Debug, Clone, PartialEq)]
pub struct MmuResult {
    /// Number of utilization series.
    pub series: usize,
    /// Number of points over all series.
    pub util_points: usize,
    /// One value per window; `None` when the utilization function is empty.
    pub mmu: Vec<Option<f64>>,
}

/// Utilization function (with `flags`) → curve → MMU at each window, as the oracle does.
pub fn trace_mmu(trace: &Trace, flags: u32, windows: &[i64]) -> Result<MmuResult> {
    let util = mutator_utilization(trace, flags)?;
    let series = util.len();
    let util_points = util.iter().map(Vec::len).sum();
    if series == 0 {
        return Ok(MmuResult {
            series,
            util_points,
            mmu: vec![None; windows.len()],
        });
    }
    let curve = MmuCurve::new(util)?;
    let mmu = windows
        .iter()
        .map(|&w| curve.mmu(w).map(Some))
        .collect::<Result<_>>()?;
    Ok(MmuResult {
        series,
        util_points,
        mmu,
    })
}

/// Go's `MMUCurve.Examples` for a trace: the `n` worst windows of `window` ns, lowest
/// utilization first (empty if the utilization function is).
pub fn trace_worst_windows(
    trace: &Trace,
    flags: u32,
    window: i64,
    n: usize,
) -> Result<Vec<UtilWindow>> {
    let util = mutator_utilization(trace, flags)?;
    if util.is_empty() {
        return Ok(Vec::new());
    }
    MmuCurve::new(util)?.examples(window, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mu(time: i64, util: f64) -> MutatorUtil {
        MutatorUtil { time, util }
    }

    /// Go's `aeq`: equal to 8 digits.
    fn aeq(x: f64, y: f64) -> bool {
        let (x, y) = if x < 0.0 && y < 0.0 { (-x, -y) } else { (x, y) };
        let factor = 1.0 - 10f64.powi(-7);
        x * factor <= y && y * factor <= x
    }

    /// Go's TestMMU: a square wave 1,0,1,0,1 over 5 s.
    #[test]
    fn square_wave() {
        let util = vec![vec![
            mu(0, 1.0),
            mu(1_000_000_000, 0.0),
            mu(2_000_000_000, 1.0),
            mu(3_000_000_000, 0.0),
            mu(4_000_000_000, 1.0),
            mu(5_000_000_000, 0.0),
        ]];
        let curve = MmuCurve::new(util).unwrap();
        let s = 1_000_000_000i64;
        let cases: [(i64, f64, &[f64]); 8] = [
            (0, 0.0, &[]),
            (1_000_000, 0.0, &[0.0, 0.0]),
            (s, 0.0, &[0.0, 0.0]),
            (2 * s, 0.5, &[0.5, 0.5]),
            (3 * s, 1.0 / 3.0, &[1.0 / 3.0]),
            (4 * s, 0.5, &[0.5]),
            (5 * s, 3.0 / 5.0, &[3.0 / 5.0]),
            (6 * s, 3.0 / 5.0, &[3.0 / 5.0]),
        ];
        for (window, want, worst) in cases {
            let got = curve.mmu(window).unwrap();
            assert!(aeq(want, got), "window {window}: want {want}, got {got}");
            let ex: Vec<f64> = curve
                .examples(window, 2)
                .unwrap()
                .iter()
                .map(|w| w.mu)
                .collect();
            assert_eq!(ex, worst, "window {window}");
            assert_eq!(curve.mud(window, &[0.0, 0.5]).unwrap(), vec![got, got]);
        }
    }

    /// Go's `mmuSlow`: every window with an edge on a change, both alignments.
    fn mmu_slow(util: &[MutatorUtil], window: i64) -> f64 {
        let window = window.min(util[util.len() - 1].time - util[0].time);
        let mut mmu = 1.0f64;
        let mu_in_window = |util: &[MutatorUtil], end: i64| {
            let mut total = 0.0;
            let mut prev = mu(0, 0.0);
            for u in util {
                if u.time > end {
                    total += prev.util * (end - prev.time) as f64;
                    break;
                }
                total += prev.util * (u.time - prev.time) as f64;
                prev = *u;
            }
            total / (end - util[0].time) as f64
        };
        let mut update = |util: &[MutatorUtil]| {
            for (i, u) in util.iter().enumerate() {
                if u.time + window > util[util.len() - 1].time {
                    break;
                }
                mmu = go_min(mmu, mu_in_window(&util[i..], u.time + window));
            }
        };
        update(util);
        assert_eq!(util[util.len() - 1].util, 0.0);
        let n = util.len();
        let mut rev = vec![mu(0, 0.0); n];
        for (i, u) in util.iter().enumerate() {
            let prev = if i == 0 { 0.0 } else { util[i - 1].util };
            rev[n - i - 1] = mu(-u.time, prev);
        }
        update(&rev);
        mmu
    }

    /// A deterministic pseudo-random step function ending in 0.
    fn random_util(seed: u64, n: usize) -> Vec<MutatorUtil> {
        let mut x = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut t = 1_000_000i64;
        let mut out = Vec::new();
        for i in 0..n {
            let u = if i + 1 == n {
                0.0
            } else {
                (next() % 9) as f64 / 8.0
            };
            add_util(&mut out, mu(t, u));
            t += 1 + (next() % 3_000_000) as i64;
        }
        out
    }

    #[test]
    fn matches_brute_force() {
        for seed in 1..40u64 {
            let util = random_util(seed * 7919, 50 + (seed as usize * 37) % 400);
            for bands in [BANDS_PER_SERIES, 1, 7] {
                let curve = MmuCurve::with_bands(vec![util.clone()], bands).unwrap();
                let mut w = 1i64;
                while w < 10_000_000_000 {
                    let want = mmu_slow(&util, w);
                    let got = curve.mmu(w).unwrap();
                    assert!(
                        aeq(want, got) || (want - got).abs() < 1e-12,
                        "seed {seed} bands {bands} window {w}: want {want}, got {got}"
                    );
                    w *= 10;
                }
            }
        }
    }

    #[test]
    fn examples_lowest_first() {
        for seed in 1..20u64 {
            let util = random_util(seed * 104729, 300);
            let curve = MmuCurve::new(vec![util]).unwrap();
            for w in [1_000i64, 1_000_000, 30_000_000] {
                let ex = curve.examples(w, 5).unwrap();
                assert!(!ex.is_empty() && ex.len() <= 5);
                assert_eq!(ex[0].mu, curve.mmu(w).unwrap());
                assert!(ex.windows(2).all(|p| p[0].mu <= p[1].mu));
            }
        }
    }

    /// A trace built event by event (context g/p, kind, name, resource kind/id, states).
    struct Builder(Trace);

    impl Builder {
        fn new() -> Self {
            Builder(Trace::default())
        }

        #[allow(clippy::too_many_arguments)]
        fn ev(
            &mut self,
            time: i64,
            kind: EventKind,
            g: i64,
            p: i64,
            name: &str,
            res_kind: u8,
            arg: i64,
            states: (u8, u8),
        ) -> &mut Self {
            let name = self.0.strings.intern(name.as_bytes());
            self.0.events.push(&crate::store::Row {
                time,
                kind: kind as u8,
                g,
                p,
                m: -1,
                name,
                res_kind,
                arg,
                from: states.0,
                to: states.1,
                ..Default::default()
            });
            self
        }

        fn sync(&mut self, time: i64, n: i64) -> &mut Self {
            self.ev(time, EventKind::Sync, -1, -1, "", 0, n, (0, 0))
        }

        fn gomaxprocs(&mut self, time: i64, n: i64) -> &mut Self {
            self.ev(
                time,
                EventKind::Metric,
                -1,
                -1,
                "/sched/gomaxprocs:threads",
                0,
                n,
                (0, 0),
            )
        }

        fn range(&mut self, time: i64, kind: EventKind, g: i64, p: i64, name: &str) -> &mut Self {
            self.ev(time, kind, g, p, name, resource::GOROUTINE, g, (0, 0))
        }

        fn go(&mut self, time: i64, g: i64, p: i64, from: u8, to: u8) -> &mut Self {
            self.ev(
                time,
                EventKind::StateTransition,
                g,
                p,
                "",
                resource::GOROUTINE,
                g,
                (from, to),
            )
        }
    }

    fn points(u: &[MutatorUtil]) -> Vec<(i64, f64)> {
        u.iter().map(|m| (m.time, m.util)).collect()
    }

    /// GOMAXPROCS going up and down between 1 and a large count: the Ps Go would add
    /// are counted over all increases, and past the budget the MMU is an error, before
    /// the series are built (the alternation below would otherwise make 2^26 series).
    #[test]
    fn gomaxprocs_growth_is_bounded() {
        let mut b = Builder::new();
        b.sync(0, 1);
        for i in 0..64 {
            b.gomaxprocs(10 + 2 * i, 1).gomaxprocs(11 + 2 * i, 1 << 20);
        }
        let t = std::time::Instant::now();
        let e = mutator_utilization(&b.0, UTIL_DEFAULT | UTIL_PER_PROC).unwrap_err();
        assert!(e.0.contains("is too large"), "{e:?}");
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
        // Up to the budget itself, the series are Go's: one per P ever added.
        let mut b = Builder::new();
        b.sync(0, 1)
            .gomaxprocs(10, 4)
            .gomaxprocs(11, 1)
            .gomaxprocs(12, 3);
        let u = mutator_utilization(&b.0, UTIL_DEFAULT | UTIL_PER_PROC).unwrap();
        assert_eq!(u.len(), 4 + 2);
        let mut b = Builder::new();
        b.sync(0, 1).gomaxprocs(10, MAX_GOMAXPROCS_GROWTH);
        assert_eq!(
            mutator_utilization(&b.0, UTIL_DEFAULT).unwrap().len(),
            1,
            "the budget itself is allowed"
        );
        b.gomaxprocs(11, 1).gomaxprocs(12, 2);
        assert!(
            mutator_utilization(&b.0, UTIL_DEFAULT).is_err(),
            "one P more"
        );
    }

    #[test]
    fn utilization_of_hand_built_trace() {
        use gostate::{RUNNABLE, RUNNING, WAITING};
        let mut b = Builder::new();
        b.sync(0, 1)
            .gomaxprocs(10, 2)
            .range(
                20,
                EventKind::RangeBegin,
                1,
                0,
                "stop-the-world (GC sweep termination)",
            )
            .range(
                30,
                EventKind::RangeEnd,
                1,
                0,
                "stop-the-world (GC sweep termination)",
            )
            // Not a GC stop: ignored.
            .range(
                32,
                EventKind::RangeBegin,
                1,
                0,
                "stop-the-world (write heap dump)",
            )
            .range(
                34,
                EventKind::RangeEnd,
                1,
                0,
                "stop-the-world (write heap dump)",
            )
            .go(35, 5, 0, RUNNABLE, RUNNING)
            .ev(
                40,
                EventKind::Label,
                5,
                0,
                "GC (dedicated)",
                resource::GOROUTINE,
                5,
                (0, 0),
            )
            .go(50, 5, 0, RUNNING, WAITING)
            .go(55, 5, 1, WAITING, RUNNING)
            .go(58, 5, 1, RUNNING, WAITING)
            .range(60, EventKind::RangeBegin, 7, 1, "GC mark assist")
            .range(70, EventKind::RangeEnd, 7, 1, "GC mark assist")
            .range(80, EventKind::RangeBegin, 7, 0, "GC incremental sweep")
            .range(90, EventKind::RangeEnd, 7, 0, "GC incremental sweep")
            .sync(100, 2);
        let t = &b.0;
        let u = mutator_utilization(t, UTIL_DEFAULT).unwrap();
        assert_eq!(
            points(&u[0]),
            vec![
                (10, 1.0),
                (20, 0.0),
                (30, 1.0),
                (40, 0.5),
                (50, 1.0),
                (55, 0.5),
                (58, 1.0),
                (60, 0.5),
                (70, 1.0),
                (100, 0.0)
            ]
        );
        let u = mutator_utilization(t, UTIL_DEFAULT | UTIL_SWEEP).unwrap();
        assert_eq!(&points(&u[0])[9..], &[(80, 0.5), (90, 1.0), (100, 0.0)]);
        // Without the flags, nothing counts.
        let u = mutator_utilization(t, 0).unwrap();
        assert_eq!(points(&u[0]), vec![(10, 1.0), (100, 0.0)]);
        // Per P: P0 has the STW, the dedicated worker and the sweep; P1 the assist.
        let u = mutator_utilization(t, UTIL_STW | UTIL_ASSIST | UTIL_PER_PROC).unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(
            points(&u[0]),
            vec![(10, 1.0), (20, 0.0), (30, 1.0), (100, 0.0)]
        );
        assert_eq!(
            points(&u[1]),
            vec![
                (10, 1.0),
                (20, 0.0),
                (30, 1.0),
                (60, 0.0),
                (70, 1.0),
                (100, 0.0)
            ]
        );
        let r = trace_mmu(t, UTIL_DEFAULT, &[5, 10, 90]).unwrap();
        assert_eq!((r.series, r.util_points), (1, 10));
        assert_eq!(r.mmu[0], Some(0.0));
        assert_eq!(r.mmu[1], Some(0.0));
        // 90 ns from 10: 10*1 + 10*0 + 10*1 + 10*.5 + 5*1 + 3*.5 + 2*1 + 10*.5 + 30*1 = 68.5
        assert!((r.mmu[2].unwrap() - 68.5 / 90.0).abs() < 1e-12);
    }

    #[test]
    fn range_active_since_the_start_is_taken_off_the_past() {
        use gostate::{RUNNABLE, RUNNING};
        let mut b = Builder::new();
        b.sync(0, 1)
            .gomaxprocs(10, 4)
            .go(15, 3, 0, RUNNABLE, RUNNING)
            .range(20, EventKind::RangeActive, 3, 0, "GC mark assist")
            .range(30, EventKind::RangeEnd, 3, 0, "GC mark assist")
            .sync(40, 2)
            // In a later generation RangeActive repeats what is known: ignored.
            .range(50, EventKind::RangeActive, 3, 0, "GC mark assist")
            .sync(60, 3);
        let u = mutator_utilization(&b.0, UTIL_DEFAULT).unwrap();
        assert_eq!(points(&u[0]), vec![(10, 0.75), (30, 1.0), (60, 0.0)]);
    }

    #[test]
    fn go_panics_become_errors() {
        let mut b = Builder::new();
        b.sync(0, 1)
            .gomaxprocs(10, 2)
            .range(20, EventKind::RangeBegin, 3, -1, "GC mark assist")
            .sync(30, 2);
        let e = mutator_utilization(&b.0, UTIL_DEFAULT).unwrap_err();
        assert_eq!(e.0, "runtime error: index out of range [-1] with length 2");
        // Not counted, so not looked at.
        assert!(mutator_utilization(&b.0, UTIL_STW).is_ok());
        // No GOMAXPROCS metric: no function at all.
        let mut b = Builder::new();
        b.sync(0, 1).sync(30, 2);
        assert!(mutator_utilization(&b.0, UTIL_DEFAULT).unwrap().is_empty());
        assert!(mutator_utilization(&Trace::default(), UTIL_DEFAULT)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn single_point_series_is_an_error_like_go() {
        let curve = MmuCurve::new(vec![vec![mu(5, 0.0)]]).unwrap();
        assert!(curve.mmu(1000).is_err());
        assert_eq!(curve.mmu(0).unwrap(), 0.0);
    }

    #[test]
    fn no_series_gives_one() {
        let curve = MmuCurve::new(Vec::new()).unwrap();
        assert_eq!(curve.mmu(1_000_000).unwrap(), 1.0);
    }

    #[test]
    fn add_util_rules() {
        let mut u = Vec::new();
        add_util(&mut u, mu(1, 1.0));
        add_util(&mut u, mu(2, 1.0));
        add_util(&mut u, mu(3, 0.5));
        add_util(&mut u, mu(3, 0.75));
        add_util(&mut u, mu(3, 0.25));
        assert_eq!(u, vec![mu(1, 1.0), mu(3, 0.25)]);
    }

    #[test]
    fn heap_pops_in_order() {
        let mut h: Vec<BandBound> = [0.5, 0.1, 0.9, 0.1, 0.3]
            .iter()
            .enumerate()
            .map(|(i, &b)| BandBound {
                series: 0,
                band: i,
                bound: b,
            })
            .collect();
        heap_init(&mut h, bound_less);
        let mut got = Vec::new();
        while let Some(top) = heap_pop(&mut h, bound_less) {
            got.push(top.bound);
        }
        assert_eq!(got, vec![0.1, 0.1, 0.3, 0.5, 0.9]);
    }
}
