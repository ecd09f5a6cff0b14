//! A drained parse (the streaming analyses' reader: events handed out in chunks, each
//! M decoded a piece at a time) yields exactly the events, side-table values and error
//! of the full parse: every v2 corpus trace with several chunk sizes and thread counts,
//! and truncated and bit-flipped copies of a few (errors met mid-generation).

use std::path::{Path, PathBuf};

use gotrace_core::export::tsv::event_line;
use gotrace_core::stream::{drain, DRAINED};
use gotrace_core::{parse_with, ParseOptions, Trace};

mod common;
use common::shared;

fn v2_traces(shared: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus/traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .filter(|p| {
            let d = std::fs::read(p).unwrap();
            gotrace_core::wire::parse_header(&d).is_ok_and(|(v, _)| v >= 22)
        })
        .collect();
    out.sort();
    out
}

/// Every event line (side tables resolved) and the error.
fn lines_of(t: &Trace, out: &mut Vec<u8>) {
    for i in 0..t.events.len() {
        event_line(t, i, out);
        out.push(b'\n');
    }
}

fn full(data: &[u8]) -> (Vec<u8>, String, u64) {
    let t = parse_with(data, &ParseOptions::threads(Some(1)), &mut |_, _| false);
    let mut out = Vec::new();
    lines_of(&t, &mut out);
    (out, format!("{:?}", t.error), t.generations)
}

fn drained(data: &[u8], threads: usize, chunk_rows: usize) -> (Vec<u8>, String, u64) {
    let opts = ParseOptions {
        threads: Some(threads),
        chunk_rows,
        ..DRAINED
    };
    let mut out = Vec::new();
    let t = drain(
        |h| parse_with(data, &opts, h),
        &mut |t| {
            assert!(chunk_rows == 0 || t.events.len() <= chunk_rows + 64);
            lines_of(t, &mut out)
        },
        &mut |_, _| false,
    );
    (out, format!("{:?}", t.error), t.generations)
}

/// `runs`: (chunk rows, threads) pairs.
fn check(name: &str, data: &[u8], runs: &[(usize, usize)]) {
    let want = full(data);
    for &(n, th) in runs {
        let got = drained(data, th, n);
        assert!(
            got.1 == want.1 && got.2 == want.2,
            "{name} chunk {n} threads {th}: error {} / {} generations, want {} / {}",
            got.1,
            got.2,
            want.1,
            want.2
        );
        if got.0 != want.0 {
            let at = got.0.iter().zip(&want.0).position(|(a, b)| a != b);
            panic!(
                "{name} chunk {n} threads {th}: events differ (byte {at:?} of {} / {})",
                got.0.len(),
                want.0.len()
            );
        }
    }
}

#[test]
fn drained_parse_equals_full_parse_on_the_corpus() {
    let Some(shared) = shared() else { return };
    let traces = v2_traces(&shared);
    assert!(traces.len() > 20, "{} v2 traces", traces.len());
    for p in &traces {
        let data = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy();
        check(&name, &data, &[(1, 1), (1000, 2), (0, 1), (0, 2)]);
    }
}

#[test]
fn drained_parse_equals_full_parse_on_damaged_traces() {
    let Some(shared) = shared() else { return };
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let traces = v2_traces(&shared);
    let picked: Vec<&PathBuf> = traces
        .iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.contains("mixed-small") || n.contains("gc-stress") || n.contains("cpu-profile")
        })
        .collect();
    assert!(picked.len() >= 3);
    for p in picked {
        let data = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy();
        for _ in 0..12 {
            let cut = 64 + next(data.len() - 64);
            check(
                &format!("{name} cut at {cut}"),
                &data[..cut],
                &[(7, 1), (0, 2)],
            );
            let mut flipped = data.clone();
            let at = 64 + next(data.len() - 64);
            flipped[at] ^= 1 << next(8);
            check(
                &format!("{name} bit flip at {at}"),
                &flipped,
                &[(7, 2), (0, 1)],
            );
        }
    }
}
