//! The v2 reader: Go's `Reader.ReadEvent` loop, run to the end, appending every event it
//! yields to the columnar store (or, for a consumer that makes the rows on its own
//! thread, queueing the ordered events: [`rows`]).
//!
//! Per generation: one cursor per M walks that M's batches (concatenated in file order).
//! The cursors sit in a min-heap keyed by the time of their next event. The head is
//! offered to the ordering state machine; if it cannot advance yet, the heap array is
//! sorted by time (a sorted array is still a heap) and the other cursors are tried in
//! that order; the first that advances wins. CPU samples bypass the state machine: one
//! is emitted whenever it is strictly earlier than the heap head. Every emitted event
//! (Syncs included) has its table references validated, then its time bumped to
//! `last+1` if it is not strictly after the previous event.
//!
//! The heap and sort are replicas of Go's (`batchcursor.go`, `slices.SortFunc`), because
//! with equal timestamps the choice between Ms is decided by the exact array layout.
//!
//! With a helper thread, a drained parse of a Go 1.26+ trace orders generation k+1
//! speculatively while it orders k, and merges the result if the speculation's
//! assumptions about the state before k+1 hold ([`speculative`],
//! [`crate::order::speculate`]); else it orders k+1 itself. The events are the same.

use rustc_hash::FxHashMap;

use crate::error::TraceError;
use std::sync::mpsc;

use rayon::prelude::*;

use crate::frontier::{self, HeapEnt, Index, Plain};
use crate::generation::{self, CpuSample, Freq, Generation, Pending, Tables};
use crate::order::{BaseEvent, Ctx, Ordering, QEvent, Wait};
use crate::store::{ClockSnapshot, EventKind, Row, Trace};
use crate::wire::{self, spec, spec::SPECS, uvarint, Batch, Cursor, Source, StreamSource};

pub(crate) mod rows;
mod speculative;
pub use rows::Unconverted;
use rows::{GenIds, Ids, RowNames, Side, Stw, LATE_CPU, LATE_SYNC};
pub use speculative::{set_speculation, speculation_counts, speculation_times};
use speculative::{speculate, speculation_for, Ahead, SpecIn, SpecJob, SpecRows};

/// A cursor over one M's decoded events of the current generation (Go's `batchCursor`).
struct BatchCursor {
    m: i64,
    /// The ordering's slot for `m`.
    m_slot: u32,
    /// Index of this M's stream in `Reader::streams`.
    mi: usize,
    /// Position of the cursor's current event in its stream.
    pos: usize,
}

/// One M's events of a generation, decoded ahead of ordering (Go decodes each event when
/// its cursor moves onto it), then the decode error that ends them, which the reader
/// reports when a cursor reaches it, exactly where Go meets it. Decoded either all at
/// once, or (to bound memory) [`PIECE`] events at a time as the cursor reaches them:
/// decoding then resumes in batch `next` at byte `off` with the time `last_ts`
/// ([`MStream::refill`]).
#[derive(Default)]
pub(crate) struct MStream {
    evs: Vec<BaseEvent>,
    err: Option<Box<TraceError>>,
    next: usize,
    off: usize,
    last_ts: i64,
}

/// Most events of one M decoded at a time when decoding lazily.
const PIECE: usize = 4096;

impl MStream {
    /// Whether the cursor at `pos` has used up the decoded events and more batches wait.
    #[inline(always)]
    fn exhausted(&self, pos: usize, batches: usize) -> bool {
        pos >= self.evs.len() && self.next < batches && self.err.is_none()
    }

    /// Replaces the decoded events with the next (up to [`PIECE`]) events of the M's
    /// batches, or up to the decode error.
    #[cold]
    fn refill(&mut self, batches: &[Batch], buf: &[u8], freq: Freq) {
        self.evs.clear();
        while self.evs.is_empty() && self.err.is_none() && self.next < batches.len() {
            let b = &batches[self.next];
            self.evs.reserve(((b.len - self.off) / 5 + 1).min(PIECE));
            let (off, last_ts, err) =
                decode_batch(b, buf, freq, self.off, self.last_ts, &mut self.evs, PIECE);
            self.err = err;
            if off >= b.len {
                (self.next, self.off, self.last_ts) = (self.next + 1, 0, 0);
            } else {
                (self.off, self.last_ts) = (off, last_ts);
            }
        }
    }
}

/// Go's `batchCursor.nextEvent`, run over all of one M's batches at once. `evs` is a
/// recycled buffer.
fn decode_m(batches: &[Batch], buf: &[u8], freq: Freq, mut evs: Vec<BaseEvent>) -> MStream {
    evs.clear();
    // Events take 7-8 bytes on the wire: reserve once for all of them.
    evs.reserve(batches.iter().map(|b| b.len).sum::<usize>() / 5 + 1);
    for b in batches {
        if let (_, _, Some(err)) = decode_batch(b, buf, freq, 0, 0, &mut evs, usize::MAX) {
            return MStream {
                evs,
                err: Some(err),
                next: batches.len(),
                ..MStream::default()
            };
        }
    }
    MStream {
        evs,
        err: None,
        next: batches.len(),
        ..MStream::default()
    }
}

/// Appends the events of batch `b` from byte `off` on (the time before them `last_ts`,
/// 0 at the batch's start) to `evs` until it holds `limit` events: where it stopped, the
/// time there, and the decode error that stopped it, if any.
#[inline(always)]
fn decode_batch(
    b: &Batch,
    buf: &[u8],
    freq: Freq,
    mut off: usize,
    mut last_ts: i64,
    evs: &mut Vec<BaseEvent>,
    limit: usize,
) -> (usize, i64, Option<Box<TraceError>>) {
    let data = b.data(buf);
    while off < data.len() && evs.len() < limit {
        if last_ts == 0 {
            last_ts = freq.ns(b.time);
        }
        match decode_event(&data[off..], freq, last_ts) {
            Some((n, ev)) => {
                last_ts = ev.time;
                off += n;
                evs.push(ev);
            }
            None => {
                return (
                    off,
                    last_ts,
                    Some(decode_error(&data[off..], b.offset + off)),
                )
            }
        }
    }
    (off, last_ts, None)
}

/// Go's `readTimedBaseEvent` plus the cursor's time arithmetic: one event of an event
/// batch (any version reads the full spec table here), `None` if it does not decode.
/// Go reuses one event per cursor, so slots past an event's own arguments hold stale
/// values there; here they are 0. Nothing reads them before the ordering writes them
/// (experimental events, which carry all four slots into the result, are cut to their
/// own arguments), so this is not observable. The arguments stay in registers: the
/// event is built whole, never stored piecewise and reloaded.
#[inline(always)]
fn decode_event(d: &[u8], freq: Freq, last_ts: i64) -> Option<(usize, BaseEvent)> {
    let typ = d[0];
    let nargs = NARGS[typ as usize];
    if nargs == NOT_TIMED {
        return None;
    }
    let mut pos = 1;
    let ts = uv(d, &mut pos)?;
    let (mut a0, mut a1, mut a2, mut a3) = (0, 0, 0, 0);
    if nargs > 0 {
        a0 = uv(d, &mut pos)?;
        if nargs > 1 {
            a1 = uv(d, &mut pos)?;
            if nargs > 2 {
                a2 = uv(d, &mut pos)?;
                if nargs > 3 {
                    a3 = uv(d, &mut pos)?;
                }
            }
        }
    }
    let time = freq.ns(ts).wrapping_add(last_ts);
    Some((
        pos,
        BaseEvent {
            typ,
            time,
            args: [a0, a1, a2, a3],
        },
    ))
}

/// Go's fix-up of event times: `t`, or one past the time before (`last`) if not later
/// than it; `last` becomes the result.
#[inline(always)]
fn later(last: &mut i64, t: i64) -> i64 {
    *last = if t <= *last { last.wrapping_add(1) } else { t };
    *last
}

/// Go's `binary.Uvarint`, success only: any failure (truncated, overflow) is `None`, and
/// the caller re-decodes on its cold path to say which.
#[inline(always)]
fn uv(b: &[u8], pos: &mut usize) -> Option<u64> {
    // Most arguments (deltas, sequence numbers, small IDs) take one or two bytes.
    let p = *pos;
    if p + 1 < b.len() {
        let b0 = b[p];
        if b0 < 0x80 {
            *pos = p + 1;
            return Some(b0 as u64);
        }
        let b1 = b[p + 1];
        if b1 < 0x80 {
            *pos = p + 2;
            return Some((b0 & 0x7f) as u64 | (b1 as u64) << 7);
        }
    }
    uv_slow(b, pos)
}

#[inline(never)]
fn uv_slow(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut x = 0u64;
    let mut s = 0u32;
    let mut i = *pos;
    let end = b.len().min(*pos + 10);
    while i < end {
        let c = b[i];
        if c < 0x80 {
            if i - *pos == 9 && c > 1 {
                return None;
            }
            *pos = i + 1;
            return Some(x | (c as u64) << s);
        }
        x |= ((c & 0x7f) as u64) << s;
        s += 7;
        i += 1;
    }
    None
}

/// The message Go's `readTimedBaseEvent` gives for an event that does not decode.
#[cold]
#[inline(never)]
fn decode_error(b: &[u8], offset: usize) -> Box<TraceError> {
    let mut e = BaseEvent::default();
    let msg = match read_timed_base_event_checked(b, &mut e) {
        Err(m) => m,
        Ok(_) => "internal error: event decodes on retry".to_string(),
    };
    Box::new(TraceError::format(msg, offset as u64))
}

/// Go's `readTimedBaseEvent` with its error messages (used to explain a failure).
fn read_timed_base_event_checked(b: &[u8], e: &mut BaseEvent) -> Result<(usize, u64), String> {
    let typ = b[0];
    let nargs = NARGS[typ as usize];
    if nargs == NOT_TIMED {
        if typ as usize >= SPECS.len() {
            return Err(format!("found invalid event type: {typ}"));
        }
        return Err(format!("found event without a timestamp: type={typ}"));
    }
    let mut n = 1;
    let (ts, nb) = uvarint(&b[n..]);
    if nb <= 0 {
        return Err("found invalid uvarint for timestamp".into());
    }
    n += nb as usize;
    for i in 0..nargs as usize {
        let (a, nb) = uvarint(&b[n..]);
        if nb <= 0 {
            return Err("found invalid uvarint".into());
        }
        e.args[i] = a;
        n += nb as usize;
    }
    Ok((n, ts))
}

/// Asks the CPU to bring the cache line at `p` in (any address: a prefetch never faults).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and cannot fault.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Per wire type: number of arguments after the timestamp, or `NOT_TIMED`.
static NARGS: [u8; 256] = {
    let mut t = [NOT_TIMED; 256];
    let mut i = 0;
    while i < SPECS.len() {
        if !SPECS[i].args.is_empty() && SPECS[i].is_timed {
            t[i] = (SPECS[i].args.len() - 1) as u8;
        }
        i += 1;
    }
    t
};
const NOT_TIMED: u8 = u8::MAX;

/// Per wire type: index in `BaseEvent::args` of the event's own stack ID, or `NO_STACK`.
static STACK_ARG: [u8; 256] = {
    let mut t = [NO_STACK; 256];
    let mut i = 0;
    while i < SPECS.len() {
        if !SPECS[i].stack_ids.is_empty() {
            t[i] = (SPECS[i].stack_ids[0] - 1) as u8;
        }
        i += 1;
    }
    t
};
const NO_STACK: u8 = u8::MAX;

/// What one `ReadEvent` call yields, before validation and the time fix-up.
enum Out {
    /// An M advanced; its events are in the ordering's queue.
    Advanced,
    /// A generation ordered speculatively, to be merged (or ordered again).
    Spec(Box<SpecIn>),
    Cpu(CpuSample),
    Sync {
        time: i64,
        snapshot: Option<ClockSnapshot>,
    },
}

/// Global string IDs of the names the reader synthesises.
#[derive(Clone)]
struct Names {
    row: RowNames,
    stw: FxHashMap<u32, u32>,
}

impl Names {
    /// The name of an STW range with the reason string `reason` (global ID), interned on
    /// first use.
    fn stw_name(&mut self, reason: u32, strings: &mut crate::store::StringTable) -> u32 {
        rows::stw_name(&mut self.stw, reason, strings)
    }
}

/// Options of a parse. `Default` is a plain parse on all cores: every event kept, no
/// limit. The events never depend on `threads`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Threads to use, the calling thread included: `None` (or 0) = one per core, or
    /// `RAYON_NUM_THREADS` if that is set; `Some(1)` = everything on the calling thread.
    pub threads: Option<usize>,
    /// Stop after this many events (None: no limit): the trace then holds the first
    /// `max_events` events and ends with an `ErrorKind::Limit` error naming the
    /// generation and the bytes read so far.
    pub max_events: Option<u64>,
    /// True for a sink that empties the event table from its [`Hook`]: the table is then
    /// not sized for the whole input up front, the hook is also called whenever the
    /// table holds [`ParseOptions::chunk_rows`] rows, and each M's events are decoded a
    /// batch at a time (not a generation ahead), so that memory stays small.
    pub drained: bool,
    /// Rows between hook calls of a drained parse (0: [`CHUNK_ROWS`]).
    pub chunk_rows: usize,
    /// With `drained`, for a Go 1.22+ trace: leave the events' conversion into rows to
    /// the hook's side, which finds them ordered in `Trace::unconverted` (not in
    /// `Trace::events`) and converts them with [`Unconverted::convert_into`], on another
    /// thread if it likes ([`crate::stream::drain_pipelined`] does). The rows are the same.
    /// A v1 trace fills `Trace::events` whatever this says.
    pub unconverted: bool,
}

/// Default rows between the hook calls of a drained parse.
pub const CHUNK_ROWS: usize = 1 << 16;

impl ParseOptions {
    /// Rows between hook calls inside a generation: 0 for a parse that is not drained.
    fn chunk(&self) -> usize {
        match (self.drained, self.chunk_rows) {
            (false, _) => 0,
            (true, 0) => CHUNK_ROWS,
            (true, n) => n,
        }
    }

    /// Whether a v2 reader leaves the rows to the hook's side.
    fn late(&self) -> bool {
        self.drained && self.unconverted
    }

    pub fn threads(threads: Option<usize>) -> Self {
        ParseOptions {
            threads,
            ..ParseOptions::default()
        }
    }

    /// The number of threads a parse with these options uses (at least 1).
    pub fn thread_count(&self) -> usize {
        match self.threads {
            Some(n) if n > 0 => n,
            _ => env_threads()
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }

    /// Threads for an input of `size` bytes: by default, small inputs (a generation or
    /// two) are parsed on the calling thread, where starting helper threads would cost
    /// more than they save; a count given here or in `RAYON_NUM_THREADS` always holds.
    pub(crate) fn thread_count_for(&self, size: usize) -> usize {
        let given = matches!(self.threads, Some(n) if n > 0) || env_threads().is_some();
        if !given && size < SMALL_INPUT {
            1
        } else {
            self.thread_count()
        }
    }
}

fn env_threads() -> Option<usize> {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
}

const SMALL_INPUT: usize = 1 << 20;

/// A generation with its events decoded, per M (`streams[i]` is the M of
/// `gen.batches[i]`). Its event bytes (`gen.buf`) go back to the loader once decoded.
pub(crate) struct Prepared {
    gen: Generation,
    streams: Vec<MStream>,
}

/// Largest generation ordered speculatively (event bytes): a speculation holds its
/// generation's rows (~5x the bytes) until the merge, which a drained parse would not.
const SPEC_MAX_BYTES: usize = 32 << 20;

impl Prepared {
    /// Bytes of the generation's event batches.
    fn event_bytes(&self) -> usize {
        self.gen
            .batches
            .iter()
            .flat_map(|(_, b)| b)
            .map(|b| b.len)
            .sum()
    }
}

/// One generation read (Go's `readGeneration` / `readGenerationWithSpill`), with the
/// interning of its tables still to be merged into the trace's.
struct Loaded {
    pending: Pending,
    out: LoadOut,
    /// This read is the one that met the input's I/O error.
    io_failed: bool,
    /// Input bytes consumed once this generation was read.
    pos: u64,
}

/// Frontier entries sorted or tried between hook calls inside a generation. Go's search
/// for the next event (sort the frontier, try each M in turn) is linear in the number of
/// Ms with events left; the index of [`crate::frontier`] avoids most of that, but a
/// hostile generation whose frontier is unsorted at every blocked step still costs a sort
/// of the frontier per event. Calling the hook after this much work keeps such a parse
/// interruptible.
const WORK_CHECK: u64 = 1 << 20;

/// Frontier size from which the reader indexes its search (see [`crate::frontier`]);
/// 0 = [`crate::frontier::INDEX_MIN`]. Tests set it to 1 to run every search through
/// the index, or to `usize::MAX` for none.
static INDEX_FROM: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the frontier size from which searches are indexed, for all parses of this
/// process (`None`: the default). The output is the same either way; only the time a
/// hostile trace takes changes. For tests that compare the two searches.
#[doc(hidden)]
pub fn set_frontier_index_from(n: Option<usize>) {
    INDEX_FROM.store(n.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

pub(crate) fn index_from() -> usize {
    match INDEX_FROM.load(std::sync::atomic::Ordering::Relaxed) {
        0 => crate::frontier::INDEX_MIN,
        n => n,
    }
}

enum LoadOut {
    /// Go 1.26+: a generation, the clean end of the trace, or an error.
    V26(Result<Option<Prepared>, TraceError>),
    /// Before 1.26: the generation (`None` if reading it failed), whether a spilled
    /// batch announces another one, and an error to report after it (or instead).
    Spill {
        gen: Option<Prepared>,
        more: bool,
        err: Option<TraceError>,
    },
}

impl Loaded {
    /// Whether the reader reads another generation after this one, unless ordering
    /// this one fails: only then may it be read ahead.
    fn continues(&self) -> bool {
        match &self.out {
            LoadOut::V26(r) => matches!(r, Ok(Some(_))),
            LoadOut::Spill { gen, more, err } => gen.is_some() && *more && err.is_none(),
        }
    }

    /// About how many rows the generation adds to the table.
    fn rows_estimate(&self) -> usize {
        let p = match &self.out {
            LoadOut::V26(Ok(Some(p))) => p,
            LoadOut::Spill { gen: Some(p), .. } => p,
            _ => return 1,
        };
        let decoded: usize = p.streams.iter().map(|s| s.evs.len()).sum();
        let bytes = p.event_bytes();
        // Decoded a batch at a time: ~7.5 bytes per event.
        let evs = decoded.max(bytes * 2 / 15);
        evs + evs / 64 + p.gen.cpu_samples.len() + 1
    }
}

/// Reads generations from the input, one at a time, and decodes their events.
struct Loader<S> {
    cur: S,
    ver: u32,
    spill: Option<generation::Spill>,
    /// Event buffers of finished generations, for reuse.
    spare: Vec<Vec<BaseEvent>>,
    /// The byte buffer of the last generation, for reuse (fresh memory costs a page
    /// fault per 4 KiB).
    spare_buf: Vec<Vec<u8>>,
    /// Leave the decoding to the cursors, a batch at a time (see [`MStream`]).
    lazy: bool,
}

impl<S: Source> Loader<S> {
    fn new(src: S, ver: u32, lazy: bool) -> Self {
        Loader {
            cur: src,
            ver,
            spill: None,
            spare: Vec::new(),
            spare_buf: Vec::new(),
            lazy,
        }
    }

    fn load(&mut self, parallel: bool) -> Loaded {
        let before = self.cur.io_failed();
        let mut pending = Pending::default();
        let out = if self.ver < 26 {
            let r = generation::read_generation_with_spill(
                &mut self.cur,
                self.spill.take(),
                self.ver,
                &mut pending,
                self.spare_buf.pop().unwrap_or_default(),
            );
            self.spill = r.spill;
            LoadOut::Spill {
                gen: r.gen.map(|g| self.prepare(g, parallel)),
                more: self.spill.is_some(),
                err: r.err,
            }
        } else {
            LoadOut::V26(
                generation::read_generation(
                    &mut self.cur,
                    self.ver,
                    &mut pending,
                    self.spare_buf.pop().unwrap_or_default(),
                )
                .map(|g| g.map(|g| self.prepare(g, parallel))),
            )
        };
        Loaded {
            pending,
            out,
            io_failed: !before && self.cur.io_failed(),
            pos: self.cur.pos() as u64,
        }
    }

    fn prepare(&mut self, gen: Generation, parallel: bool) -> Prepared {
        if self.lazy {
            // The generation keeps its bytes; each M reuses a small buffer.
            let streams = gen
                .batches
                .iter()
                .map(|_| {
                    let mut evs = self.spare.pop().unwrap_or_default();
                    evs.clear();
                    MStream {
                        evs,
                        ..MStream::default()
                    }
                })
                .collect();
            return Prepared { gen, streams };
        }
        // The largest spare buffers go to the Ms with the most bytes, so that buffers
        // rarely grow (a reallocation takes the address-space lock the other thread's
        // page faulting also needs).
        let sizes: Vec<usize> = gen
            .batches
            .iter()
            .map(|(_, bs)| bs.iter().map(|b| b.len).sum())
            .collect();
        let mut by_size: Vec<usize> = (0..sizes.len()).collect();
        by_size.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
        self.spare.sort_by_key(|v| v.capacity());
        let mut bufs: Vec<Vec<BaseEvent>> = (0..sizes.len()).map(|_| Vec::new()).collect();
        for &i in &by_size {
            bufs[i] = self.spare.pop().unwrap_or_default();
        }
        let (buf, freq) = (&gen.buf, gen.freq);
        let streams = if parallel {
            gen.batches
                .par_iter()
                .zip(bufs)
                .map(|((_, b), v)| decode_m(b, buf, freq, v))
                .collect()
        } else {
            gen.batches
                .iter()
                .zip(bufs)
                .map(|((_, b), v)| decode_m(b, buf, freq, v))
                .collect()
        };
        // The bytes stay with the generation: a speculative ordering that fails
        // decodes them again (they come back through `Supply::next`).
        Prepared { gen, streams }
    }
}

/// Hands the reader its next generation.
trait Supply {
    /// The next generation read; `spare` are the event buffers of the finished one, and
    /// `buf` its bytes if it kept them.
    fn next(&mut self, trace: &mut Trace, spare: Vec<Vec<BaseEvent>>, buf: Vec<u8>) -> Loaded;

    /// The parse ended before the reader used a generation read ahead whose read met
    /// the input's I/O error: that read does not count.
    fn unread_io_error(&mut self);

    /// Whether the supply reads on another thread (and [`Supply::spawn`] runs there).
    fn threaded(&self) -> bool {
        false
    }

    /// Runs `job` on another thread if there is one, else here and now.
    fn spawn(&mut self, job: Box<dyn FnOnce() + Send>) {
        job()
    }
}

impl<S> Loader<S> {
    fn recycle(&mut self, spare: Vec<Vec<BaseEvent>>, buf: Vec<u8>) {
        self.spare.extend(spare);
        // Up to three generations' bytes are in use at a time (one ordered, one ordered
        // speculatively, one read ahead).
        if buf.capacity() > 0 && self.spare_buf.len() < 3 {
            self.spare_buf.push(buf);
        }
    }
}

/// Reads each generation when the reader asks for it.
struct SeqSupply<S>(Loader<S>);

impl<S: Source> Supply for SeqSupply<S> {
    fn unread_io_error(&mut self) {
        self.0.cur.forget_io_error();
    }

    fn next(&mut self, _: &mut Trace, spare: Vec<Vec<BaseEvent>>, buf: Vec<u8>) -> Loaded {
        self.0.recycle(spare, buf);
        self.0.load(false)
    }
}

/// Reads (and decodes) generation g+1 on a pool thread while the reader orders
/// generation g, then faults in the table's pages for g+1's rows. A generation read
/// ahead is only a value: the trace is changed when the reader consumes it (its tables
/// are merged then), so a parse that stops early is unaffected.
struct ParSupply<'a, 'scope, S> {
    scope: &'a rayon::Scope<'scope>,
    loader: Option<Loader<S>>,
    /// The generation being read ahead (a channel per read: a reader thread that
    /// panics drops its sender, and `recv` fails instead of waiting forever).
    inflight: Option<mpsc::Receiver<(Loader<S>, Loaded)>>,
}

impl<'scope, S: Source + Send + 'scope> Supply for ParSupply<'_, 'scope, S> {
    fn unread_io_error(&mut self) {
        // After a failed read nothing more is read ahead: the loader is back here.
        if let Some(l) = self.loader.as_mut() {
            l.cur.forget_io_error();
        }
    }

    fn threaded(&self) -> bool {
        true
    }

    fn spawn(&mut self, job: Box<dyn FnOnce() + Send>) {
        self.scope.spawn(move |_| job());
    }

    fn next(&mut self, trace: &mut Trace, spare: Vec<Vec<BaseEvent>>, buf: Vec<u8>) -> Loaded {
        let (mut loader, loaded) = if let Some(rx) = self.inflight.take() {
            speculative::timed(speculative::WAIT_LOAD, || rx.recv())
                .expect("generation reader thread failed")
        } else {
            // The first generation: on this thread, which is not in the pool (a
            // parallel iterator here would start rayon's global pool).
            let mut l = self.loader.take().expect("loader");
            let r = l.load(false);
            (l, r)
        };
        loader.recycle(spare, buf);
        if loaded.continues() {
            // A drained table reuses its rows: nothing to fault in ahead.
            let prefault = (!loader.lazy).then(|| trace.events.prefault_job());
            let start = trace.events.len() + loaded.rows_estimate();
            let (tx, rx) = mpsc::channel();
            self.scope.spawn(move |_| {
                let next = speculative::timed(speculative::LOAD, || loader.load(true));
                let end = start + next.rows_estimate();
                let _ = tx.send((loader, next));
                if let Some(p) = prefault {
                    p.run(end);
                }
            });
            self.inflight = Some(rx);
        } else {
            self.loader = Some(loader);
        }
        loaded
    }
}

impl<S: Source> ParSupply<'_, '_, S> {
    /// Waits for a generation still being read ahead and drops it, with the I/O error
    /// it met: the sequential reader never reads it.
    fn finish(&mut self) {
        if let Some(rx) = self.inflight.take() {
            if let Ok((mut loader, loaded)) = rx.recv() {
                if loaded.io_failed {
                    loader.cur.forget_io_error();
                }
            }
        }
    }
}

struct Reader {
    ver: u32,
    last_ts: i64,
    gen: Option<Generation>,
    /// The current generation's events, per M.
    streams: Vec<MStream>,
    /// Go's frontier heap, over `cursors`.
    frontier: Vec<HeapEnt>,
    cursors: Vec<BatchCursor>,
    cpu_idx: usize,
    order: Ordering,
    syncs: u64,
    read_gen_err: Option<TraceError>,
    done: bool,
    /// Before 1.26: the last read found the next generation's first batch.
    more: bool,
    spill_err: Option<TraceError>,
    spill_err_sync: bool,
    names: Names,
    /// Most events to store (`u64::MAX`: no limit).
    limit: u64,
    /// Number of the last generation installed (for the limit error after the last one).
    last_gen: Option<u64>,
    /// Input bytes consumed up to the end of the generation being ordered.
    pos: u64,
    /// Frontier entries tried since the hook was last called (see [`WORK_CHECK`]).
    work: u64,
    /// The index over a large frontier, made when its top cannot advance (see
    /// [`crate::frontier`]).
    index: Option<Box<Index>>,
    /// Events the index's top advanced since the last search past it.
    unblocked: usize,
    /// Scratch for wait keys.
    waits: Vec<Wait>,
    /// Speculative ordering of one generation (see [`speculate`]): the rows the merge
    /// must complete. None: the ordinary reader.
    spec_rows: Option<Box<SpecRows>>,
    /// Order the generation after the current one speculatively, on another thread.
    speculate: bool,
    /// The generation after the current one, read ahead (and maybe being ordered).
    ahead: Option<Ahead>,
    /// The table of the last merged speculation, for the next.
    spare_table: Option<crate::store::Events>,
    /// Set when the rows are made on another thread ([`ParseOptions::unconverted`]):
    /// events are queued in `Trace::unconverted` (see [`rows`]).
    late: Option<Late>,
}

/// A reader that leaves the rows to another thread: the maps of the generation being
/// ordered, shared once one of its events needs them.
struct Late {
    ids: Option<std::sync::Arc<GenIds>>,
    /// Events to make room for in a new queue (a chunk's).
    room: usize,
    /// The ordering's queue is the chunk being filled (its events are not copied out
    /// after each advance: that copy, into memory another thread reads next, cost a
    /// fifth of the reader's time); the first `done` are complete (time fixed, STW
    /// range named). [`Reader::flush_late`] hands them to `Trace::unconverted`.
    done: usize,
}

/// What the readers call now and then with the trace built so far and the number of input
/// bytes consumed: the v2 reader after storing each generation's Sync event (and the
/// final one) and, in a drained parse ([`ParseOptions::drained`]), whenever the table
/// holds [`ParseOptions::chunk_rows`] rows, and after a long search for the next event
/// ([`WORK_CHECK`]); the v1 reader every [`crate::v1::CHECK_EVERY`] events. Returning
/// `true` stops the parse (the trace then ends with an `ErrorKind::Interrupted` error
/// after the events read so far). A sink may consume `trace.events` and empty it with
/// [`Trace::clear_events`]: events stored later (and their side-table references) then
/// start from zero again.
pub type Hook<'a> = dyn FnMut(&mut Trace, u64) -> bool + 'a;

/// Parses a whole trace held in memory, on all cores.
pub fn parse(data: &[u8]) -> Trace {
    parse_with(data, &ParseOptions::default(), &mut |_, _| false)
}

/// [`parse`], asking `interrupt` once per generation whether to give up (then the trace
/// ends with an `ErrorKind::Interrupted` error after the events read so far).
pub fn parse_interruptible(data: &[u8], interrupt: &mut dyn FnMut() -> bool) -> Trace {
    parse_with(data, &ParseOptions::default(), &mut |_, _| interrupt())
}

/// [`parse_interruptible`] that stops after `max_events` events (see [`ParseOptions`]).
pub fn parse_limited(
    data: &[u8],
    max_events: Option<u64>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Trace {
    let opts = ParseOptions {
        max_events,
        ..ParseOptions::default()
    };
    parse_with(data, &opts, &mut |_, _| interrupt())
}

/// [`parse`] with options, calling `hook` as described at [`Hook`].
pub fn parse_with(data: &[u8], opts: &ParseOptions, hook: &mut Hook) -> Trace {
    let (trace, hlen) = match start(wire::parse_header(data)) {
        Ok(v) => v,
        Err(t) => return *t,
    };
    let limit = opts.max_events.unwrap_or(u64::MAX);
    let threads = opts.thread_count_for(data.len());
    if trace.version < 22 {
        return parse_v1(
            &data[hlen..],
            hlen,
            trace,
            limit,
            threads,
            opts.drained,
            hook,
        );
    }
    let reserve = if opts.drained { 0 } else { data.len() };
    run(
        Cursor::new(data, hlen),
        reserve,
        trace,
        hook,
        limit,
        threads,
        opts,
    )
}

/// Parses a trace from a stream (a file), keeping only a generation or two of its bytes
/// in memory at a time, on the calling thread. `size_hint` (e.g. the file size) sizes
/// the event table up front. An I/O error ends the parse with an `ErrorKind::Io` error.
pub fn parse_read<R: std::io::Read>(r: R, size_hint: usize) -> Trace {
    parse_read_interruptible(r, size_hint, &mut || false)
}

/// [`parse_read`] with an interrupt check per generation, as [`parse_interruptible`].
pub fn parse_read_interruptible<R: std::io::Read>(
    r: R,
    size_hint: usize,
    interrupt: &mut dyn FnMut() -> bool,
) -> Trace {
    parse_read_seq(r, size_hint, &ParseOptions::default(), &mut |_, _| {
        interrupt()
    })
}

/// [`parse_read_interruptible`] with an event limit, as [`parse_limited`].
pub fn parse_read_limited<R: std::io::Read>(
    r: R,
    size_hint: usize,
    max_events: Option<u64>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Trace {
    let opts = ParseOptions {
        max_events,
        ..ParseOptions::default()
    };
    parse_read_seq(r, size_hint, &opts, &mut |_, _| interrupt())
}

/// [`parse_read`] with options, calling `hook` as described at [`Hook`] (v1 traces are
/// read whole whatever the options). With more than one thread the reader has to be
/// `Send`: it is read on a helper thread, a generation ahead of the ordering.
pub fn parse_read_with<R: std::io::Read + Send>(
    r: R,
    size_hint: usize,
    opts: &ParseOptions,
    hook: &mut Hook,
) -> Trace {
    let limit = opts.max_events.unwrap_or(u64::MAX);
    let reserve = if opts.drained { 0 } else { size_hint };
    let mut src = StreamSource::new(r);
    let threads = opts.thread_count_for(size_hint);
    let (trace, _) = match read_start(&mut src, size_hint, limit, threads, opts.drained, hook) {
        Ok(v) => v,
        Err(t) => return *t,
    };
    let trace = run(&mut src, reserve, trace, hook, limit, threads, opts);
    with_io_error(trace, &mut src)
}

/// [`parse_read_with`] for a reader that is not `Send`: a v2 trace is read and ordered on
/// the calling thread.
fn parse_read_seq<R: std::io::Read>(
    r: R,
    size_hint: usize,
    opts: &ParseOptions,
    hook: &mut Hook,
) -> Trace {
    let limit = opts.max_events.unwrap_or(u64::MAX);
    let reserve = if opts.drained { 0 } else { size_hint };
    let mut src = StreamSource::new(r);
    let threads = opts.thread_count_for(size_hint);
    let (trace, _) = match read_start(&mut src, size_hint, limit, threads, opts.drained, hook) {
        Ok(v) => v,
        Err(t) => return *t,
    };
    let trace = run_seq(&mut src, reserve, trace, hook, limit, opts);
    with_io_error(trace, &mut src)
}

/// The header of a streamed trace; a v1 trace is read and parsed whole here (`Err`
/// then carries the finished trace).
fn read_start<R: std::io::Read>(
    src: &mut StreamSource<R>,
    size_hint: usize,
    limit: u64,
    threads: usize,
    drained: bool,
    hook: &mut Hook,
) -> Result<(Trace, usize), Box<Trace>> {
    // The header has no fixed length (runs of spaces, leading zeros): fed in pieces.
    let mut scan = wire::HeaderScanner::default();
    let header = loop {
        const PIECE: usize = 4096;
        let head = src.peek(PIECE);
        let eof = head.len() < PIECE;
        let (n, done) = scan.feed(head, eof);
        src.skip(n);
        if let Some(r) = done {
            break r.map(|v| (v, scan.len));
        }
    };
    let (trace, hlen) = match start(header) {
        Ok(v) => v,
        Err(t) => return Err(Box::new(with_io_error(*t, src))),
    };
    if trace.version < 22 {
        // The v1 format has no generations: its body is read whole.
        let mut body = Vec::with_capacity(size_hint.saturating_sub(hlen));
        src.read_rest(&mut body);
        let trace = parse_v1(&body, hlen, trace, limit, threads, drained, hook);
        return Err(Box::new(with_io_error(trace, src)));
    }
    Ok((trace, hlen))
}

/// Go 1.11-1.21 traces (the v1 format): `body` is the input after its `hlen`-byte header.
fn parse_v1(
    body: &[u8],
    hlen: usize,
    trace: Trace,
    limit: u64,
    threads: usize,
    drained: bool,
    hook: &mut Hook,
) -> Trace {
    let mut t = crate::v1::parse_with(body, hlen, trace.version, threads, drained, hook);
    // The v1 format is read whole: the limit cuts the converted list (an error after
    // the limit is not reached, since the events before it would stop the caller first).
    if t.events.len() as u64 > limit {
        t.events.truncate(limit as usize);
        t.events.shrink_to_fit();
        t.error = Some(TraceError::limit(limit, None, (hlen + body.len()) as u64));
    }
    t
}

/// Rows to reserve up front: ~1 per 6 input bytes, but no more than the limit needs.
const fn reserve_for(size_hint: usize, limit: u64) -> usize {
    let by_size = size_hint / 6 + 16;
    if (by_size as u64) > limit {
        limit as usize + 16
    } else {
        by_size
    }
}

fn with_io_error<R: std::io::Read>(mut trace: Trace, src: &mut StreamSource<R>) -> Trace {
    if let Some(e) = src.error.take() {
        trace.error = Some(TraceError::io(e.to_string(), src.pos() as u64));
    }
    trace
}

/// Reads the header: the empty trace with its version set, and the header's length.
fn start(header: Result<(u32, usize), String>) -> Result<(Trace, usize), Box<Trace>> {
    let mut trace = Trace::default();
    match header {
        Ok((ver, hlen)) => {
            trace.version = ver;
            Ok((trace, hlen))
        }
        Err(msg) => {
            trace.error = Some(if msg.starts_with("unknown") {
                TraceError::unsupported(msg)
            } else {
                TraceError::format(msg, 0)
            });
            Err(Box::new(trace))
        }
    }
}

/// Runs the v2 reader over `src` (positioned after the header) with `threads` threads
/// (`opts` for the rest: drained or not, chunk rows, rows left unconverted).
fn run<S: Source + Send>(
    src: S,
    size_hint: usize,
    trace: Trace,
    hook: &mut Hook,
    limit: u64,
    threads: usize,
    opts: &ParseOptions,
) -> Trace {
    if threads <= 1 {
        return run_seq(src, size_hint, trace, hook, limit, opts);
    }
    // The calling thread orders; the pool reads ahead.
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads - 1)
        .thread_name(|i| format!("gotrace-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(_) => return run_seq(src, size_hint, trace, hook, limit, opts),
    };
    let ver = trace.version;
    let trace = pool.in_place_scope(|s| {
        let mut sup = ParSupply {
            scope: s,
            loader: Some(Loader::new(src, ver, opts.chunk() > 0)),
            inflight: None,
        };
        let trace = drive(trace, size_hint, &mut sup, hook, limit, opts);
        sup.finish();
        trace
    });
    finalize(trace)
}

/// Runs the v2 reader on the calling thread.
fn run_seq<S: Source>(
    src: S,
    size_hint: usize,
    trace: Trace,
    hook: &mut Hook,
    limit: u64,
    opts: &ParseOptions,
) -> Trace {
    let ver = trace.version;
    let mut sup = SeqSupply(Loader::new(src, ver, opts.chunk() > 0));
    finalize(drive(trace, size_hint, &mut sup, hook, limit, opts))
}

fn finalize(mut trace: Trace) -> Trace {
    trace.events.shrink_to_fit();
    trace.strings.freeze();
    trace.stacks.freeze();
    trace
}

/// Go's `ReadEvent` loop, run to the end of the trace or the first error.
fn drive(
    mut trace: Trace,
    size_hint: usize,
    sup: &mut dyn Supply,
    hook: &mut Hook,
    limit: u64,
    opts: &ParseOptions,
) -> Trace {
    let (chunk, late) = (opts.chunk(), opts.late());
    let ver = trace.version;
    // Wire events average 7-8 bytes; reserving for ~1 event per 6 bytes avoids regrowth
    // (and its transient 2x), and `shrink_to_fit` returns the slack at the end.
    trace.events = crate::store::Events::with_capacity(reserve_for(size_hint, limit));
    let names = {
        let s = &mut trace.strings;
        let mut exp_event = [0u32; SPECS.len()];
        for (t, sp) in SPECS.iter().enumerate() {
            if spec::is_experimental(t as u8) {
                exp_event[t] = s.intern(sp.name.as_bytes());
            }
        }
        let mut exp_name = [0u32; spec::EXPERIMENT_NAMES.len()];
        for (i, n) in spec::EXPERIMENT_NAMES.iter().enumerate() {
            exp_name[i] = s.intern(n.as_bytes());
        }
        Names {
            row: RowNames {
                gomaxprocs: s.intern(b"/sched/gomaxprocs:threads"),
                heap_objects: s.intern(b"/memory/classes/heap/objects:bytes"),
                heap_goal: s.intern(b"/gc/heap/goal:bytes"),
                gc_mark: s.intern(b"GC concurrent mark phase"),
                gc_sweep: s.intern(b"GC incremental sweep"),
                gc_assist: s.intern(b"GC mark assist"),
                exp_event,
                exp_name,
            },
            stw: FxHashMap::default(),
        }
    };
    let mut r = Reader::new(ver, names, limit);
    // Speculation pays where the rows are handed on in chunks (a drained parse): the
    // speculation's rows are copied into the caller's table, which a full parse (one
    // large table, faulted in ahead) does not recover on two cores.
    // (Not with the rows left to another thread: that thread then has the second core.)
    r.late = late.then(|| Late {
        ids: None,
        // (A Sync or a few events may follow the chunk's last.)
        room: chunk + 64,
        done: 0,
    });
    if late {
        r.order.queue.reserve(chunk + 64);
    }
    r.speculate = !late && speculation_for(ver, sup.threaded() && chunk > 0);
    loop {
        if let Err(e) = r.emit_queue(&mut trace) {
            trace.error = Some(e);
            break;
        }
        if chunk > 0 && trace.pending() + r.queued() >= chunk && {
            r.flush_late(&mut trace);
            hook(&mut trace, r.pos)
        } {
            trace.error = Some(TraceError::interrupted());
            break;
        }
        if r.work >= WORK_CHECK {
            r.work = 0;
            r.flush_late(&mut trace);
            if hook(&mut trace, r.pos) {
                trace.error = Some(TraceError::interrupted());
                break;
            }
        }
        match r.read_event(&mut trace, sup) {
            Ok(Some(Out::Advanced)) => {}
            Ok(Some(Out::Spec(s))) => match r.merge_spec(*s, &mut trace, sup, hook, chunk) {
                Ok(None) => {}
                // The speculation failed: the generation is ordered here, from its Sync.
                Ok(Some(out)) => {
                    if let Err(e) = r.emit_sync(out, &mut trace, hook) {
                        trace.error = Some(e);
                        break;
                    }
                }
                Err(e) => {
                    trace.error = Some(e);
                    break;
                }
            },
            Ok(Some(out @ Out::Sync { .. })) => {
                if let Err(e) = r.emit_sync(out, &mut trace, hook) {
                    trace.error = Some(e);
                    break;
                }
            }
            Ok(Some(out)) => {
                if let Err(e) = r.emit(out, &mut trace) {
                    trace.error = Some(e);
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let e = match &r.gen {
                    Some(g) => e.with_generation(g.gen),
                    None => e,
                };
                trace.error = Some(e);
                break;
            }
        }
    }
    // A generation read ahead but never reached (the parse ended before it): as if it
    // had not been read.
    if let Some(Ahead::Plain(l)) = &r.ahead {
        if l.io_failed {
            sup.unread_io_error();
        }
    }
    r.flush_late(&mut trace);
    trace.generations = r.syncs.saturating_sub(1);
    trace
}

impl Reader {
    fn new(ver: u32, names: Names, limit: u64) -> Reader {
        Reader {
            ver,
            last_ts: 0,
            gen: None,
            streams: Vec::new(),
            frontier: Vec::new(),
            cursors: Vec::new(),
            cpu_idx: 0,
            order: Ordering::new(ver),
            syncs: 0,
            read_gen_err: None,
            done: false,
            more: false,
            spill_err: None,
            spill_err_sync: false,
            names,
            limit,
            last_gen: None,
            pos: 0,
            work: 0,
            index: None,
            unblocked: 0,
            waits: Vec::new(),
            spec_rows: None,
            speculate: false,
            ahead: None,
            spare_table: None,
            late: None,
        }
    }

    fn sync(&mut self, time: i64, snapshot: Option<ClockSnapshot>) -> Out {
        self.syncs += 1;
        Out::Sync { time, snapshot }
    }

    /// Go's `Reader.ReadEvent`, up to (not including) the deferred validation/time fix-up.
    #[inline(always)]
    fn read_event(
        &mut self,
        trace: &mut Trace,
        sup: &mut dyn Supply,
    ) -> Result<Option<Out>, TraceError> {
        if self.done {
            return Ok(None);
        }
        let cpu_left = self
            .gen
            .as_ref()
            .is_some_and(|g| self.cpu_idx < g.cpu_samples.len());
        if self.frontier.is_empty() && !cpu_left {
            if self.ver < 26 {
                return self.next_gen_with_spill(trace, sup).map(Some);
            }
            if let Some(e) = self.read_gen_err.take() {
                return Err(e);
            }
            return self.next_gen_v26(trace, sup).map(Some);
        }
        let gen = self
            .gen
            .as_ref()
            .expect("frontier or samples imply a generation");
        if cpu_left {
            let s = gen.cpu_samples[self.cpu_idx];
            if self.frontier.is_empty() || s.time < self.frontier[0].time {
                self.cpu_idx += 1;
                return Ok(Some(Out::Cpu(s)));
            }
        }
        if self.frontier.is_empty() {
            return Err(TraceError::validation(format!(
                "broken trace: frontier is empty:\n[gen={}]\n",
                gen.gen
            )));
        }
        if self.index.is_some() {
            return self.search_indexed();
        }
        if !self.try_advance(0)? {
            if self.frontier.len() >= index_from() {
                self.index = Some(Box::new(Index::new(&self.frontier, self.cursors.len())));
                self.order.log_writes(true);
                return self.search_rest_indexed();
            }
            // A sorted min-heap is still a min-heap; try the rest in time order.
            crate::gosort::sort_func(&mut self.frontier, |a, b| a.time < b.time);
            self.work += self.frontier.len() as u64;
            let mut success = false;
            for i in 1..self.frontier.len() {
                if self.try_advance(i)? {
                    success = true;
                    break;
                }
            }
            if !success {
                return Err(self.failed_to_advance());
            }
        }
        Ok(Some(Out::Advanced))
    }

    /// Go's search for the next event (try the heap's top; else sort the frontier and
    /// try the others in array order) over an indexed frontier: entries known to be
    /// blocked are skipped, and a sorted frontier is not sorted again. The index is
    /// dropped once the top has advanced many times in a row (it costs time on every
    /// event while it lasts, and pays off only while searches keep coming).
    fn search_indexed(&mut self) -> Result<Option<Out>, TraceError> {
        let ix = self
            .index
            .as_mut()
            .expect("indexed search without an index");
        if ix.maybe(0) && self.try_advance(0)? {
            self.unblocked += 1;
            if self.unblocked > 4 * self.frontier.len().max(crate::frontier::INDEX_MIN) {
                self.index = None;
                self.order.log_writes(false);
            }
            return Ok(Some(Out::Advanced));
        }
        self.search_rest_indexed()
    }

    /// The rest of [`Reader::search_indexed`] once the top could not advance.
    fn search_rest_indexed(&mut self) -> Result<Option<Out>, TraceError> {
        self.unblocked = 0;
        let ix = self.index.as_mut().expect("index");
        if !ix.sorted() {
            ix.sort(&mut self.frontier);
            self.work += self.frontier.len() as u64;
        }
        let mut i = 1;
        while let Some(j) = self.index.as_ref().expect("index").next(i) {
            self.work += 1;
            if self.try_advance(j)? {
                return Ok(Some(Out::Advanced));
            }
            i = j + 1;
        }
        Err(self.failed_to_advance())
    }

    /// The error when no M can advance, with Go's dump of the frontier.
    fn failed_to_advance(&self) -> TraceError {
        let gen = self.gen.as_ref().expect("a generation");
        let mut dump = String::new();
        for e in &self.frontier {
            let bc = &self.cursors[e.c as usize];
            let ev = &self.streams[bc.mi].evs[bc.pos];
            let sp = &SPECS[ev.typ as usize];
            dump.push_str(&format!("M {} [{} time={}", bc.m, sp.name, ev.time));
            for (i, a) in sp.args.iter().skip(1).enumerate() {
                dump.push_str(&format!(" {a}={}", ev.args[i]));
            }
            dump.push_str("]\n");
        }
        TraceError::validation(format!(
            "broken trace: failed to advance: frontier:\n[gen={}]\n\n{dump}",
            gen.gen
        ))
    }

    fn try_advance(&mut self, i: usize) -> Result<bool, TraceError> {
        let gen = self.gen.as_ref().unwrap();
        let c = self.frontier[i].c;
        let bc = &mut self.cursors[c as usize];
        let st = &mut self.streams[bc.mi];
        let ok = self
            .order
            .advance(&mut st.evs[bc.pos], gen, bc.m, bc.m_slot, gen.gen)
            .map_err(|m| TraceError::validation(m).with_generation(gen.gen))?;
        if !ok {
            if let Some(ix) = self.index.as_mut() {
                self.waits.clear();
                self.order.wait_keys(
                    &st.evs[bc.pos],
                    bc.m_slot,
                    bc.m != crate::order::NO_M,
                    gen.gen,
                    &mut self.waits,
                );
                ix.block(i, c, &self.waits);
            }
            return Ok(false);
        }
        bc.pos += 1;
        let batches = &gen.batches[bc.mi].1;
        if st.exhausted(bc.pos, batches.len()) {
            st.refill(batches, &gen.buf, gen.freq);
            bc.pos = 0;
        }
        let next = st.evs.get(bc.pos);
        if let Some(ev) = next {
            // Each M's events are read in order but dozens of Ms interleave, too many
            // streams for the hardware prefetcher: fetch a few events ahead.
            prefetch(st.evs.as_ptr().wrapping_add(bc.pos + 4));
            self.order.prefetch(ev);
            // The stack table lookup of the event's conversion mostly misses too.
            let k = STACK_ARG[ev.typ as usize];
            if k != NO_STACK {
                gen.stacks.prefetch(ev.args[k as usize & 3]);
            }
        }
        let next = next.map(|ev| ev.time);
        if next.is_none() {
            if let Some(e) = st.err.take() {
                return Err(*e);
            }
        }
        match self.index.as_deref_mut() {
            None => match next {
                Some(t) => frontier::update(&mut Plain, &mut self.frontier, i, t),
                None => frontier::remove(&mut Plain, &mut self.frontier, i),
            },
            Some(ix) => {
                ix.advanced(c);
                self.waits.clear();
                self.order.wakes(&mut self.waits);
                for k in &self.waits {
                    ix.wake(k);
                }
                match next {
                    Some(t) => frontier::update(ix, &mut self.frontier, i, t),
                    None => frontier::remove(ix, &mut self.frontier, i),
                }
            }
        }
        Ok(true)
    }

    /// The next generation of a 1.26+ trace: its Sync, or a speculation to merge.
    fn next_gen_v26(&mut self, trace: &mut Trace, sup: &mut dyn Supply) -> Result<Out, TraceError> {
        let out = match self.ahead.take() {
            Some(Ahead::Spec(job)) => {
                let res = speculative::timed(speculative::WAIT_SPEC, || job.rx.recv())
                    .expect("speculative ordering thread failed");
                return Ok(Out::Spec(Box::new(SpecIn {
                    res,
                    pending: job.pending,
                    pos: job.pos,
                })));
            }
            Some(Ahead::Plain(loaded)) => self.resolve(trace, *loaded),
            None => self.fetch(trace, sup),
        };
        match out {
            LoadOut::V26(Err(e)) => {
                self.read_gen_err = Some(e);
                self.gen = None;
                Ok(self.sync(self.last_ts, None))
            }
            LoadOut::V26(Ok(g)) => {
                let more = g.is_some();
                let out = self.install_gen(g)?;
                if more {
                    self.read_ahead(trace, sup);
                }
                Ok(out)
            }
            LoadOut::Spill { .. } => unreachable!("spill read for a 1.26+ trace"),
        }
    }

    /// With speculation on, reads the generation after the one just installed and
    /// starts ordering it speculatively on another thread.
    fn read_ahead(&mut self, trace: &mut Trace, sup: &mut dyn Supply) {
        if !self.speculate {
            return;
        }
        let Loaded {
            pending,
            out,
            pos,
            io_failed,
        } = sup.next(trace, Vec::new(), Vec::new());
        // The first generation is the one the ordering first advances in: known once it
        // has advanced.
        let known_start = self.order.initial_gen() != 0;
        self.ahead = Some(match out {
            LoadOut::V26(Ok(Some(prep))) if known_start && prep.event_bytes() <= SPEC_MAX_BYTES => {
                let (tx, rx) = mpsc::channel();
                let (ver, initial, names) =
                    (self.ver, self.order.initial_gen(), self.names.clone());
                let table = self.spare_table.take().unwrap_or_default();
                sup.spawn(Box::new(move || {
                    // The reader may be gone (an error or an interrupt before it).
                    let done = speculative::timed(speculative::SPEC, || {
                        speculate(ver, initial, names, prep, table)
                    });
                    let _ = tx.send(done);
                }));
                Ahead::Spec(SpecJob { pending, pos, rx })
            }
            out => Ahead::Plain(Box::new(Loaded {
                pending,
                out,
                pos,
                io_failed,
            })),
        });
    }

    /// The next generation from `sup`, its tables merged into the trace's.
    fn fetch(&mut self, trace: &mut Trace, sup: &mut dyn Supply) -> LoadOut {
        let spare = self
            .streams
            .drain(..)
            .map(|s| s.evs)
            .filter(|v| v.capacity() > 0)
            .collect();
        let buf = self
            .gen
            .as_mut()
            .map(|g| std::mem::take(&mut g.buf))
            .unwrap_or_default();
        let loaded = sup.next(trace, spare, buf);
        self.resolve(trace, loaded)
    }

    /// A generation read: its tables merged into the trace's.
    fn resolve(&mut self, trace: &mut Trace, loaded: Loaded) -> LoadOut {
        let Loaded {
            pending,
            mut out,
            pos,
            ..
        } = loaded;
        self.pos = pos;
        let resolved = pending.merge(&mut Tables {
            strings: &mut trace.strings,
            stacks: &mut trace.stacks,
        });
        match &mut out {
            LoadOut::V26(Ok(Some(p))) | LoadOut::Spill { gen: Some(p), .. } => {
                p.gen.remap(&resolved)
            }
            _ => {}
        }
        out
    }

    fn next_gen_with_spill(
        &mut self,
        trace: &mut Trace,
        sup: &mut dyn Supply,
    ) -> Result<Out, TraceError> {
        if self.spill_err.is_some() {
            if self.spill_err_sync {
                return Err(self.spill_err.take().unwrap());
            }
            self.spill_err_sync = true;
            return Ok(self.sync(self.last_ts, None));
        }
        if self.gen.is_some() && !self.more {
            self.done = true;
            return Ok(self.sync(self.last_ts, None));
        }
        let LoadOut::Spill { gen, more, err } = self.fetch(trace, sup) else {
            unreachable!("1.26+ read for a spilling trace");
        };
        self.more = more;
        self.spill_err = err;
        match gen {
            None => {
                self.gen = None;
                self.spill_err_sync = true;
                Ok(self.sync(self.last_ts, None))
            }
            Some(g) => self.install_gen(Some(g)),
        }
    }

    fn install_gen(&mut self, g: Option<Prepared>) -> Result<Out, TraceError> {
        let Some(Prepared { gen: g, streams }) = g else {
            self.gen = None;
            self.done = true;
            return Ok(self.sync(self.last_ts, None));
        };
        self.cpu_idx = 0;
        self.frontier.clear();
        self.cursors.clear();
        if let Some(l) = &mut self.late {
            l.ids = None;
        }
        if self.index.take().is_some() {
            self.order.log_writes(false);
        }
        self.streams = streams;
        for (mi, (m, _)) in g.batches.iter().enumerate() {
            let m_slot = if *m == crate::order::NO_M {
                0
            } else {
                self.order.m_slot(*m)
            };
            let st = &mut self.streams[mi];
            let batches = &g.batches[mi].1;
            if st.exhausted(0, batches.len()) {
                st.refill(batches, &g.buf, g.freq);
            }
            let Some(first) = st.evs.first() else {
                if let Some(e) = st.err.take() {
                    if self.spec_rows.is_some() {
                        // A speculation gives the generation back (see `take_prepared`).
                        self.gen = Some(g);
                    }
                    return Err(*e);
                }
                continue;
            };
            let e = HeapEnt {
                time: first.time,
                c: self.cursors.len() as u32,
            };
            self.cursors.push(BatchCursor {
                m: *m,
                m_slot,
                mi,
                pos: 0,
            });
            frontier::insert(&mut Plain, &mut self.frontier, e);
        }
        let snapshot = g.has_clock_snapshot.then(|| ClockSnapshot {
            trace_ns: g.freq.ns(g.snap_time),
            mono_ns: g.snap_mono,
            wall_unix_ns: g.snap_wall_unix_ns,
        });
        let time = g.freq.ns(g.min_ts);
        self.last_gen = Some(g.gen);
        self.gen = Some(g);
        Ok(self.sync(time, snapshot))
    }

    /// The deferred part of Go's `ReadEvent` (table validation, strictly increasing time),
    /// then the conversion of the event into a row of the store.
    fn emit(&mut self, out: Out, trace: &mut Trace) -> Result<(), TraceError> {
        self.check_limit(trace)?;
        if self.late.is_some() {
            return self.emit_late(out, trace);
        }
        let mut row = Row {
            g: -1,
            p: -1,
            m: -1,
            ..Row::default()
        };
        let time = match out {
            Out::Sync { time, snapshot } => {
                row.kind = EventKind::Sync as u8;
                row.arg = self.syncs as i64;
                if let Some(s) = snapshot {
                    trace.clock_snapshots.push(s);
                    row.aux = trace.clock_snapshots.len() as u32;
                }
                time
            }
            Out::Cpu(s) => {
                row.kind = EventKind::StackSample as u8;
                row.g = s.g;
                row.p = s.p;
                row.m = s.m;
                row.stack = rows::cpu_stack(self.ids(), s.stack)?;
                s.time
            }
            Out::Advanced | Out::Spec(_) => unreachable!("not an event of its own"),
        };
        row.time = self.bump(time);
        trace.events.push(&row);
        Ok(())
    }

    /// `t` made strictly later than the event emitted before.
    #[inline(always)]
    fn bump(&mut self, t: i64) -> i64 {
        later(&mut self.last_ts, t)
    }

    /// [`Reader::emit`] of a reader that leaves the rows to another thread.
    fn emit_late(&mut self, out: Out, trace: &mut Trace) -> Result<(), TraceError> {
        let (typ, time, args, ctx, ids) = match out {
            Out::Sync { time, snapshot } => {
                let aux = snapshot.map_or(0, |s| {
                    trace.clock_snapshots.push(s);
                    trace.clock_snapshots.len()
                });
                let none = Ctx {
                    g: -1,
                    p: -1,
                    m: -1,
                };
                (LATE_SYNC, time, [self.syncs, aux as u64, 0, 0], none, None)
            }
            Out::Cpu(s) => {
                let ctx = Ctx {
                    g: s.g,
                    p: s.p,
                    m: s.m,
                };
                (
                    LATE_CPU,
                    s.time,
                    [s.stack, 0, 0, 0],
                    ctx,
                    Some(self.late_ids().clone()),
                )
            }
            Out::Advanced | Out::Spec(_) => unreachable!("not an event of its own"),
        };
        let time = self.bump(time);
        let q = QEvent {
            ev: BaseEvent { typ, time, args },
            ctx,
        };
        let at = self.order.queue.len();
        if let Some(ids) = &ids {
            let u = Unconverted::of(&mut trace.unconverted, self.names.row);
            u.use_ids(u.len() + at, ids);
        }
        self.order.queue.push(q);
        if let Some(l) = &mut self.late {
            l.done = at + 1;
        }
        Ok(())
    }

    /// The current generation's maps, shared (see [`Late`]).
    #[inline]
    fn late_ids(&mut self) -> &std::sync::Arc<GenIds> {
        let late = self.late.as_mut().expect("a reader leaving its rows");
        if late.ids.is_none() {
            let gen = self.gen.as_ref().expect("an event outside a generation");
            late.ids = Some(std::sync::Arc::new(GenIds::of(Ids::of(gen))));
        }
        late.ids.as_ref().expect("just made")
    }

    /// [`Reader::emit_queue`] of a reader that leaves the rows to another thread: the
    /// events the last advance queued are completed where they are (see [`Late`]).
    #[inline(always)]
    fn queue_late(&mut self, trace: &mut Trace) -> Result<(), TraceError> {
        self.late_ids();
        let late = self.late.as_mut().expect("a reader leaving its rows");
        let ids = late.ids.as_ref().expect("the maps");
        let u = Unconverted::of(&mut trace.unconverted, self.names.row);
        let from = late.done;
        u.use_ids(u.len() + from, ids);
        // The events up to the limit, then its error, as `check_limit` for each would.
        let held = trace.cleared + (trace.events.len() + u.len() + from) as u64;
        let room = self.limit.saturating_sub(held);
        let queue = &mut self.order.queue;
        let to = queue
            .len()
            .min(from.saturating_add(room.min(usize::MAX as u64) as usize));
        for i in from..to {
            let q = &mut queue[i];
            if matches!(q.ev.typ, spec::EV_STW_BEGIN | spec::EV_STW_END) {
                let reason = match rows::stw_reason(ids.ids(), q.ev.args[0]) {
                    Ok(r) => r,
                    Err(e) => {
                        queue.truncate(i);
                        late.done = i;
                        return Err(e);
                    }
                };
                q.ev.args[3] = self.names.stw_name(reason, &mut trace.strings) as u64;
            }
            q.ev.time = later(&mut self.last_ts, q.ev.time);
        }
        late.done = to;
        if to < queue.len() {
            queue.truncate(to);
            return Err(self.limit_error());
        }
        Ok(())
    }

    /// Events queued and complete but not yet handed to `Trace::unconverted`.
    #[inline(always)]
    fn queued(&self) -> usize {
        self.late.as_ref().map_or(0, |l| l.done)
    }

    /// Hands the complete queued events to `trace.unconverted` (before the hook sees the
    /// trace, and at the end); the queue goes on in the vector `trace.unconverted` held.
    fn flush_late(&mut self, trace: &mut Trace) {
        let Some(late) = &mut self.late else { return };
        if late.done == 0 {
            return;
        }
        self.order.queue.truncate(late.done);
        late.done = 0;
        let room = late.room;
        let u = Unconverted::of(&mut trace.unconverted, self.names.row);
        if u.is_empty() {
            std::mem::swap(&mut u.evs, &mut self.order.queue);
        } else {
            // A hook that left the events before: after them.
            u.evs.append(&mut self.order.queue);
        }
        // A queue sized for a chunk, so that it does not grow by doubling as it fills.
        if self.order.queue.capacity() < room {
            self.order.queue = Vec::with_capacity(room);
        }
    }

    /// Emits a generation's Sync, then calls the hook (which may stop the parse).
    fn emit_sync(
        &mut self,
        out: Out,
        trace: &mut Trace,
        hook: &mut Hook,
    ) -> Result<(), TraceError> {
        self.emit(out, trace)?;
        self.flush_late(trace);
        if hook(trace, self.pos) {
            return Err(TraceError::interrupted());
        }
        Ok(())
    }

    /// Emits the events the last advance queued, in order (the queue keeps its
    /// allocation).
    #[inline(always)]
    fn emit_queue(&mut self, trace: &mut Trace) -> Result<(), TraceError> {
        if self.order.queue.is_empty() {
            return Ok(());
        }
        if self.late.is_some() {
            return self.queue_late(trace);
        }
        let mut queue = std::mem::take(&mut self.order.queue);
        for q in &queue {
            // On an error the parse ends: the queue is not needed again.
            self.emit_ev(q, trace)?;
        }
        queue.clear();
        self.order.queue = queue;
        Ok(())
    }

    /// Emits one event of the ordering's queue.
    #[inline(always)]
    fn emit_ev(&mut self, q: &QEvent, trace: &mut Trace) -> Result<(), TraceError> {
        self.check_limit(trace)?;
        let mut row = Row::default();
        self.convert(q, &mut row, trace)?;
        row.time = self.bump(q.ev.time);
        if let Some(sr) = self.spec_rows.as_deref_mut() {
            sr.note(q, trace.events.len() as u32, &mut row);
        }
        trace.events.push(&row);
        Ok(())
    }

    #[inline]
    fn check_limit(&self, trace: &Trace) -> Result<(), TraceError> {
        if trace.cleared + (trace.pending() + self.queued()) as u64 >= self.limit {
            return Err(self.limit_error());
        }
        Ok(())
    }

    #[cold]
    fn limit_error(&self) -> TraceError {
        let gen = self.gen.as_ref().map(|g| g.gen).or(self.last_gen);
        TraceError::limit(self.limit, gen, self.pos)
    }

    /// The current generation's ID maps.
    fn ids(&self) -> Ids<'_> {
        Ids::of(self.gen.as_ref().expect("an event outside a generation"))
    }

    /// The row of an ordered event (but its time), see [`rows::convert`].
    #[inline(always)]
    fn convert(&mut self, q: &QEvent, row: &mut Row, trace: &mut Trace) -> Result<(), TraceError> {
        let ids = Ids::of(self.gen.as_ref().expect("an event outside a generation"));
        let (mut side, strings) = Side::of(trace);
        // A speculation's STW reason is a local ID, named at the merge.
        let stw = if self.spec_rows.is_some() {
            Stw::Reason
        } else {
            Stw::Intern(&mut self.names.stw, strings)
        };
        rows::convert(q, row, ids, &self.names.row, &mut side, stw)
    }
}
