//! A drained parse (the streaming analyses' reader: events handed out in chunks, each
//! M decoded a piece at a time) yields exactly the events, side-table values and error
//! of the full parse: every v2 corpus trace with several chunk sizes and thread counts,
//! and truncated and bit-flipped copies of a few (errors met mid-generation). The same
//! with the consumer on a thread of its own (`drain_pipelined`), which sees a replica
//! of the reader's string and stack tables: every event's whole stack is compared too.
//! Pipelined runs leave the rows to the consumer's side (`ParseOptions::unconverted`,
//! as `drain_threads` asks), and so do some of the others.

use std::path::{Path, PathBuf};

use gotrace_core::analysis::heat::HeatStream;
use gotrace_core::export::tsv::event_line;
use gotrace_core::stream::{drain, drain_pipelined, drain_pipelined_to, Consumer, DRAINED};
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

/// Every event line (side tables resolved), each followed by all frames of its stack.
fn lines_of(t: &Trace, out: &mut Vec<u8>) {
    for i in 0..t.events.len() {
        event_line(t, i, out);
        for &f in t.stacks.frames_of(t.events.stack[i]) {
            let f = &t.stacks.frames[f as usize];
            out.push(b' ');
            out.extend_from_slice(t.strings.get(f.func));
            out.push(b'@');
            out.extend_from_slice(t.strings.get(f.file));
            out.extend_from_slice(&f.line.to_le_bytes());
            out.extend_from_slice(&f.pc.to_le_bytes());
        }
        out.push(b'\n');
    }
}

fn full(data: &[u8]) -> (Vec<u8>, String, u64) {
    let t = parse_with(data, &ParseOptions::threads(Some(1)), &mut |_, _| false);
    let mut out = Vec::new();
    lines_of(&t, &mut out);
    (out, format!("{:?}", t.error), t.generations)
}

fn drained(
    data: &[u8],
    threads: usize,
    chunk_rows: usize,
    pipelined: bool,
    unconverted: bool,
) -> (Vec<u8>, String, u64) {
    let opts = ParseOptions {
        threads: Some(threads),
        chunk_rows,
        unconverted,
        ..DRAINED
    };
    let mut out = Vec::new();
    let mut consume = |t: &Trace| {
        assert!(chunk_rows == 0 || t.events.len() <= chunk_rows + 64);
        lines_of(t, &mut out)
    };
    let parse = |h: &mut gotrace_core::Hook| parse_with(data, &opts, h);
    let t = if pipelined {
        drain_pipelined(parse, &mut consume, &mut |_, _| false)
    } else {
        drain(parse, &mut consume, &mut |_, _| false)
    };
    assert!(t.events.is_empty());
    (out, format!("{:?}", t.error), t.generations)
}

/// `runs`: (chunk rows, threads, also pipelined) triples: each drained on the reader's
/// thread and, if asked, on a thread of its own (a thread handoff per chunk: slow for
/// chunks of a few rows on big traces).
fn check(name: &str, data: &[u8], runs: &[(usize, usize, bool)]) {
    let want = full(data);
    let runs = runs.iter().flat_map(|&(n, th, p)| {
        [(n, th, false), (n, th, true)]
            .into_iter()
            .take(1 + p as usize)
    });
    // Pipelined as `drain_threads` does it (rows made on the consumer's side); on the
    // reader's thread both ways in chunks of 7 rows (the damaged traces), else as the
    // reader makes them.
    let runs = runs.flat_map(|(n, th, p)| {
        let both = !p && n == 7;
        [((n, th, p), p || both), ((n, th, p), false)]
            .into_iter()
            .take(1 + both as usize)
    });
    for ((n, th, pipelined), unconverted) in runs {
        let got = drained(data, th, n, pipelined, unconverted);
        let name = format!("{name} (pipelined: {pipelined}, unconverted: {unconverted})");
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
        check(
            &name,
            &data,
            &[(1, 1, false), (1000, 2, true), (0, 1, true), (0, 2, true)],
        );
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
                &[(7, 1, false), (0, 2, true)],
            );
            let mut flipped = data.clone();
            let at = 64 + next(data.len() - 64);
            flipped[at] ^= 1 << next(8);
            check(
                &format!("{name} bit flip at {at}"),
                &flipped,
                &[(7, 2, false), (0, 1, true)],
            );
        }
    }
}

#[test]
fn pipelined_drain_in_chunks_of_a_few_rows() {
    for name in [
        "go1.22.10-testprog-annotations.trace",
        "go1.25.5-mixed-small.trace",
    ] {
        let data =
            std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        check(name, &data, &[(1, 1, true), (7, 2, true), (3, 3, true)]);
        // Pipelined with the rows made by the reader; on the reader's thread with them
        // left, a row at a time.
        let want = full(&data);
        for (n, th, p, u) in [
            (1, 1, true, false),
            (0, 2, true, false),
            (1, 1, false, true),
        ] {
            assert_eq!(drained(&data, th, n, p, u), want, "{name} {n} {th} {p} {u}");
        }
    }
}

/// Heatmaps of every kind of row from a pipelined drain whose consumer takes the rows
/// one at a time, never stored, equal those of the full parse's table: every v2 corpus
/// trace, and truncated copies (the rows before the error, and the error).
#[test]
fn heatmaps_by_row_equal_those_of_the_table() {
    use gotrace_core::analysis::heat::{By, HeatSpec, Sort, Value};
    use gotrace_core::binning::uniform_edges;
    use gotrace_core::store::{gostate, procstate};
    let Some(shared) = shared() else { return };
    let check = |name: &str, data: &[u8]| {
        let t = parse_with(data, &ParseOptions::threads(Some(1)), &mut |_, _| false);
        let (t0, t1) = match (t.events.time.first(), t.events.time.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => return,
        };
        use gostate::*;
        let all = [RUNNING, RUNNABLE, WAITING, SYSCALL];
        let specs = [
            (
                By::Goroutine,
                vec![RUNNING],
                Value::Time,
                Some(30),
                Sort::Total,
            ),
            (By::Goroutine, all.to_vec(), Value::Count, None, Sort::First),
            (
                By::Function,
                vec![RUNNABLE, SYSCALL],
                Value::Fraction,
                Some(5),
                Sort::Id,
            ),
            (By::State, all.to_vec(), Value::Time, None, Sort::Total),
            (By::Reason, vec![WAITING], Value::Time, Some(3), Sort::Total),
            (
                By::Proc,
                vec![procstate::RUNNING],
                Value::Time,
                None,
                Sort::Total,
            ),
        ];
        for (by, states, value, top, sort) in specs {
            let spec = HeatSpec {
                by,
                states,
                value,
                edges: uniform_edges(t0, t1, 97),
                top,
                sort,
            };
            let mut want = HeatStream::new(t.version, spec.clone());
            want.feed(&t);
            let want = format!("{:?}", want.finish(&t));
            for threads in [1, 2] {
                let opts = ParseOptions {
                    threads: Some(threads),
                    unconverted: true,
                    ..DRAINED
                };
                let mut h = HeatStream::new(t.version, spec.clone());
                assert_eq!(h.by_row(&t), !matches!(by, By::Proc | By::Thread));
                let got = drain_pipelined_to(
                    |hook| parse_with(data, &opts, hook),
                    &mut h,
                    &mut |_, _| false,
                );
                let what = format!("{name} {by:?} threads {threads}");
                assert_eq!(
                    format!("{:?}", got.error),
                    format!("{:?}", t.error),
                    "{what}"
                );
                assert_eq!(got.generations, t.generations, "{what}");
                assert_eq!(format!("{:?}", h.finish(&got)), want, "{what}");
            }
        }
    };
    let traces = v2_traces(&shared);
    assert!(traces.len() > 20, "{} v2 traces", traces.len());
    for p in &traces {
        let data = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy();
        check(&name, &data);
        if name.contains("mixed-small") || name.contains("gc-stress") {
            for k in 1..6 {
                let cut = 64 + (data.len() - 64) * k / 6;
                check(&format!("{name} cut at {cut}"), &data[..cut]);
            }
        }
    }
}
