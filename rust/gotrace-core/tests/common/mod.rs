//! Writing v2 (Go 1.22+) traces for tests: header, per-generation sync/string/stack
//! batches, event batches split under the 64 KiB limit, EndOfGeneration (1.26+).
#![allow(dead_code)]

use gotrace_core::wire::spec::*;

pub fn uv(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

pub fn header(ver: u32) -> Vec<u8> {
    format!("go 1.{ver} trace\0\0\0").into_bytes()
}

/// `EvEventBatch gen m ts size data`.
pub fn batch(gen: u64, m: u64, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![EV_EVENT_BATCH];
    uv(&mut b, gen);
    uv(&mut b, m);
    uv(&mut b, ts);
    uv(&mut b, data.len() as u64);
    b.extend_from_slice(data);
    b
}

/// The sync batch: frequency 1e9 (1 tick = 1 ns) and, for 1.25+, a clock snapshot.
pub fn sync_batch(gen: u64, ver: u32, ts: u64) -> Vec<u8> {
    let mut d = Vec::new();
    if ver >= 25 {
        d.push(EV_SYNC);
    }
    d.push(EV_FREQUENCY);
    uv(&mut d, 1_000_000_000);
    if ver >= 25 {
        d.push(EV_CLOCK_SNAPSHOT);
        for v in [0, 1, 2, 3] {
            uv(&mut d, v);
        }
    }
    batch(gen, u64::MAX, ts, &d)
}

/// String table batches (as many as the 64 KiB batch limit needs).
pub fn strings_batch(gen: u64, strings: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = vec![EV_STRINGS];
    for (id, s) in strings {
        d.push(EV_STRING);
        uv(&mut d, *id);
        uv(&mut d, s.len() as u64);
        d.extend_from_slice(s);
        if d.len() > 60_000 {
            out.extend(batch(gen, u64::MAX, 0, &d));
            d = vec![EV_STRINGS];
        }
    }
    if d.len() > 1 {
        out.extend(batch(gen, u64::MAX, 0, &d));
    }
    out
}

/// Stacks of one frame each: (stack id, pc, func string id, file string id, line).
pub fn stacks_batch(gen: u64, stacks: &[(u64, u64, u64, u64, u64)]) -> Vec<u8> {
    let mut d = vec![EV_STACKS];
    for &(id, pc, func, file, line) in stacks {
        d.push(EV_STACK);
        uv(&mut d, id);
        uv(&mut d, 1);
        for v in [pc, func, file, line] {
            uv(&mut d, v);
        }
    }
    batch(gen, u64::MAX, 0, &d)
}

/// One event: absolute time (ns = ticks), wire type, arguments after the timestamp.
#[derive(Clone, Debug)]
pub struct Ev {
    pub time: u64,
    pub typ: u8,
    pub args: Vec<u64>,
}

pub fn ev(time: u64, typ: u8, args: &[u64]) -> Ev {
    Ev {
        time,
        typ,
        args: args.to_vec(),
    }
}

/// The events of one M as event batches of at most ~60 KiB (times non-decreasing).
pub fn event_batches(gen: u64, m: u64, evs: &[Ev]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut data = Vec::new();
    let mut base = 0;
    let mut last = 0;
    for e in evs {
        if data.is_empty() {
            base = e.time;
            last = e.time;
        }
        data.push(e.typ);
        uv(&mut data, e.time - last);
        last = e.time;
        for &a in &e.args {
            uv(&mut data, a);
        }
        if data.len() > 60_000 {
            out.extend(batch(gen, m, base, &data));
            data.clear();
        }
    }
    if !data.is_empty() {
        out.extend(batch(gen, m, base, &data));
    }
    out
}

/// A whole trace of one generation: `strings`, one-frame `stacks` and per-M events.
pub fn one_gen_trace(
    ver: u32,
    strings: &[(u64, &[u8])],
    stacks: &[(u64, u64, u64, u64, u64)],
    ms: &[(u64, Vec<Ev>)],
) -> Vec<u8> {
    let mut t = header(ver);
    let first = ms
        .iter()
        .filter_map(|(_, e)| e.first().map(|e| e.time))
        .min()
        .unwrap_or(1);
    t.extend(sync_batch(1, ver, first.max(1)));
    if !strings.is_empty() {
        t.extend(strings_batch(1, strings));
    }
    if !stacks.is_empty() {
        t.extend(stacks_batch(1, stacks));
    }
    for (m, evs) in ms {
        t.extend(event_batches(1, *m, evs));
    }
    if ver >= 26 {
        t.push(EV_END_OF_GENERATION);
    }
    t
}

/// `u64` view of a negative ID (e.g. "no thread" = -1).
pub const NONE: u64 = u64::MAX;

/// The shared corpus and oracle beside the project (or `$GOTRACE_SHARED`); `None` (the
/// test skips) when absent, except under CI.
pub fn shared() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("GOTRACE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
        });
    if dir.join("oracle/README.md").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "reference data not found at {} (set GOTRACE_SHARED)",
        dir.display()
    );
    eprintln!("skipped: reference data not found at {}", dir.display());
    None
}
