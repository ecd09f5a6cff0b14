//! `cargo run --release --example analysis_time -- FILE [N] [THREADS]`: best parse time and
//! best `analysis::summary::analyze_with` time over N runs, both on THREADS threads
//! (0 or absent = all cores, as `parse` and `analyze` do by default).
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
    let mut trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
    for _ in 0..n {
        let t = Instant::now();
        trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
        best_parse = best_parse.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let a = gotrace_core::analysis::summary::analyze_with(&trace, threads);
        best_an = best_an.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&a);
    }
    println!(
        "{path}: {} events, threads {threads}, parse {:.1} ms, analysis {:.1} ms ({:.2}x)",
        trace.events.len(),
        best_parse * 1e3,
        best_an * 1e3,
        best_an / best_parse
    );
}
