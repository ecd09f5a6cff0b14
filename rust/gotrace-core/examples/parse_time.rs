//! `cargo run --release --example parse_time -- FILE [N] [THREADS]`: parse N times, print
//! events/s (THREADS: 0 or absent = all cores).
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: parse_time FILE [N] [THREADS]");
    let n: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(3);
    let threads: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(0);
    let opts = gotrace_core::ParseOptions::threads(Some(threads));
    let data = std::fs::read(&path).expect("read");
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..n {
        let t = Instant::now();
        let trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
        let dt = t.elapsed().as_secs_f64();
        events = trace.events.len();
        best = best.min(dt);
        assert!(trace.error.is_none(), "{:?}", trace.error);
    }
    println!(
        "{path}: {events} events, threads {}, best {best:.3}s, {:.2} Mev/s, {:.1} MB/s",
        opts.thread_count(),
        events as f64 / best / 1e6,
        data.len() as f64 / best / 1e6
    );
}
