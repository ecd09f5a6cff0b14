//! Generations ordered speculatively (side by side, without the state of the ones
//! before) must give exactly what ordering them one after the other gives: every column,
//! every table, the error and the events before it. Speculation forced on a single
//! thread runs each speculation before its predecessor is ordered, which checks the
//! merge deterministically; with two threads they run side by side. The speculations
//! must also mostly succeed on real traces (else the parallel reader gains nothing).

use std::path::PathBuf;
use std::sync::Mutex;

mod common;

use common::{assert_same, damaged, shared, Rng};
use gotrace_core::reader::{set_speculation, speculation_counts};
use gotrace_core::{parse_with, stream, ParseOptions, Trace};

/// The speculation switch is process-wide: one test at a time.
static SWITCH: Mutex<()> = Mutex::new(());

fn parse(data: &[u8], threads: usize, spec: bool) -> Trace {
    set_speculation(Some(spec));
    let t = parse_with(data, &ParseOptions::threads(Some(threads)), &mut |_, _| {
        false
    });
    set_speculation(None);
    t
}

fn check(name: &str, data: &[u8]) {
    let plain = parse(data, 1, false);
    for threads in [1, 2] {
        let spec = parse(data, threads, true);
        assert_same(
            &plain,
            &spec,
            &format!("{name}, speculating, {threads} threads"),
        );
    }
}

/// The Go 1.26+ traces (the ones ordered speculatively) of the corpus, and Go's golden
/// cases of that format.
fn v26_traces() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = shared() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for sub in ["corpus/traces", "oracle/golden"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd {
            let p: PathBuf = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "trace") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let ver = gotrace_core::wire::parse_header(&data).map(|(v, _)| v);
            if matches!(ver, Ok(v) if v >= 26) {
                v.push((p.file_name().unwrap().to_string_lossy().into_owned(), data));
            }
        }
    }
    v.sort();
    v
}

/// The first of [`v26_traces`] whose name contains `part`.
fn v26_trace(part: &str) -> Option<(String, Vec<u8>)> {
    v26_traces().into_iter().find(|(n, _)| n.contains(part))
}

#[test]
fn speculation_equals_sequential_ordering() {
    let _g = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    let all = v26_traces();
    if all.is_empty() {
        return;
    }
    let (merged0, _) = speculation_counts();
    for (name, data) in &all {
        check(name, data);
    }
    let (merged, redone) = speculation_counts();
    let merged = merged - merged0;
    // Two speculating parses of each trace: most generations after the second are
    // merged, not ordered again.
    assert!(
        merged > 0 && merged >= 4 * redone,
        "merged {merged}, ordered again {redone}"
    );
}

#[test]
fn speculation_on_damaged_traces() {
    let _g = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    let all = v26_traces();
    // The corpus traces with many generations (most have one): 367 of ~4 KB, and 14.
    for (name, data) in all
        .iter()
        .filter(|(n, _)| n.contains("stress-advance0") || n.contains("mixed-medium"))
    {
        let n = data.len();
        for k in 1..8 {
            let cut = n * k / 8;
            check(&format!("{name} cut at {cut}"), &data[..cut]);
        }
        let mut rng = Rng(0x5bd1_e995_u64 ^ n as u64);
        // Many flips on the small trace of many generations (speculations everywhere).
        let flips = if n < 2 << 20 { 400 } else { 24 };
        for _ in 0..flips {
            let (at, d) = damaged(data, &mut rng);
            check(&format!("{name} byte {at} = {}", d[at]), &d);
        }
    }
}

/// Row `i` of `t` with its side-table references resolved (a drained parse numbers them
/// per chunk): (time, kind, g, p, m, stack, from, to, name, and the referenced values).
fn row_key(t: &Trace, i: usize) -> String {
    use gotrace_core::store::EventKind as K;
    let e = &t.events;
    let (kind, arg, aux) = (e.kind[i], e.arg.get(i), e.aux[i]);
    let side = match kind {
        k if k == K::Experimental as u8 => format!("{:?}", t.experimental[arg as usize]),
        k if k == K::TaskBegin as u8 || k == K::TaskEnd as u8 => {
            format!("{arg} {}", t.u64s[aux as usize])
        }
        k if k == K::Sync as u8 && aux > 0 => {
            format!("{arg} {:?}", t.clock_snapshots[aux as usize - 1])
        }
        k if k == K::RangeEnd as u8 && aux > 0 && !t.range_attrs.is_empty() => {
            format!("{arg} {:?}", t.range_attrs.get(aux as usize - 1))
        }
        _ => format!("{arg} {aux}"),
    };
    format!(
        "{} {} {} {} {} {} {} {} {} {side}",
        e.time[i],
        kind,
        e.g.get(i),
        e.p.get(i),
        e.m.get(i),
        e.stack[i],
        e.from[i],
        e.to[i],
        e.name[i]
    )
}

#[test]
fn drained_speculation_equals_full_parse() {
    let _g = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    for (name, data) in v26_traces() {
        let full = parse(&data, 1, false);
        for threads in [1, 2] {
            set_speculation(Some(true));
            let mut rows = Vec::new();
            let opts = ParseOptions {
                chunk_rows: 1000,
                threads: Some(threads),
                ..stream::DRAINED
            };
            let t = stream::drain(
                |h| parse_with(&data, &opts, h),
                &mut |t: &Trace| rows.extend((0..t.events.len()).map(|i| row_key(t, i))),
                &mut |_, _| false,
            );
            set_speculation(None);
            let what = format!("{name}, drained, {threads} threads");
            assert_eq!(
                t.error.as_ref().map(|e| e.to_string()),
                full.error.as_ref().map(|e| e.to_string()),
                "{what}"
            );
            assert_eq!(rows.len(), full.events.len(), "{what}");
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(*r, row_key(&full, i), "{what}: row {i}");
            }
        }
    }
}

/// The input, then an I/O error at byte `at`.
struct Failing<'a> {
    data: &'a [u8],
    at: usize,
    pos: usize,
}

impl std::io::Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.at {
            return Err(std::io::Error::other("disk gone"));
        }
        let n = buf.len().min(self.at - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn speculation_and_io_errors() {
    // A streamed input that fails further on, the parse stopped by the hook at each of
    // its calls in turn: the speculating reader (which reads a generation further ahead)
    // must give the error, events and generations the sequential reader gives.
    let _g = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    let Some((name, data)) = v26_trace("mixed-medium") else {
        return;
    };
    let parse_failing = |at: usize, stop: usize, threads: usize, spec: bool| {
        set_speculation(Some(spec));
        let mut calls = 0;
        let opts = ParseOptions {
            threads: Some(threads),
            ..stream::DRAINED
        };
        let mut rows = 0usize;
        let t = gotrace_core::parse_read_with(
            Failing {
                data: &data,
                at,
                pos: 0,
            },
            data.len(),
            &opts,
            &mut |t, _| {
                rows += t.events.len();
                t.clear_events();
                calls += 1;
                calls == stop
            },
        );
        set_speculation(None);
        (
            t.error.map(|e| e.to_string()),
            rows + t.events.len(),
            t.generations,
        )
    };
    // Every stop, for errors in two generations (14 generations, ~26 hook calls).
    for at in [data.len() / 2, data.len() - 10] {
        for stop in (1..40).chain([usize::MAX]) {
            let want = parse_failing(at, stop, 1, false);
            for threads in [1, 2] {
                let got = parse_failing(at, stop, threads, true);
                assert_eq!(
                    got, want,
                    "{name}: I/O error at {at}, stop at call {stop}, {threads} threads"
                );
            }
        }
    }
}

#[test]
fn speculation_meets_a_broken_first_event() {
    // The first event of a thread in a later generation made undecodable: the
    // speculation fails where the generation is installed, and the generation is ordered
    // again, failing there with the ordinary reader's error and the events before it.
    let _g = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    let Some((name, data)) = v26_trace("stress-advance0") else {
        return;
    };
    let (ver, hlen) = gotrace_core::wire::parse_header(&data).unwrap();
    let mut cur = gotrace_core::wire::Cursor::new(&data, hlen);
    let mut firsts = Vec::new();
    let mut pending = gotrace_core::generation::Pending::default();
    while let Ok(Some(g)) =
        gotrace_core::generation::read_generation(&mut cur, ver, &mut pending, Vec::new())
    {
        if let Some(b) = g.batches.first().and_then(|(_, bs)| bs.first()) {
            firsts.push(b.offset);
        }
    }
    assert!(firsts.len() > 100, "{name}: {} generations", firsts.len());
    for &at in firsts.iter().skip(2).step_by(37) {
        let mut d = data.clone();
        d[at] = 0xff;
        let plain = parse(&d, 1, false);
        assert!(plain.error.is_some(), "{name}: byte {at}");
        for threads in [1, 2] {
            let spec = parse(&d, threads, true);
            assert_same(
                &plain,
                &spec,
                &format!("{name}: first event at {at} broken, {threads} threads"),
            );
        }
    }
}
