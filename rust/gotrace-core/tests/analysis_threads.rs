//! The analysis on two threads (state intervals and summaries side by side) must give
//! exactly what it gives on one: every interval column, every sum and summary; and its
//! parts computed alone (`states_of`, `summaries_of`) the same again. Checked on the
//! bundled traces and on every trace of the shared corpus when it is present.

use std::path::PathBuf;

use gotrace_core::analysis::intervals::Intervals;
use gotrace_core::analysis::summary::{analyze_with, states_of, summaries_of, Analysis};

fn same_intervals(a: &Intervals, b: &Intervals, what: &str) {
    macro_rules! cols {
        ($($c:ident),*) => {$( assert!(a.$c == b.$c, "{what}: column {}", stringify!($c)); )*};
    }
    cols!(
        id,
        start,
        end,
        state,
        reason,
        stack,
        unblocker,
        unblocker_stack
    );
    macro_rules! derived {
        ($($c:ident),*) => {$( assert!(a.$c() == b.$c(), "{what}: column {}", stringify!($c)); )*};
    }
    derived!(g, p, m, open);
}

fn check(name: &str, data: &[u8]) -> usize {
    let t = gotrace_core::parse(data);
    let one: Analysis = analyze_with(&t, 1);
    let two: Analysis = analyze_with(&t, 2);
    let (a, b) = (&one.states, &two.states);
    same_intervals(&a.goroutines, &b.goroutines, &format!("{name} goroutines"));
    same_intervals(&a.procs, &b.procs, &format!("{name} procs"));
    same_intervals(&a.threads, &b.threads, &format!("{name} threads"));
    assert_eq!(
        format!("{:?}", (&a.go_stats, &a.proc_stats)),
        format!("{:?}", (&b.go_stats, &b.proc_stats)),
        "{name}: state sums"
    );
    assert_eq!(
        format!("{:?}", (&one.goroutines, &one.tasks, &one.ranges)),
        format!("{:?}", (&two.goroutines, &two.tasks, &two.ranges)),
        "{name}: summaries"
    );
    let alone = states_of(&t);
    let c = &alone.states;
    same_intervals(
        &a.goroutines,
        &c.goroutines,
        &format!("{name} goroutines alone"),
    );
    same_intervals(&a.procs, &c.procs, &format!("{name} procs alone"));
    same_intervals(&a.threads, &c.threads, &format!("{name} threads alone"));
    assert_eq!(
        format!("{:?}", (&a.go_stats, &a.proc_stats, &one.ranges)),
        format!("{:?}", (&c.go_stats, &c.proc_stats, &alone.ranges)),
        "{name}: state sums and ranges alone"
    );
    let (names, summaries) = (alone.names.into_sorted(), summaries_of(&t));
    assert_eq!(
        format!("{:?}", (&one.goroutines, &one.tasks)),
        format!("{:?}", (&summaries.0, &summaries.1)),
        "{name}: summaries alone"
    );
    // The same goroutines with the same names (looked up as the heatmaps do: an ID
    // missing from a table is named 0).
    let ids: Vec<i64> = one.goroutines.iter().map(|g| g.id).collect();
    assert_eq!(names.0, ids, "{name}: goroutine IDs alone");
    let want: Vec<u32> = one.goroutines.iter().map(|g| g.name).collect();
    assert_eq!(names.1, want, "{name}: goroutine names alone");
    a.goroutines.len()
}

#[test]
fn bundled_and_corpus_traces_same_with_threads() {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")];
    let shared = std::env::var_os("GOTRACE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dirs.push(shared.join("corpus/traces"));
    let (mut traces, mut intervals) = (0, 0);
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("no traces at {}: skipped", dir.display());
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "trace") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                intervals += check(&name, &std::fs::read(&p).unwrap());
                traces += 1;
            }
        }
    }
    assert!(traces >= 5 && intervals > 0, "{traces} traces");
}
