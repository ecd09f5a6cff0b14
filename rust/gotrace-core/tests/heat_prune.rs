//! The streaming goroutine heatmap with `top` drops the rows of ended goroutines that can
//! no longer reach the top (`analysis::heat`'s `Prune`): the result equals the one that
//! keeps every row, on every corpus trace and generated schedules; a goroutine ID that
//! comes back after being dropped is reported, so the caller can stream again.

use std::path::PathBuf;

use gotrace_core::analysis::heat::{
    set_prune_min, By, HeatResult, HeatSpec, HeatStream, Sort, Value,
};
use gotrace_core::binning::uniform_edges;
use gotrace_core::store::gostate;
use gotrace_core::wire::spec::*;
use gotrace_core::{parse, Trace};

mod common;
use common::{ev, one_gen_trace, random_sched, shared, NONE};

fn specs(t: &Trace) -> Vec<HeatSpec> {
    let (t0, t1) = match (t.events.time.first(), t.events.time.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0, 1),
    };
    let spec = |bins, states: &[u8], value, top, sort| HeatSpec {
        by: By::Goroutine,
        states: states.to_vec(),
        value,
        edges: uniform_edges(t0, t1, bins),
        top: Some(top),
        sort,
    };
    use gostate::*;
    vec![
        spec(100, &[RUNNING], Value::Time, 10, Sort::Total),
        spec(37, &[RUNNING, SYSCALL], Value::Fraction, 1, Sort::Total),
        spec(64, &[WAITING], Value::Count, 7, Sort::First),
        spec(50, &[RUNNABLE], Value::Time, 3, Sort::Id),
        spec(20, &[RUNNING], Value::Time, 0, Sort::Total),
    ]
}

/// The streaming heatmap of `t`, pruning or not.
fn stream(t: &Trace, spec: &HeatSpec, prune: bool) -> (HeatResult, bool) {
    let mut h = HeatStream::new(t.version, spec.clone());
    if !prune {
        h = h.without_pruning();
    }
    h.feed(t);
    let conflict = h.conflicted();
    (h.finish(t), conflict)
}

fn assert_same(t: &Trace, what: &str) {
    for spec in specs(t) {
        let (a, conflict) = stream(t, &spec, true);
        let (b, _) = stream(t, &spec, false);
        let what = format!("{what} {:?} top {:?} {:?}", spec.value, spec.top, spec.sort);
        assert!(!conflict, "{what}: conflict");
        assert_eq!(a.matrix.row_ids, b.matrix.row_ids, "{what}: rows");
        assert_eq!(a.matrix.names, b.matrix.names, "{what}: names");
        assert_eq!(a.matrix.other, b.matrix.other, "{what}: other");
        assert_eq!(a.matrix.values, b.matrix.values, "{what}: values");
    }
}

#[test]
fn pruned_rows_change_nothing() {
    set_prune_min(Some(1));
    for seed in 1..=60 {
        assert_same(
            &parse(&random_sched(seed)),
            &format!("random_sched({seed})"),
        );
    }
    let Some(shared) = shared() else { return };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus/traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    paths.sort();
    assert!(paths.len() > 10);
    for p in paths {
        let t = parse(&std::fs::read(&p).unwrap());
        assert_same(&t, &p.file_name().unwrap().to_string_lossy());
    }
}

/// Goroutine 5 runs 5 ns and ends, so that with `top = 1` it is dropped behind goroutine
/// 1; then a new goroutine 5 is created (Go's reader accepts that) and runs 680 ns, which
/// puts the ID first once both lives are counted.
pub fn reused_id_trace() -> Vec<u8> {
    let evs = vec![
        ev(100, EV_PROC_STATUS, &[0, 1]),
        ev(100, EV_GO_STATUS, &[1, NONE, 1]),
        ev(110, EV_GO_START, &[1, 1]),
        ev(120, EV_GO_CREATE, &[5, 0, 0]),
        ev(200, EV_GO_STOP, &[1, 0]),
        ev(210, EV_GO_START, &[5, 1]),
        ev(215, EV_GO_DESTROY, &[]),
        ev(220, EV_GO_START, &[1, 2]),
        ev(300, EV_GO_CREATE, &[5, 0, 0]),
        ev(310, EV_GO_STOP, &[1, 0]),
        ev(320, EV_GO_START, &[5, 1]),
        ev(1000, EV_GO_STOP, &[1, 0]),
    ];
    one_gen_trace(26, &[(1, b"yield")], &[], &[(1, evs)])
}

#[test]
fn a_dropped_goroutine_coming_back_is_reported() {
    set_prune_min(Some(1));
    let t = parse(&reused_id_trace());
    assert!(t.error.is_none(), "{:?}", t.error);
    let spec = &specs(&t)[0];
    let spec = HeatSpec {
        top: Some(1),
        ..spec.clone()
    };
    let (_, conflict) = stream(&t, &spec, true);
    assert!(conflict);
    let (b, conflict) = stream(&t, &spec, false);
    assert!(!conflict);
    assert_eq!(b.matrix.row_ids, [5, -1]);
    let bins = b.matrix.bins;
    let row = |r: usize| {
        b.matrix.values[r * bins..(r + 1) * bins]
            .iter()
            .sum::<f64>()
    };
    assert_eq!((row(0), row(1)), (685.0, 180.0));

    // The Python tests' copy (`tests/data/reused-goroutine-id.trace`);
    // `GOTRACE_WRITE_FIXTURES=1` writes it again.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/reused-goroutine-id.trace");
    if std::env::var_os("GOTRACE_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, reused_id_trace()).unwrap();
    }
    assert!(std::fs::read(&path).unwrap() == reused_id_trace());
}

/// Goroutine rows are binned from a tracker of goroutines alone; the general tracker
/// (procs, threads and every interval field) gives the same matrix, for every kind of
/// goroutine row, state, value and order.
#[test]
fn goroutine_tracker_equals_the_general_one() {
    let check = |t: &Trace, what: &str| {
        let (t0, t1) = match (t.events.time.first(), t.events.time.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 1),
        };
        use gostate::*;
        let all = [RUNNING, RUNNABLE, WAITING, SYSCALL];
        for (by, states, value, top, sort) in [
            (
                By::Goroutine,
                &[RUNNING][..],
                Value::Time,
                Some(30),
                Sort::Total,
            ),
            (By::Goroutine, &all[..], Value::Count, None, Sort::First),
            (
                By::Function,
                &[RUNNABLE, SYSCALL][..],
                Value::Fraction,
                Some(5),
                Sort::Id,
            ),
            (By::State, &all[..], Value::Time, None, Sort::Total),
            (
                By::Reason,
                &[WAITING][..],
                Value::Time,
                Some(3),
                Sort::Total,
            ),
        ] {
            let spec = HeatSpec {
                by,
                states: states.to_vec(),
                value,
                edges: uniform_edges(t0, t1, 77),
                top,
                sort,
            };
            let run = |general: bool| {
                let mut h = HeatStream::new(t.version, spec.clone());
                if general {
                    h = h.with_general_tracker(t.version);
                }
                h.feed(t);
                h.finish(t)
            };
            let (a, b) = (run(false), run(true));
            let what = format!("{what} {by:?} {states:?} {value:?}");
            assert_eq!(a.matrix.row_ids, b.matrix.row_ids, "{what}: rows");
            assert_eq!(a.matrix.names, b.matrix.names, "{what}: names");
            assert_eq!(a.matrix.other, b.matrix.other, "{what}: other");
            assert_eq!(a.matrix.values, b.matrix.values, "{what}: values");
            assert_eq!((a.start, a.end), (b.start, b.end), "{what}: extent");
        }
    };
    for seed in 1..=40 {
        check(
            &parse(&random_sched(seed)),
            &format!("random_sched({seed})"),
        );
    }
    let Some(shared) = shared() else { return };
    for e in std::fs::read_dir(shared.join("corpus/traces")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "trace") {
            check(
                &parse(&std::fs::read(&p).unwrap()),
                &p.display().to_string(),
            );
        }
    }
}
