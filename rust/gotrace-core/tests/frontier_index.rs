//! The indexed frontier search (`frontier.rs`, and the v1 merge's index of waiting Ps)
//! must pick exactly the events the plain search picks. Every input here is parsed with
//! every search indexed and with none, and the results compared column by column:
//! generated v2 and v1 schedules full of blocked and tied threads, the bundled traces,
//! the shared corpus and Go's golden cases (when present), and damaged copies of them
//! (the same error after the same events). The streaming path (events drained in small
//! chunks, each M decoded a piece at a time) is compared with the indexed search too.
//!
//! One test function: the search switch is process-wide.

mod common;

use common::*;
use gotrace_core::export::tsv;
use gotrace_core::reader::set_frontier_index_from;
use gotrace_core::stream::{drain, DRAINED};
use gotrace_core::{parse_with, ParseOptions, Trace};

fn parse_both(data: &[u8]) -> (Trace, Trace) {
    let opts = ParseOptions::threads(Some(1));
    set_frontier_index_from(Some(1));
    let indexed = parse_with(data, &opts, &mut |_, _| false);
    set_frontier_index_from(Some(usize::MAX));
    let plain = parse_with(data, &opts, &mut |_, _| false);
    set_frontier_index_from(None);
    (indexed, plain)
}

/// The event lines of a drained parse with every search indexed, and its error.
fn drained_indexed(data: &[u8]) -> (Vec<u8>, Option<gotrace_core::TraceError>) {
    let opts = ParseOptions {
        threads: Some(1),
        chunk_rows: 7,
        ..DRAINED
    };
    let mut lines = Vec::new();
    set_frontier_index_from(Some(1));
    let t = drain(
        |h| parse_with(data, &opts, h),
        &mut |d: &Trace| {
            for i in 0..d.events.len() {
                tsv::event_line(d, i, &mut lines);
                lines.push(b'\n');
            }
        },
        &mut |_, _| false,
    );
    set_frontier_index_from(None);
    (lines, t.error)
}

fn assert_same(name: &str, data: &[u8]) -> Trace {
    let (a, b) = parse_both(data);
    common::assert_same(&a, &b, name);
    let mut want = Vec::new();
    for i in 0..b.events.len() {
        tsv::event_line(&b, i, &mut want);
        want.push(b'\n');
    }
    let (got, err) = drained_indexed(data);
    assert_eq!(err, b.error, "{name}: drained, error");
    assert!(got == want, "{name}: drained event lines differ");
    a
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "trace"));
    v.sort();
    v
}

/// Cut and one-byte-overwritten copies of `data`.
fn damaged(data: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ data.len() as u64);
    for k in 1..n {
        out.push(data[..data.len() * k / n].to_vec());
        let mut d = data.to_vec();
        if d.len() > 17 {
            let at = 16 + r.below(d.len() as u64 - 16) as usize;
            d[at] = r.below(256) as u8;
            out.push(d);
        }
    }
    out
}

/// Compares the two searches on `gen(1..=n)` and on damaged copies of the first few; the
/// number that parse.
fn schedules(name: &str, gen: fn(u64) -> Vec<u8>, n: u64) -> usize {
    let mut ok = 0;
    for seed in 1..=n {
        let data = gen(seed);
        let t = assert_same(&format!("{name}({seed})"), &data);
        ok += t.error.is_none() as usize;
        if seed <= n / 10 {
            for (i, d) in damaged(&data, 8).iter().enumerate() {
                assert_same(&format!("{name}({seed}) damaged #{i}"), d);
            }
        }
    }
    ok
}

#[test]
fn indexed_search_picks_what_the_plain_search_picks() {
    // Generated schedules: most parse; their frontiers block and tie all the time.
    let ok = schedules("random_sched", random_sched, 400);
    assert!(ok >= 380, "only {ok} of 400 generated schedules parse");
    // Some do not: two GoUnblockLocal of one goroutine at one timestamp both look ready
    // (Go's v1 parser fails those too).
    let ok = schedules("v1::random_sched", v1::random_sched, 300);
    assert!(ok >= 260, "only {ok} of 300 generated v1 schedules parse");
    let t = assert_same("v1::pass_along(300)", &v1::pass_along(300));
    assert!(t.error.is_none());

    let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = files(&here.join("tests/data"));
    inputs.extend(files(&here.join("tests/data/ties")));
    if let Some(shared) = shared() {
        inputs.extend(files(&shared.join("corpus/traces")));
        inputs.extend(files(&shared.join("oracle/golden")));
        inputs.extend(files(&shared.join("oracle/golden/malformed")));
        inputs.extend(files(&shared.join("oracle/golden/tracev1")));
    }
    for p in &inputs {
        let name = p.display().to_string();
        let data = std::fs::read(p).unwrap();
        assert_same(&name, &data);
        if data.len() < 200_000 {
            for (i, d) in damaged(&data, 6).iter().enumerate() {
                assert_same(&format!("{name} damaged #{i}"), d);
            }
        }
    }
}
