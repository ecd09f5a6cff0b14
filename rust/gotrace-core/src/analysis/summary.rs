//! One pass over the ordered events computing the state intervals, Go's per-goroutine
//! summary and the range sums.

use super::intervals::{GoTransition, StateIntervals, Tracker};
use super::ranges::{RangeSummary, RangeTracker};
use super::summarizer::{Ev, GoroutineSummary, Names, Summarizer, TaskSummary};
use crate::store::{resource, EventKind, Trace, NO_TASK};

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

/// Analyses the events of `trace` (in their order) in one pass.
pub fn analyze(trace: &Trace) -> Analysis {
    let ev = &trace.events;
    let n = ev.len();
    let v1 = trace.version > 0 && trace.version < 22;
    let (mut n_go, mut n_proc) = (0usize, 0usize);
    for (&k, &r) in ev.kind.iter().zip(ev.res_kind.iter()) {
        if k == EventKind::StateTransition as u8 {
            n_go += (r == resource::GOROUTINE) as usize;
            n_proc += (r == resource::PROC) as usize;
        }
    }
    let mut tracker = Tracker::with_capacity(v1, n_go, n_proc);
    let mut summ = Summarizer::new();
    let mut ranges = RangeTracker::default();
    const SYNC: u8 = EventKind::Sync as u8;
    const ST: u8 = EventKind::StateTransition as u8;
    const RB: u8 = EventKind::RangeBegin as u8;
    const RE: u8 = EventKind::RangeEnd as u8;
    const REG_B: u8 = EventKind::RegionBegin as u8;
    const REG_E: u8 = EventKind::RegionEnd as u8;
    const TASK_B: u8 = EventKind::TaskBegin as u8;
    const TASK_E: u8 = EventKind::TaskEnd as u8;
    const LOG: u8 = EventKind::Log as u8;
    for i in 0..n {
        let t = ev.time[i];
        let kind = ev.kind[i];
        tracker.event_time(t);
        let e = Ev {
            time: t,
            kind,
            g: ev.g[i],
            p: ev.p[i],
            stack: ev.stack[i],
            res_kind: ev.res_kind[i],
            from: ev.from[i],
            to: ev.to[i],
            arg: ev.arg[i],
            name: ev.name[i],
            aux: ev.aux[i],
        };
        match kind {
            SYNC => tracker.sync(t),
            ST => {
                if e.res_kind == resource::GOROUTINE {
                    tracker.go_transition(&GoTransition {
                        id: e.arg,
                        from: e.from,
                        to: e.to,
                        time: t,
                        reason: e.name,
                        stack: e.aux,
                        ctx_g: e.g,
                        ctx_p: e.p,
                        ctx_m: ev.m[i],
                        ctx_stack: e.stack,
                    });
                } else if e.res_kind == resource::PROC {
                    tracker.proc_transition(e.arg, e.from, e.to, t, ev.m[i]);
                }
            }
            RB..=RE => {
                let attrs = if kind == RE && e.aux > 0 {
                    trace.range_attrs.get(e.aux as usize - 1).copied()
                } else {
                    None
                };
                ranges.event(
                    kind,
                    t,
                    e.name,
                    trace.strings.get(e.name),
                    e.res_kind,
                    e.arg,
                    attrs,
                );
            }
            _ => {}
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
    let end = if n > 0 { ev.time[n - 1] } else { 0 };
    let (goroutines, tasks) = summ.finish(trace);
    Analysis {
        states: tracker.finish(end),
        goroutines,
        tasks,
        ranges: ranges.finish(end, |id| trace.strings.get(id).to_vec()),
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
        assert_eq!(iv.open.iter().filter(|&&o| o).count(), 2);
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
