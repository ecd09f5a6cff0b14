//! One pass over the ordered events computing the state intervals, Go's per-goroutine
//! summary and the range sums.

use super::intervals::{GoTransition, IntervalSink, StateIntervals, StoredIntervals, Tracker};
use super::ranges::{RangeSummary, RangeTracker};
use super::summarizer::{Ev, GoNames, GoroutineSummary, Names, Summarizer, TaskSummary};
use crate::store::{resource, Columns, EventKind, Trace, NO_TASK};

/// Everything [`analyze`] computes.
#[derive(Default, Debug)]
pub struct Analysis {
    pub states: StateIntervals,
    pub goroutines: Vec<GoroutineSummary>,
    pub tasks: Vec<TaskSummary>,
    pub ranges: RangeSummary,
}

impl Names for Trace {
    fn string(&self, id: u32) -> &[u8] {
        self.strings.get(id)
    }

    fn root_frame(&self, stack: u32) -> Option<(u32, u64)> {
        let f = *self.stacks.frames_of(stack).last()?;
        let fr = &self.stacks.frames[f as usize];
        Some((fr.func, fr.pc))
    }
}

/// Analyses the events of `trace` (in their order) in one pass; on a large trace and more
/// than one core, the state intervals and the summaries are computed side by side.
pub fn analyze(trace: &Trace) -> Analysis {
    analyze_with(trace, 0)
}

/// Events from which [`analyze`] uses a second thread by default.
const PARALLEL_EVENTS: usize = 1 << 16;

/// [`analyze`] on up to `threads` threads (the result never depends on it): 0 = two if
/// the trace is large and there is more than one core (or `RAYON_NUM_THREADS` allows it,
/// as for the parse), 1 = the calling thread only.
pub fn analyze_with(trace: &Trace, threads: usize) -> Analysis {
    let (states, s) = analyze_then(trace, threads, |s| s, |s| s);
    Analysis {
        states,
        goroutines: s.goroutines,
        tasks: s.tasks,
        ranges: s.ranges,
    }
}

/// The summaries of [`analyze`]: everything but the state intervals.
#[derive(Default, Debug)]
pub struct Summaries {
    pub goroutines: Vec<GoroutineSummary>,
    pub tasks: Vec<TaskSummary>,
    pub ranges: RangeSummary,
}

/// [`analyze_with`], handing the state intervals to `states` and the summaries to
/// `summaries` (e.g. to turn them into columns) on the thread that computed them: the
/// state tracker and the summarizer share nothing, so with two threads each makes its own
/// pass over the events.
pub fn analyze_then<A: Send, B: Send>(
    trace: &Trace,
    threads: usize,
    states: impl FnOnce(StateIntervals) -> A + Send,
    summaries: impl FnOnce(Summaries) -> B + Send,
) -> (A, B) {
    let threads = match threads {
        0 if trace.events.len() < PARALLEL_EVENTS => 1,
        0 => crate::ParseOptions::default().thread_count(),
        n => n,
    };
    let Analyzer {
        mut tracker,
        mut summ,
        mut ranges,
        ..
    } = Analyzer::for_trace(trace);
    let ev = &trace.events;
    let end = ev.time.last().copied().unwrap_or(0);
    let states = move || {
        for i in 0..ev.len() {
            track(&mut tracker, ev, i);
        }
        states(tracker.finish(end))
    };
    let summaries = move || {
        summarize(&mut summ, Some(&mut ranges), trace);
        let (goroutines, tasks, ranges) = finish_summaries(summ, ranges, end, trace);
        summaries(Summaries {
            goroutines,
            tasks,
            ranges,
        })
    };
    if threads > 1 {
        std::thread::scope(|s| {
            let h = s.spawn(summaries);
            let a = states();
            let b = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (a, b)
        })
    } else {
        (states(), summaries())
    }
}

/// The one-pass analysis of [`analyze`], fed the events in order in any number of chunks
/// (e.g. a generation at a time, see [`crate::reader::Hook`]); closed state intervals go
/// to the sink `S`.
pub struct Analyzer<S = StoredIntervals> {
    tracker: Tracker<S>,
    summ: Summarizer,
    ranges: RangeTracker,
    /// Time of the last event fed.
    end: i64,
}

impl Analyzer {
    /// An analyzer keeping every interval, sized for the events of `trace`.
    pub fn for_trace(trace: &Trace) -> Self {
        let ev = &trace.events;
        let (mut n_go, mut n_proc) = (0usize, 0usize);
        for (&k, &r) in ev.kind.iter().zip(ev.res_kind.iter()) {
            if k == EventKind::StateTransition as u8 {
                n_go += (r == resource::GOROUTINE) as usize;
                n_proc += (r == resource::PROC) as usize;
            }
        }
        Analyzer::with_tracker(Tracker::with_capacity(is_v1(trace), n_go, n_proc))
    }

    /// Finishes the analysis (`trace` gives the string and stack tables).
    pub fn finish(self, trace: &Trace) -> Analysis {
        let (goroutines, tasks, ranges) = finish_summaries(self.summ, self.ranges, self.end, trace);
        Analysis {
            states: self.tracker.finish(self.end),
            goroutines,
            tasks,
            ranges,
        }
    }
}

fn finish_summaries(
    summ: Summarizer,
    ranges: RangeTracker,
    end: i64,
    trace: &Trace,
) -> (Vec<GoroutineSummary>, Vec<TaskSummary>, RangeSummary) {
    let (goroutines, tasks) = summ.finish(trace);
    let ranges = ranges.finish(end, |id| trace.strings.get(id).to_vec());
    (goroutines, tasks, ranges)
}

/// The state tracker's part of event `i`.
#[inline]
pub(crate) fn track<S: IntervalSink>(tracker: &mut Tracker<S>, ev: &Columns, i: usize) {
    let t = ev.time[i];
    tracker.event_time(t);
    match ev.kind[i] {
        k if k == EventKind::Sync as u8 => tracker.sync(t),
        k if k == EventKind::StateTransition as u8 => {
            let res = ev.res_kind[i];
            if res == resource::GOROUTINE {
                tracker.go_transition(&GoTransition {
                    id: ev.arg.get(i),
                    from: ev.from[i],
                    to: ev.to[i],
                    time: t,
                    reason: ev.name[i],
                    stack: ev.aux[i],
                    ctx_g: ev.g.get(i),
                    ctx_p: ev.p.get(i),
                    ctx_m: ev.m.get(i),
                    ctx_stack: ev.stack[i],
                });
            } else if res == resource::PROC {
                tracker.proc_transition(ev.arg.get(i), ev.from[i], ev.to[i], t, ev.m.get(i));
            }
        }
        _ => {}
    }
}

/// The range tracker's part of event `i`, a RangeBegin/Active/End.
#[inline]
fn range_event(ranges: &mut RangeTracker, trace: &Trace, i: usize) {
    let ev = &trace.events;
    let (kind, name, aux) = (ev.kind[i], ev.name[i], ev.aux[i]);
    let attrs = if kind == EventKind::RangeEnd as u8 && aux > 0 {
        trace.range_attrs.get(aux as usize - 1).copied()
    } else {
        None
    };
    let scope = (ev.res_kind[i], ev.arg.get(i));
    let name_bytes = trace.strings.get(name);
    ranges.event(kind, ev.time[i], name, name_bytes, scope.0, scope.1, attrs);
}

/// What [`states_of`] computes: the analysis without Go's per-goroutine summaries.
#[derive(Debug)]
pub struct States {
    pub states: StateIntervals,
    pub ranges: RangeSummary,
    /// The goroutines' names by the Summarizer's rule (what heatmaps label rows with).
    pub names: GoNames,
}

/// The state intervals, the ranges and the goroutine names in one pass, without Go's
/// per-goroutine summaries (regions, block and range time by key): what the intervals,
/// heatmaps and scheduling metrics need, at a fraction of the whole analysis' memory.
/// Equal to the same parts of [`analyze`].
pub fn states_of(trace: &Trace) -> States {
    let Analyzer {
        mut tracker,
        mut ranges,
        ..
    } = Analyzer::for_trace(trace);
    let mut names = GoNames::default();
    let ev = &trace.events;
    const ST: u8 = EventKind::StateTransition as u8;
    const RB: u8 = EventKind::RangeBegin as u8;
    const RE: u8 = EventKind::RangeEnd as u8;
    for i in 0..ev.len() {
        track(&mut tracker, ev, i);
        match ev.kind[i] {
            ST if ev.res_kind[i] == resource::GOROUTINE => {
                names.transition(ev.arg.get(i), ev.from[i], ev.to[i], ev.aux[i], trace);
            }
            RB..=RE => range_event(&mut ranges, trace, i),
            _ => {}
        }
    }
    let end = ev.time.last().copied().unwrap_or(0);
    States {
        states: tracker.finish(end),
        ranges: ranges.finish(end, |id| trace.strings.get(id).to_vec()),
        names,
    }
}

/// Go's per-goroutine and task summaries alone (the other part of [`analyze`]).
pub fn summaries_of(trace: &Trace) -> (Vec<GoroutineSummary>, Vec<TaskSummary>) {
    let mut summ = Summarizer::new();
    summarize(&mut summ, None, trace);
    summ.finish(trace)
}

/// The summarizer's and the range tracker's part of every event of `trace.events`.
fn summarize(summ: &mut Summarizer, mut ranges: Option<&mut RangeTracker>, trace: &Trace) {
    let ev = &trace.events;
    const SYNC: u8 = EventKind::Sync as u8;
    const ST: u8 = EventKind::StateTransition as u8;
    const RB: u8 = EventKind::RangeBegin as u8;
    const RE: u8 = EventKind::RangeEnd as u8;
    const REG_B: u8 = EventKind::RegionBegin as u8;
    const REG_E: u8 = EventKind::RegionEnd as u8;
    const TASK_B: u8 = EventKind::TaskBegin as u8;
    const TASK_E: u8 = EventKind::TaskEnd as u8;
    const LOG: u8 = EventKind::Log as u8;
    for i in 0..ev.len() {
        let t = ev.time[i];
        let kind = ev.kind[i];
        let e = Ev {
            time: t,
            kind,
            g: ev.g.get(i),
            p: ev.p.get(i),
            stack: ev.stack[i],
            res_kind: ev.res_kind[i],
            from: ev.from[i],
            to: ev.to[i],
            arg: ev.arg.get(i),
            name: ev.name[i],
            aux: ev.aux[i],
        };
        if (RB..=RE).contains(&kind) {
            if let Some(r) = ranges.as_deref_mut() {
                range_event(r, trace, i);
            }
        }
        if matches!(kind, SYNC | ST | RB..=RE | REG_B | REG_E) {
            summ.event(&e, trace);
        } else if matches!(kind, TASK_B | TASK_E | LOG) {
            summ.note_time(t);
            let parent = if kind == LOG {
                0
            } else {
                trace.u64s.get(e.aux as usize).copied().unwrap_or(NO_TASK)
            };
            summ.task_event(&e, parent);
        } else {
            summ.note_time(t);
        }
    }
}

fn is_v1(trace: &Trace) -> bool {
    trace.version > 0 && trace.version < 22
}

impl<S: IntervalSink> Analyzer<S> {
    /// An analyzer for a trace of header version `version` handing intervals to `sink`.
    pub fn new(version: u32, sink: S) -> Self {
        Analyzer::with_tracker(Tracker::with_sink(version > 0 && version < 22, sink))
    }

    fn with_tracker(tracker: Tracker<S>) -> Self {
        Analyzer {
            tracker,
            summ: Summarizer::new(),
            ranges: RangeTracker::default(),
            end: 0,
        }
    }

    /// Analyses every event of `trace.events` (which continue those fed before).
    pub fn feed(&mut self, trace: &Trace) {
        let ev = &trace.events;
        for i in 0..ev.len() {
            track(&mut self.tracker, ev, i);
        }
        summarize(&mut self.summ, Some(&mut self.ranges), trace);
        if let Some(&t) = ev.time.last() {
            self.end = t;
        }
    }

    /// Finishes the analysis (`trace` gives the string and stack tables): the results
    /// (with empty interval tables) and the sink.
    pub fn finish_sink(self, trace: &Trace) -> (Analysis, S) {
        let (goroutines, tasks, ranges) = finish_summaries(self.summ, self.ranges, self.end, trace);
        let (go_stats, proc_stats, sink) = self.tracker.finish_sink(self.end);
        let a = Analysis {
            states: StateIntervals {
                go_stats,
                proc_stats,
                ..Default::default()
            },
            goroutines,
            tasks,
            ranges,
        };
        (a, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{gostate as gs, procstate as ps, Row};

    #[allow(clippy::too_many_arguments)]
    fn st(t: i64, res: u8, id: i64, from: u8, to: u8, g: i64, p: i64, reason: u32) -> Row {
        Row {
            time: t,
            kind: EventKind::StateTransition as u8,
            g,
            p,
            m: 1,
            res_kind: res,
            from,
            to,
            arg: id,
            name: reason,
            ..Default::default()
        }
    }

    /// Go's Summarizer quirks next to the interval rule on one small stream: time since
    /// the Sync credited to an `Undetermined->X` goroutine, a syscall whose P is lost and
    /// that lasts to the end, and a `forever` wait that ends the goroutine.
    #[test]
    fn summarizer_quirks_and_intervals() {
        let mut tr = Trace {
            version: 26,
            ..Default::default()
        };
        let forever = tr.strings.intern(b"forever");
        let sync = |t| Row {
            time: t,
            kind: EventKind::Sync as u8,
            g: -1,
            p: -1,
            m: -1,
            ..Default::default()
        };
        let (g, p) = (resource::GOROUTINE, resource::PROC);
        for r in [
            sync(100),
            st(140, p, 0, ps::UNDETERMINED, ps::RUNNING, -1, 0, 0),
            st(150, g, 1, gs::UNDETERMINED, gs::RUNNING, 1, 0, 0),
            st(200, g, 1, gs::RUNNING, gs::SYSCALL, 1, 0, 0),
            st(250, p, 0, ps::RUNNING, ps::IDLE, -1, -1, 0),
            st(260, g, 2, gs::NOT_EXIST, gs::RUNNABLE, -1, -1, 0),
            st(270, g, 2, gs::RUNNABLE, gs::RUNNING, -1, 0, 0),
            st(300, g, 2, gs::RUNNING, gs::WAITING, 2, 0, forever),
            sync(400),
        ] {
            tr.events.push(&r);
        }
        let a = analyze(&tr);

        let g1 = &a.goroutines[0];
        assert_eq!((g1.id, g1.creation_time, g1.start_time), (1, 100, 150));
        assert_eq!(g1.stats.exec, 100);
        assert_eq!(g1.stats.syscall, 200); // the whole syscall...
        assert_eq!(g1.stats.sched_wait, 150); // ...and the part without P again
        assert_eq!(g1.stats.syscall_block, 0);
        assert_eq!(g1.stats.total, 300);
        let g2 = &a.goroutines[1];
        assert_eq!((g2.creation_time, g2.end_time), (260, 300));
        assert_eq!(
            (g2.stats.sched_wait, g2.stats.exec, g2.stats.total),
            (10, 30, 40)
        );
        assert!(g2.stats.block_by_reason.is_empty());

        let s = &a.states.go_stats;
        assert_eq!(
            (s[0].running_ns, s[0].syscall_ns, s[0].end_ns),
            (100, 200, None)
        );
        assert_eq!((s[1].runnable_ns, s[1].running_ns), (10, 30));
        assert_eq!(s[1].waiting_ns_by_reason, vec![(forever, 100)]);
        let iv = &a.states.goroutines;
        assert_eq!(iv.open().iter().filter(|&&o| o).count(), 2);
        assert_eq!(iv.open_from(), iv.len() - 2);
        let pr = &a.states.proc_stats[0];
        assert_eq!(
            (pr.running_ns, pr.idle_ns, pr.running_at_end),
            (150, 150, false)
        );
        // Thread 1 ran G1 then (clipped) G2, never overlapping.
        let th = &a.states.threads;
        for w in th.start.windows(2).zip(th.end.windows(2)) {
            assert!(w.0[1] >= w.1[0]);
        }
    }
}
