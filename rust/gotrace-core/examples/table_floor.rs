//! `cargo run --release --example table_floor -- ROWS [N]`: the cost of the event table
//! alone, without any parsing: ROWS rows pushed into `Events` (56 bytes a row; fresh
//! memory, faulted in as the parse does) and dropped, best of N. Compare with the time
//! Go's reader needs for a trace of that many events: no parser that keeps Go's int64
//! columns can beat this floor.
use std::time::Instant;

use gotrace_core::store::{Events, Row};

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .expect("usage: table_floor ROWS [N]")
        .parse()
        .unwrap();
    let n: usize = args.next().map_or(3, |s| s.parse().unwrap());
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = Instant::now();
        let mut ev = Events::with_capacity(rows + rows / 8);
        let mut r = Row::default();
        for i in 0..rows {
            r.time = i as i64;
            r.g = (i & 1023) as i64;
            r.kind = 13;
            ev.push(&r);
        }
        std::hint::black_box(&ev);
        drop(ev);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{rows} rows: best {best:.3} s ({:.1} ns/row, {:.0} MB of columns)",
        best * 1e9 / rows as f64,
        rows as f64 * 56.0 / 1e6
    );
}
