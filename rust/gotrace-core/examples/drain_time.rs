//! `cargo run --release --example drain_time -- FILE [N] [THREADS]`: a drained parse
//! (events handed out in chunks and dropped, as the streaming analyses read) N times;
//! prints the best events/s. Isolates decoding and ordering from the event table's memory.
//! SPEC=0/1 turns speculation off/on; SPEC_COUNTS set prints what the speculations did
//! and where the threads' time went.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: drain_time FILE [N] [THREADS]");
    let n: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(3);
    let threads: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(1);
    let mut opts = gotrace_core::stream::DRAINED;
    opts.threads = Some(threads);
    let data = std::fs::read(&path).expect("read");
    if let Some(n) = std::env::var_os("INDEX_FROM") {
        let n: usize = n.to_str().unwrap().parse().unwrap();
        gotrace_core::reader::set_frontier_index_from(Some(n));
    }
    match std::env::var("SPEC").as_deref() {
        Ok("0") => gotrace_core::reader::set_speculation(Some(false)),
        Ok("1") => gotrace_core::reader::set_speculation(Some(true)),
        _ => {}
    }
    let mut best = f64::MAX;
    let mut events = 0usize;
    for _ in 0..n {
        let t = Instant::now();
        let mut count = 0usize;
        let trace = gotrace_core::parse_with(&data, &opts, &mut |t, _| {
            count += t.events.len();
            t.clear_events();
            false
        });
        count += trace.events.len();
        let dt = t.elapsed().as_secs_f64();
        assert!(trace.error.is_none(), "{:?}", trace.error);
        events = count;
        best = best.min(dt);
    }
    if std::env::var_os("SPEC_COUNTS").is_some() {
        eprintln!(
            "speculation (merged, redone): {:?}",
            gotrace_core::reader::speculation_counts()
        );
        let [ws, wl, l, sp, spc] = gotrace_core::reader::speculation_times().map(|x| x / n as f64);
        eprintln!(
            "per parse: reader waits {ws:.3} s for speculations, {wl:.3} s for reads ahead; \
             helper reads ahead {l:.3} s, orders speculatively {sp:.3} s ({spc:.3} s of CPU)"
        );
    }
    println!(
        "{path}: {events} events, threads {threads}, best {best:.3}s, {:.2} Mev/s, {:.1} MB/s",
        events as f64 / best / 1e6,
        data.len() as f64 / best / 1e6
    );
}
