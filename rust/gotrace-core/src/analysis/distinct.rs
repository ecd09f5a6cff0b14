//! The distinct goroutine, proc and thread IDs of a trace (the oracle's `distinct_ids`),
//! gathered chunk by chunk so that a streaming analysis needs no event table: an ID
//! counts if it is an event's execution context (`g`, `p`, `m` other than -1) or the
//! resource of a state transition, label or range scope.

use super::idmap::IdMap;
use crate::store::{resource, EventKind, Events, IdCol};

/// One [`IdMap`] used as a set per resource kind.
#[derive(Default, Debug)]
pub struct DistinctIds {
    goroutines: IdMap<()>,
    procs: IdMap<()>,
    threads: IdMap<()>,
}

/// Inserts the values of `col` other than -1; runs of one value (most events keep their
/// context) cost one comparison each.
fn add_col(set: &mut IdMap<()>, col: &IdCol) {
    let mut last = -1i64;
    for v in col.iter() {
        if v != last && v != -1 {
            set.insert(v, ());
        }
        last = v;
    }
}

impl DistinctIds {
    /// Adds the IDs named by every row of `ev`.
    pub fn add(&mut self, ev: &Events) {
        add_col(&mut self.goroutines, &ev.g);
        add_col(&mut self.procs, &ev.p);
        add_col(&mut self.threads, &ev.m);
        for (i, (&k, &r)) in ev.kind.iter().zip(ev.res_kind.iter()).enumerate() {
            let named = k == EventKind::StateTransition as u8
                || k == EventKind::Label as u8
                || (EventKind::RangeBegin as u8..=EventKind::RangeEnd as u8).contains(&k);
            let set = match r {
                resource::GOROUTINE => &mut self.goroutines,
                resource::PROC => &mut self.procs,
                resource::THREAD => &mut self.threads,
                _ => continue,
            };
            if named {
                set.insert(ev.arg.get(i), ());
            }
        }
    }

    /// The sorted distinct IDs: goroutines, procs, threads.
    pub fn into_sorted(self) -> [Vec<i64>; 3] {
        let ids = |m: IdMap<()>| m.into_sorted().into_iter().map(|(id, _)| id).collect();
        [ids(self.goroutines), ids(self.procs), ids(self.threads)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Row;

    #[test]
    fn contexts_and_named_resources_count_other_arguments_do_not() {
        let row = |kind: EventKind, g, p, m, res_kind, arg| Row {
            kind: kind as u8,
            g,
            p,
            m,
            res_kind,
            arg,
            ..Row::default()
        };
        let mut ev = Events::with_capacity(8);
        let st = EventKind::StateTransition;
        for r in [
            row(EventKind::Sync, -1, -1, -1, 0, 1),
            row(st, 1, 0, 7, resource::GOROUTINE, 5),
            row(st, 1, 0, 7, resource::GOROUTINE, 1),
            row(st, -1, -1, 8, resource::PROC, 3),
            row(EventKind::Label, 2, 1, 7, resource::GOROUTINE, 9),
            row(EventKind::RangeBegin, 2, 1, 7, resource::THREAD, 1 << 40),
            row(EventKind::RangeEnd, 2, 1, 7, resource::NONE, 0),
            // A metric's value and a task's ID are not resources.
            row(EventKind::Metric, 1 << 33, 1, 7, 0, 11),
            row(EventKind::TaskBegin, 2, 1, 7, resource::GOROUTINE, 12),
        ] {
            ev.push(&r);
        }
        let mut d = DistinctIds::default();
        d.add(&ev);
        let [g, p, m] = d.into_sorted();
        assert_eq!(g, [1, 2, 5, 9, 1 << 33]);
        assert_eq!(p, [0, 1, 3]);
        assert_eq!(m, [7, 8, 1 << 40]);
    }
}
