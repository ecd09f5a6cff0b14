//! `cargo run --release --example analysis_time -- FILE [N] [THREADS]`: best parse time and
//! best `analysis::summary::analyze_then` time over N runs, both on THREADS threads
//! (0 or absent = all cores, as `parse` and `analyze` do by default), and the CPU time
//! of each of the analysis' two parts (state intervals; summaries), which is what the
//! analysis takes on two otherwise idle cores.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: analysis_time FILE [N] [THREADS]");
    let n: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(3);
    let threads: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(0);
    let opts = gotrace_core::ParseOptions::threads(Some(threads));
    let threads = opts.thread_count();
    let data = std::fs::read(&path).expect("read");
    let (mut best_parse, mut best_an) = (f64::MAX, f64::MAX);
    let (mut best_states, mut best_sums) = (f64::MAX, f64::MAX);
    let mut trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
    for _ in 0..n {
        let t = Instant::now();
        trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
        best_parse = best_parse.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let c0 = gotrace_core::thread_cpu();
        // With two threads the summaries start on a fresh thread: its CPU time is theirs.
        let (a, b) = gotrace_core::analysis::summary::analyze_then(
            &trace,
            threads,
            |s| (s, gotrace_core::thread_cpu() - c0),
            |s| (s, gotrace_core::thread_cpu()),
        );
        best_an = best_an.min(t.elapsed().as_secs_f64());
        let sums = if threads > 1 { b.1 } else { b.1 - c0 - a.1 };
        best_states = best_states.min(a.1);
        best_sums = best_sums.min(sums);
        std::hint::black_box((&a, &b));
    }
    println!(
        "{path}: {} events, threads {threads}, parse {:.1} ms, analysis {:.1} ms ({:.2}x); \
         CPU of the intervals {:.1} ms, of the summaries {:.1} ms",
        trace.events.len(),
        best_parse * 1e3,
        best_an * 1e3,
        best_an / best_parse,
        best_states * 1e3,
        best_sums * 1e3,
    );
}
