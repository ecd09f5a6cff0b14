//! Truncation and bit flips over every small corpus trace (shared/corpus/traces up to
//! 400 kB, plus the `*-idle-ok` golden traces): every cut offset of the small files and a
//! dense sample of the larger ones, and bit flips at many positions.
//!
//! What must hold (Go's reader does the same; `tests/test_truncation_oracle.py` checks a
//! sample of these cases against Go's own parser):
//! * no panic, no hang; the table stays consistent (times strictly increasing);
//! * a v2 trace cut at byte `o` yields exactly the events of the generations that are
//!   complete before `o` (1.26+: those whose EndOfGeneration byte is in; before 1.26 the
//!   reader may also emit the cut generation if its tables survived), then a Sync, and
//!   fails unless the cut is at a clean boundary;
//! * a flipped bit leaves every generation before the one it hits (before 1.26: before the
//!   one preceding it, whose reading peeks at the next generation's first batch) intact;
//! * a failure is a `TraceError` carrying a byte offset or a generation (v1 consistency
//!   errors have neither in Go either), never one of our own "internal error"s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gotrace_core::wire::{self, BatchRead, Cursor};
use gotrace_core::{parse, ErrorKind, EventKind, Trace};

mod common;
use common::shared;

/// Files of the sweep.
fn small_traces(shared: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(shared.join("corpus/traces")).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with('.') || n.ends_with(".tsv") || n.ends_with(".md") {
            continue;
        }
        if std::fs::metadata(&p).unwrap().len() <= 400_000 {
            out.push(p);
        }
    }
    for e in std::fs::read_dir(shared.join("oracle/golden/malformed")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with("-idle-ok.trace") {
            out.push(p);
        }
    }
    // By size, so that the parts below get about the same work.
    out.sort_by_key(|p| (std::fs::metadata(p).unwrap().len(), p.clone()));
    out
}

/// xorshift64*: the same sample on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BKind {
    Event,
    /// Strings, stacks, CPU samples, sync/frequency, experimental: no event batch.
    Table,
    EndOfGen,
}

#[derive(Clone, Copy, Debug)]
struct BatchInfo {
    start: usize,
    end: usize,
    /// Index of the batch's generation in file order.
    gen: usize,
    kind: BKind,
}

/// The batch framing of an intact v2 trace.
fn batches(data: &[u8], ver: u32, hlen: usize) -> Vec<BatchInfo> {
    let mut c = Cursor::new(data, hlen);
    let mut buf = Vec::new();
    let mut out: Vec<BatchInfo> = Vec::new();
    let mut last_gen = None;
    let mut gi = 0usize;
    loop {
        let start = c.pos;
        buf.clear();
        match wire::read_batch(&mut c, &mut buf) {
            BatchRead::Eof => break,
            BatchRead::Err { msg, .. } => panic!("intact trace does not frame: {msg}"),
            BatchRead::Ok { batch, gen } => {
                let kind = if batch.is_end_of_generation() {
                    BKind::EndOfGen
                } else if batch.exp != 0
                    || batch.is_strings()
                    || batch.is_stacks()
                    || batch.is_cpu_samples()
                    || batch.is_sync(ver)
                {
                    BKind::Table
                } else {
                    BKind::Event
                };
                if kind != BKind::EndOfGen {
                    if last_gen.is_some_and(|g| g != gen) {
                        gi += 1;
                    }
                    last_gen = Some(gen);
                }
                out.push(BatchInfo {
                    start,
                    end: c.pos,
                    gen: gi,
                    kind,
                });
                if kind == BKind::EndOfGen {
                    // The next batch starts a new generation even if it has the same number.
                    last_gen = None;
                    gi += 1;
                }
            }
        }
    }
    out
}

struct Full {
    name: String,
    data: Vec<u8>,
    ver: u32,
    hlen: usize,
    trace: Trace,
    /// Index of each Sync in the full event list (generation i starts at `syncs[i]`).
    syncs: Vec<usize>,
    batches: Vec<BatchInfo>,
}

impl Full {
    fn load(path: &std::path::Path) -> Full {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (ver, hlen) = wire::parse_header(&data).unwrap();
        let trace = parse(&data);
        assert!(trace.error.is_none(), "{name}: {:?}", trace.error);
        let syncs = (0..trace.events.len())
            .filter(|&i| trace.events.kind[i] == EventKind::Sync as u8)
            .collect();
        let batches = if ver >= 22 {
            batches(&data, ver, hlen)
        } else {
            Vec::new()
        };
        Full {
            name,
            data,
            ver,
            hlen,
            trace,
            syncs,
            batches,
        }
    }

    fn ngens(&self) -> usize {
        self.batches
            .last()
            .map_or(0, |b| b.gen + (b.kind != BKind::EndOfGen) as usize)
    }

    /// Generations whose batches all end at or before `o` (1.26+: whose EndOfGeneration
    /// is in).
    fn complete_gens(&self, o: usize) -> usize {
        let n = self.ngens();
        (0..n)
            .take_while(|&g| {
                let mut it = self.batches.iter().filter(|b| b.gen == g);
                if self.ver >= 26 {
                    it.any(|b| b.kind == BKind::EndOfGen && b.end <= o)
                } else {
                    it.all(|b| b.end <= o)
                }
            })
            .count()
    }

    /// The generation (file order) holding byte `p`, None in the header.
    fn gen_at(&self, p: usize) -> Option<usize> {
        self.batches
            .iter()
            .find(|b| b.start <= p && p < b.end)
            .map(|b| b.gen)
    }
}

fn check_table(t: &Trace, what: &str) {
    let e = &t.events;
    assert_eq!(e.kind.len(), e.time.len(), "{what}");
    assert_eq!(e.aux.len(), e.time.len(), "{what}");
    assert!(
        e.time.windows(2).all(|w| w[0] < w[1]),
        "{what}: times not strictly increasing"
    );
}

fn check_error(t: &Trace, what: &str) {
    let Some(e) = &t.error else { return };
    assert!(
        !e.message.starts_with("internal error")
            || e.message
                .contains("unexpectedly processing EndOfGeneration"),
        "{what}: {e:?}"
    );
    let v1_consistency = t.version < 22 && e.kind == ErrorKind::Validation;
    assert!(
        e.offset.is_some() || e.generation.is_some() || v1_consistency,
        "{what}: error without offset or generation: {e:?}"
    );
}

/// The first `n` events of `t` equal those of the full trace, column by column.
fn check_prefix(full: &Full, t: &Trace, n: usize, what: &str) {
    let (a, b) = (&full.trace.events, &t.events);
    assert!(
        b.len() >= n,
        "{what}: {} events, want at least the {n} of the complete generations ({:?})",
        b.len(),
        t.error
    );
    macro_rules! same {
        ($get:ident: $($col:ident),*) => {$(
            if let Some(i) = (0..n).find(|&i| a.$col.$get(i) != b.$col.$get(i)) {
                panic!("{what}: event {i} differs in {} ({:?})", stringify!($col), t.error);
            }
        )*};
    }
    same!(get: time, kind, stack, res_kind, from, to, name, aux);
    same!(get: g, p, m, arg);
}

const SLOW: Duration = Duration::from_secs(2);

fn parse_timed(data: &[u8], what: &str) -> Trace {
    let t0 = Instant::now();
    let t = parse(data);
    assert!(t0.elapsed() < SLOW, "{what}: parse took {:?}", t0.elapsed());
    t
}

fn check_cut(full: &Full, o: usize, stream: bool) {
    let what = format!("{} cut at {o}", full.name);
    let cut = &full.data[..o];
    let t = parse_timed(cut, &what);
    check_table(&t, &what);
    check_error(&t, &what);
    if stream {
        let s = gotrace_core::parse_read(cut, cut.len());
        assert_eq!(s.events.time, t.events.time, "{what}: streamed");
        assert_eq!(s.events.kind, t.events.kind, "{what}: streamed");
        assert_eq!(
            s.error.as_ref().map(|e| (&e.message, e.offset)),
            t.error.as_ref().map(|e| (&e.message, e.offset)),
            "{what}: streamed"
        );
    }
    if o == full.data.len() {
        assert!(t.error.is_none(), "{what}: {:?}", t.error);
        assert_eq!(t.events.len(), full.trace.events.len(), "{what}");
        return;
    }
    if o < full.hlen {
        assert!(t.error.is_some(), "{what}: a partial header parses");
        assert!(t.events.is_empty(), "{what}");
        return;
    }
    if full.ver < 22 {
        // Go's v1 parser reads the file whole and yields nothing when that fails.
        if let Some(e) = &t.error {
            if e.kind == ErrorKind::Format {
                assert!(
                    t.events.is_empty(),
                    "{what}: events before a v1 format error"
                );
            }
        }
        return;
    }
    // Go reads a lone EvExperimentalBatch byte at the end as a clean end of input.
    let o = match full.batches.iter().find(|b| b.start + 1 == o) {
        Some(b) if full.data[b.start] == wire::spec::EV_EXPERIMENTAL_BATCH => b.start,
        _ => o,
    };
    let c = full.complete_gens(o);
    let n = full.syncs[c];
    check_prefix(full, &t, n, &what);
    let ev = &t.events;
    assert_eq!(
        ev.kind.get(n).copied(),
        Some(EventKind::Sync as u8),
        "{what}: no Sync after the {c} complete generations ({:?})",
        t.error
    );
    // Batches after the complete generations that are wholly before the cut.
    let after: Vec<&BatchInfo> = full
        .batches
        .iter()
        .filter(|b| b.gen >= c && b.end <= o)
        .collect();
    let at_boundary = o == full.hlen || full.batches.iter().any(|b| b.end == o);
    if full.ver >= 26 {
        // A generation is read whole before any of it is emitted.
        assert_eq!(
            ev.len(),
            n + 1,
            "{what}: events of the cut generation ({:?})",
            t.error
        );
        let clean = at_boundary && after.iter().all(|b| b.kind == BKind::Table);
        assert_eq!(
            t.error.is_none(),
            clean,
            "{what}: clean cut = {clean}, error {:?}",
            t.error
        );
        return;
    }
    let first_of_next = full.batches.iter().find(|b| b.gen == c);
    match first_of_next {
        // Cut at the end of generation c-1 (nothing of c): a clean end, except that a
        // trace with no generation at all has no frequency.
        Some(b) if o == b.start => {
            assert_eq!(ev.len(), n + 1, "{what}");
            assert_eq!(t.error.is_none(), c > 0, "{what}: {:?}", t.error);
        }
        // Inside the first batch of generation c: c-1 is emitted, then the read error.
        Some(b) if o < b.end => {
            assert_eq!(ev.len(), n + 1, "{what}");
            assert!(t.error.is_some(), "{what}: a cut batch parses");
        }
        // Later in generation c: it may be emitted in part (if its tables are in).
        _ => {
            if !at_boundary {
                assert!(t.error.is_some(), "{what}: a cut batch parses");
            }
        }
    }
}

fn check_flip(full: &Full, pos: usize, bit: u32, stream: bool) {
    let what = format!("{} bit {bit} of byte {pos} flipped", full.name);
    let mut m = full.data.clone();
    m[pos] ^= 1 << bit;
    let t = parse_timed(&m, &what);
    check_table(&t, &what);
    check_error(&t, &what);
    if stream {
        let s = gotrace_core::parse_read(&m[..], m.len());
        assert_eq!(s.events.time, t.events.time, "{what}: streamed");
        assert_eq!(
            s.error.as_ref().map(|e| (&e.message, e.offset)),
            t.error.as_ref().map(|e| (&e.message, e.offset)),
            "{what}: streamed"
        );
    }
    if full.ver < 22 || pos < full.hlen {
        return;
    }
    let g = full
        .gen_at(pos)
        .expect("every byte after the header is in a batch");
    let intact = if full.ver >= 26 {
        g
    } else {
        // Reading generation g-1 ends by reading g's first batch.
        let first = full.batches.iter().position(|b| b.gen == g).unwrap();
        if pos < full.batches[first].end {
            g.saturating_sub(1)
        } else {
            g
        }
    };
    check_prefix(full, &t, full.syncs[intact], &what);
}

/// Cut offsets and flip positions for one file: every cut offset of files up to 12 kB
/// and every flip position up to 6 kB; for larger files every offset in the first 2 KiB
/// and the last 64 bytes, the batch boundaries and their neighbours, the first bytes of
/// the batch headers, and a spread sample sized so that each file costs about the same
/// (v1 parses are slower: a smaller budget).
fn sample(full: &Full, rng: &mut Rng) -> (Vec<usize>, Vec<(usize, u32)>) {
    let n = full.data.len();
    let bit = |rng: &mut Rng| (rng.next() % 8) as u32;
    let budget = if full.ver < 22 {
        12_000_000
    } else {
        30_000_000
    };
    let spread = (budget / n).clamp(40, 1000);
    let mut cuts: Vec<usize> = Vec::new();
    let mut flips: Vec<(usize, u32)> = Vec::new();
    if n <= 12_000 {
        cuts.extend(0..=n);
    } else {
        cuts.extend((0..2048).chain(n - 64..=n));
        for b in full.batches.iter().take(40) {
            cuts.extend([b.start.saturating_sub(1), b.start, b.start + 1, b.end - 1]);
        }
        for _ in 0..spread {
            cuts.push(2048 + rng.below(n - 2048));
        }
    }
    if n <= 6_000 {
        flips.extend((0..n).map(|p| (p, bit(rng))));
    } else {
        for b in full.batches.iter().take(30) {
            for p in b.start..(b.start + 6).min(b.end) {
                flips.push((p, bit(rng)));
            }
        }
        // v1 events are small and tightly packed: the first bytes densely.
        if full.ver < 22 {
            flips.extend((16..96).map(|p| (p, bit(rng))));
        }
        for _ in 0..spread {
            flips.push((rng.below(n), bit(rng)));
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    (cuts, flips)
}

/// Runs the sweep on every `k`-th file starting at `part` (the parts run in parallel).
fn sweep(part: usize, k: usize) {
    let Some(shared) = shared() else { return };
    let files = small_traces(&shared);
    assert!(
        files.len() > 60,
        "expected the whole small corpus, got {}",
        files.len()
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ part as u64);
    for path in files.iter().skip(part).step_by(k) {
        let full = Full::load(path);
        let (cuts, flips) = sample(&full, &mut rng);
        for (i, &o) in cuts.iter().enumerate() {
            check_cut(&full, o, i % 17 == 0);
        }
        for (i, &(p, bit)) in flips.iter().enumerate() {
            check_flip(&full, p, bit, i % 17 == 0);
        }
    }
}

#[test]
fn sweep_part_0() {
    sweep(0, 4);
}

#[test]
fn sweep_part_1() {
    sweep(1, 4);
}

#[test]
fn sweep_part_2() {
    sweep(2, 4);
}

#[test]
fn sweep_part_3() {
    sweep(3, 4);
}
