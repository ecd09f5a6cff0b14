//! A parse with helper threads (generations read and decoded ahead, table pages faulted
//! in ahead) must give exactly what the sequential parse gives: every column, every
//! table, the error, and the events before it. Checked on the bundled traces, on every
//! trace of the shared corpus when it is present, and on damaged copies (so that errors
//! met while reading ahead are reported where the sequential reader meets them).

use std::path::PathBuf;

mod common;

use common::{assert_same, damaged, Rng};
use gotrace_core::{parse_read_with, parse_with, ParseOptions, Trace};

fn parse_threads(data: &[u8], threads: usize) -> Trace {
    parse_with(data, &ParseOptions::threads(Some(threads)), &mut |_, _| {
        false
    })
}

fn check(name: &str, data: &[u8]) -> Trace {
    let seq = parse_threads(data, 1);
    for threads in [2, 3] {
        let par = parse_threads(data, threads);
        assert_same(&seq, &par, &format!("{name}, {threads} threads"));
    }
    // The streamed input reads ahead on another thread too.
    let streamed = parse_read_with(
        data,
        data.len(),
        &ParseOptions::threads(Some(2)),
        &mut |_, _| false,
    );
    assert_same(&seq, &streamed, &format!("{name}, streamed, 2 threads"));
    seq
}

fn bundled() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn bundled_traces_same_with_threads() {
    let all = bundled();
    assert!(all.len() >= 5);
    for (name, data) in &all {
        let t = check(name, data);
        assert!(t.events.len() > 2, "{name}");
    }
}

/// Checks copies of `data` cut off at `cuts` points and with one byte overwritten at
/// `flips` places.
fn check_damaged(name: &str, data: &[u8], cuts: usize, flips: usize) {
    let n = data.len();
    for k in 1..cuts {
        let cut = n * k / cuts;
        check(&format!("{name} cut at {cut}"), &data[..cut]);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15u64 ^ n as u64);
    for _ in 0..flips {
        let (at, d) = damaged(data, &mut rng);
        check(&format!("{name} byte {at} = {}", d[at]), &d);
    }
}

#[test]
fn damaged_traces_same_with_threads() {
    for (name, data) in bundled() {
        check_damaged(&name, &data, 24, 24);
    }
}

#[test]
fn corpus_same_with_threads() {
    let shared = std::env::var_os("GOTRACE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("corpus/traces");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no corpus at {}: skipped", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "trace") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let data = std::fs::read(&p).unwrap();
            check(&name, &data);
            // Many generations, before and after Go 1.26's end-of-generation marker: a
            // broken generation in the middle stops the parse while the next one may
            // already have been read ahead.
            if name == "go1.22.10-mixed-medium.trace" || name == "go1.27.3-mixed-medium.trace" {
                check_damaged(&name, &data, 8, 16);
            }
            n += 1;
        }
    }
    assert!(n > 0, "no traces in {}", dir.display());
}
