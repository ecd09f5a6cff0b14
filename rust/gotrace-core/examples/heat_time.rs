//! `cargo run --release --example heat_time -- FILE [N]`: the streaming goroutine heatmap's
//! consumer alone (`HeatStream::feed` + `finish`, 1000 bins, top 30) over a parsed trace
//! (fed whole): best of N.
use std::time::Instant;

use gotrace_core::analysis::heat::{By, HeatSpec, HeatStream, Sort, Value};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: heat_time FILE [N]");
    let n: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(3);
    let data = std::fs::read(&path).expect("read");
    let opts = gotrace_core::ParseOptions::threads(Some(1));
    let trace = gotrace_core::parse_with(&data, &opts, &mut |_, _| false);
    let (t0, t1) = gotrace_core::stream::v2_extent(&data).unwrap_or((0, 1));
    let edges: Vec<i64> = (0..=1000).map(|i| t0 + (t1 - t0) * i / 1000).collect();
    let len = trace.events.len();
    let mut best = f64::MAX;
    for _ in 0..n {
        let spec = HeatSpec {
            by: By::Goroutine,
            states: vec![gotrace_core::store::gostate::RUNNING],
            value: Value::Time,
            edges: edges.clone(),
            top: Some(30),
            sort: Sort::Total,
        };
        let start = Instant::now();
        let mut heat = HeatStream::new(trace.version.max(22), spec);
        heat.feed(&trace);
        let h = heat.finish(&trace);
        let dt = start.elapsed().as_secs_f64();
        best = best.min(dt);
        eprintln!("{dt:.3}s rows {}", h.matrix.values.len());
    }
    eprintln!("{path}: {len} events, consumer best {best:.3}s");
}
