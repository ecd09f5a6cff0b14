//! The v2 reader: Go's `Reader.ReadEvent` loop, run to the end, appending every event it
//! yields to the columnar store.
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

use rustc_hash::FxHashMap;

use crate::error::TraceError;
use crate::generation::{self, CpuSample, Freq, Generation, Tables};
use crate::order::{BaseEvent, Ctx, Ordering, QEvent};
use crate::store::{
    gostate, procstate, resource, ClockSnapshot, EventKind, ExperimentalArgs, Row, Trace,
};
use crate::wire::{self, spec, spec::SPECS, uvarint, Batch, Cursor, Source, StreamSource};

struct BatchCursor {
    m: i64,
    /// The ordering's slot for `m`.
    m_slot: u32,
    /// Index of this M in `Generation::batches`.
    mi: usize,
    last_ts: i64,
    idx: usize,
    data_off: usize,
    ev: BaseEvent,
}

impl BatchCursor {
    /// Go's `batchCursor.nextEvent`. Errors are boxed: this runs once per event and a
    /// pointer-sized error keeps the `Ok` path in registers.
    #[inline]
    fn next_event(
        &mut self,
        batches: &[Batch],
        buf: &[u8],
        freq: Freq,
    ) -> Result<bool, Box<TraceError>> {
        while self.idx < batches.len() && batches[self.idx].len == self.data_off {
            self.idx += 1;
            self.data_off = 0;
            self.last_ts = 0;
        }
        if self.idx == batches.len() {
            return Ok(false);
        }
        let b = &batches[self.idx];
        if self.last_ts == 0 {
            self.last_ts = freq.ns(b.time);
        }
        let data = &b.data(buf)[self.data_off..];
        match read_timed_base_event(data, &mut self.ev) {
            Some((n, tsdiff)) => {
                self.ev.time = freq.ns(tsdiff).wrapping_add(self.last_ts);
                self.last_ts = self.ev.time;
                self.data_off += n;
                Ok(true)
            }
            None => Err(decode_error(data, b.offset + self.data_off)),
        }
    }
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

/// Go's `readTimedBaseEvent`, fast path: decodes one event of an event batch (any
/// version reads the full spec table here). `None` if it does not decode.
#[inline(always)]
fn read_timed_base_event(b: &[u8], e: &mut BaseEvent) -> Option<(usize, u64)> {
    let typ = b[0];
    let nargs = NARGS[typ as usize];
    if nargs == NOT_TIMED {
        return None;
    }
    e.typ = typ;
    let mut pos = 1;
    let ts = uv(b, &mut pos)?;
    // Go reuses the cursor's event, so slots past the arguments keep stale values; they
    // are only ever read after `advance` has written them.
    for i in 0..(nargs as usize).min(4) {
        e.args[i] = uv(b, &mut pos)?;
    }
    Some((pos, ts))
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

/// A frontier entry: the time of a cursor's next event and the cursor's index. Go's heap
/// holds cursor pointers; holding (time, index) pairs moves 16 bytes per swap instead of
/// a whole cursor and keeps the comparisons in one cache line, with identical ordering.
#[derive(Clone, Copy, Debug)]
struct HeapEnt {
    time: i64,
    c: u32,
}

// Go's heap over []*batchCursor, keyed by the next event's time.
fn heap_sift_up(h: &mut [HeapEnt], mut i: usize) -> usize {
    while i > 0 && h[(i - 1) / 2].time > h[i].time {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    i
}

fn heap_sift_down(h: &mut [HeapEnt], mut i: usize) {
    loop {
        let m = min3(h, i, 2 * i + 1, 2 * i + 2);
        if m == i {
            break;
        }
        h.swap(i, m);
        i = m;
    }
}

#[inline]
fn min3(b: &[HeapEnt], i0: usize, i1: usize, i2: usize) -> usize {
    let mut min_idx = i0;
    let mut min_t = i64::MAX;
    if i0 < b.len() {
        min_t = b[i0].time;
    }
    if i1 < b.len() && b[i1].time < min_t {
        min_t = b[i1].time;
        min_idx = i1;
    }
    if i2 < b.len() && b[i2].time < min_t {
        min_idx = i2;
    }
    min_idx
}

fn heap_insert(h: &mut Vec<HeapEnt>, e: HeapEnt) {
    h.push(e);
    let n = h.len() - 1;
    heap_sift_up(h, n);
}

#[inline]
fn heap_update(h: &mut [HeapEnt], i: usize) {
    if heap_sift_up(h, i) != i {
        return;
    }
    heap_sift_down(h, i);
}

fn heap_remove(h: &mut Vec<HeapEnt>, mut i: usize) {
    while i > 0 {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    heap_sift_down(h, 0);
}

/// What one `ReadEvent` call yields, before validation and the time fix-up.
enum Out {
    /// An M advanced; its events are in the ordering's queue.
    Advanced,
    Cpu(CpuSample),
    Sync {
        time: i64,
        snapshot: Option<ClockSnapshot>,
    },
}

/// Global string IDs of the names the reader synthesises.
struct Names {
    gomaxprocs: u32,
    heap_objects: u32,
    heap_goal: u32,
    gc_mark: u32,
    gc_sweep: u32,
    gc_assist: u32,
    stw: FxHashMap<u32, u32>,
    exp_event: [u32; SPECS.len()],
    exp_name: [u32; spec::EXPERIMENT_NAMES.len()],
}

struct Reader<S> {
    cur: S,
    ver: u32,
    last_ts: i64,
    gen: Option<Generation>,
    /// Go's frontier heap, over `cursors`.
    frontier: Vec<HeapEnt>,
    cursors: Vec<BatchCursor>,
    cpu_idx: usize,
    order: Ordering,
    syncs: u64,
    read_gen_err: Option<TraceError>,
    done: bool,
    spill: Option<generation::Spill>,
    spill_err: Option<TraceError>,
    spill_err_sync: bool,
    names: Names,
}

/// Parses a whole trace held in memory.
pub fn parse(data: &[u8]) -> Trace {
    parse_interruptible(data, &mut || false)
}

/// [`parse`], asking `interrupt` once per generation whether to give up (then the trace
/// ends with an `ErrorKind::Interrupted` error after the events read so far).
pub fn parse_interruptible(data: &[u8], interrupt: &mut dyn FnMut() -> bool) -> Trace {
    let (trace, hlen) = match start(wire::parse_header(data)) {
        Ok(v) => v,
        Err(t) => return *t,
    };
    if trace.version < 22 {
        return parse_v1(&data[hlen..], hlen, trace);
    }
    run(Cursor::new(data, hlen), data.len(), trace, interrupt)
}

/// Parses a trace from a stream (a file), keeping only one generation's bytes in
/// memory at a time. `size_hint` (e.g. the file size) sizes the event table up front.
/// An I/O error ends the parse with an `ErrorKind::Io` error.
pub fn parse_read<R: std::io::Read>(r: R, size_hint: usize) -> Trace {
    parse_read_interruptible(r, size_hint, &mut || false)
}

/// [`parse_read`] with an interrupt check per generation, as [`parse_interruptible`].
pub fn parse_read_interruptible<R: std::io::Read>(
    r: R,
    size_hint: usize,
    interrupt: &mut dyn FnMut() -> bool,
) -> Trace {
    let mut src = StreamSource::new(r);
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
        Err(t) => return with_io_error(*t, &mut src),
    };
    if trace.version < 22 {
        // The v1 format has no generations: its body is read whole.
        let mut body = Vec::with_capacity(size_hint.saturating_sub(hlen));
        src.read_rest(&mut body);
        let trace = parse_v1(&body, hlen, trace);
        return with_io_error(trace, &mut src);
    }
    let trace = run(&mut src, size_hint, trace, interrupt);
    with_io_error(trace, &mut src)
}

/// Go 1.11-1.21 traces (the v1 format): `body` is the input after its `hlen`-byte header.
fn parse_v1(body: &[u8], hlen: usize, trace: Trace) -> Trace {
    crate::v1::parse(body, hlen, trace.version)
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

/// Runs the v2 reader over `src` (positioned after the header).
fn run<S: Source>(
    src: S,
    size_hint: usize,
    mut trace: Trace,
    interrupt: &mut dyn FnMut() -> bool,
) -> Trace {
    let ver = trace.version;
    // Wire events average 7-8 bytes; reserving for ~1 event per 6 bytes avoids regrowth
    // (and its transient 2x), and `shrink_to_fit` returns the slack at the end.
    trace.events = crate::store::Events::with_capacity(size_hint / 6 + 16);
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
            gomaxprocs: s.intern(b"/sched/gomaxprocs:threads"),
            heap_objects: s.intern(b"/memory/classes/heap/objects:bytes"),
            heap_goal: s.intern(b"/gc/heap/goal:bytes"),
            gc_mark: s.intern(b"GC concurrent mark phase"),
            gc_sweep: s.intern(b"GC incremental sweep"),
            gc_assist: s.intern(b"GC mark assist"),
            stw: FxHashMap::default(),
            exp_event,
            exp_name,
        }
    };
    let mut r = Reader {
        cur: src,
        ver,
        last_ts: 0,
        gen: None,
        frontier: Vec::new(),
        cursors: Vec::new(),
        cpu_idx: 0,
        order: Ordering::new(ver),
        syncs: 0,
        read_gen_err: None,
        done: false,
        spill: None,
        spill_err: None,
        spill_err_sync: false,
        names,
    };
    'outer: loop {
        if !r.order.queue.is_empty() {
            let queue = std::mem::take(&mut r.order.queue);
            for q in &queue {
                if let Err(e) = r.emit_ev(q, &mut trace) {
                    trace.error = Some(e);
                    break 'outer;
                }
            }
            r.order.queue = queue;
            r.order.queue.clear();
        }
        match r.read_event(&mut trace) {
            Ok(Some(Out::Advanced)) => {}
            Ok(Some(out @ Out::Sync { .. })) => {
                if let Err(e) = r.emit(out, &mut trace) {
                    trace.error = Some(e);
                    break;
                }
                if interrupt() {
                    trace.error = Some(TraceError::interrupted());
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
    trace.generations = r.syncs.saturating_sub(1);
    trace.events.shrink_to_fit();
    trace.strings.freeze();
    trace.stacks.freeze();
    trace
}

impl<S: Source> Reader<S> {
    fn sync(&mut self, time: i64, snapshot: Option<ClockSnapshot>) -> Out {
        self.syncs += 1;
        Out::Sync { time, snapshot }
    }

    /// Go's `Reader.ReadEvent`, up to (not including) the deferred validation/time fix-up.
    fn read_event(&mut self, trace: &mut Trace) -> Result<Option<Out>, TraceError> {
        if self.done {
            return Ok(None);
        }
        let cpu_left = self
            .gen
            .as_ref()
            .is_some_and(|g| self.cpu_idx < g.cpu_samples.len());
        if self.frontier.is_empty() && !cpu_left {
            if self.ver < 26 {
                return self.next_gen_with_spill(trace).map(Some);
            }
            if let Some(e) = self.read_gen_err.take() {
                return Err(e);
            }
            let mut t = Tables {
                strings: &mut trace.strings,
                stacks: &mut trace.stacks,
            };
            return match generation::read_generation(&mut self.cur, self.ver, &mut t) {
                Err(e) => {
                    self.read_gen_err = Some(e);
                    self.gen = None;
                    Ok(Some(self.sync(self.last_ts, None)))
                }
                Ok(g) => self.install_gen(g).map(Some),
            };
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
        if !self.try_advance(0)? {
            // A sorted min-heap is still a min-heap; try the rest in time order.
            self.frontier.sort_by_key(|e| e.time);
            let mut success = false;
            for i in 1..self.frontier.len() {
                if self.try_advance(i)? {
                    success = true;
                    break;
                }
            }
            if !success {
                let gen = self.gen.as_ref().unwrap();
                let mut dump = String::new();
                for e in &self.frontier {
                    let bc = &self.cursors[e.c as usize];
                    let sp = &SPECS[bc.ev.typ as usize];
                    dump.push_str(&format!("M {} [{} time={}", bc.m, sp.name, bc.ev.time));
                    for (i, a) in sp.args.iter().skip(1).enumerate() {
                        dump.push_str(&format!(" {a}={}", bc.ev.args[i]));
                    }
                    dump.push_str("]\n");
                }
                return Err(TraceError::validation(format!(
                    "broken trace: failed to advance: frontier:\n[gen={}]\n\n{dump}",
                    gen.gen
                )));
            }
        }
        Ok(Some(Out::Advanced))
    }

    fn try_advance(&mut self, i: usize) -> Result<bool, TraceError> {
        let gen = self.gen.as_ref().unwrap();
        let bc = &mut self.cursors[self.frontier[i].c as usize];
        let ok = self
            .order
            .advance(&mut bc.ev, gen, bc.m, bc.m_slot, gen.gen)
            .map_err(|m| TraceError::validation(m).with_generation(gen.gen))?;
        if !ok {
            return Ok(false);
        }
        if bc
            .next_event(&gen.batches[bc.mi].1, &gen.buf, gen.freq)
            .map_err(|e| *e)?
        {
            self.frontier[i].time = bc.ev.time;
            heap_update(&mut self.frontier, i);
        } else {
            heap_remove(&mut self.frontier, i);
        }
        Ok(true)
    }

    fn next_gen_with_spill(&mut self, trace: &mut Trace) -> Result<Out, TraceError> {
        if self.spill_err.is_some() {
            if self.spill_err_sync {
                return Err(self.spill_err.take().unwrap());
            }
            self.spill_err_sync = true;
            return Ok(self.sync(self.last_ts, None));
        }
        if self.gen.is_some() && self.spill.is_none() {
            self.done = true;
            return Ok(self.sync(self.last_ts, None));
        }
        let mut t = Tables {
            strings: &mut trace.strings,
            stacks: &mut trace.stacks,
        };
        let r = generation::read_generation_with_spill(
            &mut self.cur,
            self.spill.take(),
            self.ver,
            &mut t,
        );
        self.spill = r.spill;
        self.spill_err = r.err;
        match r.gen {
            None => {
                self.gen = None;
                self.spill_err_sync = true;
                Ok(self.sync(self.last_ts, None))
            }
            Some(g) => self.install_gen(Some(g)),
        }
    }

    fn install_gen(&mut self, g: Option<Generation>) -> Result<Out, TraceError> {
        let Some(g) = g else {
            self.gen = None;
            self.done = true;
            return Ok(self.sync(self.last_ts, None));
        };
        self.cpu_idx = 0;
        self.frontier.clear();
        self.cursors.clear();
        for (mi, (m, batches)) in g.batches.iter().enumerate() {
            let mut bc = BatchCursor {
                m: *m,
                m_slot: if *m == crate::order::NO_M {
                    0
                } else {
                    self.order.m_slot(*m)
                },
                mi,
                last_ts: 0,
                idx: 0,
                data_off: 0,
                ev: BaseEvent::default(),
            };
            if !bc.next_event(batches, &g.buf, g.freq).map_err(|e| *e)? {
                continue;
            }
            let e = HeapEnt {
                time: bc.ev.time,
                c: self.cursors.len() as u32,
            };
            self.cursors.push(bc);
            heap_insert(&mut self.frontier, e);
        }
        let snapshot = g.has_clock_snapshot.then(|| ClockSnapshot {
            trace_ns: g.freq.ns(g.snap_time),
            mono_ns: g.snap_mono,
            wall_unix_ns: g.snap_wall_unix_ns,
        });
        let time = g.freq.ns(g.min_ts);
        self.gen = Some(g);
        Ok(self.sync(time, snapshot))
    }

    /// The deferred part of Go's `ReadEvent` (table validation, strictly increasing time),
    /// then the conversion of the event into a row of the store.
    fn emit(&mut self, out: Out, trace: &mut Trace) -> Result<(), TraceError> {
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
                let gen = self.gen.as_ref().unwrap();
                row.kind = EventKind::StackSample as u8;
                row.g = s.g;
                row.p = s.p;
                row.m = s.m;
                // Go does not validate sample stacks, but resolving a missing one panics
                // in `Stack.Frames`; we report it as an error at the same point.
                row.stack = gen.stacks.get(s.stack).ok_or_else(|| {
                    TraceError::validation(format!(
                        "panic in trace parser: expected id {} in trace.stack table",
                        s.stack
                    ))
                    .with_generation(gen.gen)
                })?;
                s.time
            }
            Out::Advanced => unreachable!("queued events are emitted by emit_ev"),
        };
        let time = if time <= self.last_ts {
            self.last_ts.wrapping_add(1)
        } else {
            time
        };
        self.last_ts = time;
        row.time = time;
        trace.events.push(&row);
        Ok(())
    }

    /// Emits one event of the ordering's queue.
    #[inline]
    fn emit_ev(&mut self, q: &QEvent, trace: &mut Trace) -> Result<(), TraceError> {
        let mut row = Row::default();
        self.convert(q, &mut row, trace)?;
        let t = q.ev.time;
        let time = if t <= self.last_ts {
            self.last_ts.wrapping_add(1)
        } else {
            t
        };
        self.last_ts = time;
        row.time = time;
        trace.events.push(&row);
        Ok(())
    }

    /// Go's `Event.validateTableIDs`.
    fn validate_ids(&self, q: &QEvent) -> Result<(), TraceError> {
        let gen = self.gen.as_ref().unwrap();
        let sp = &SPECS[q.ev.typ as usize];
        for &i in sp.stack_ids {
            let id = q.ev.args[i - 1];
            if gen.stacks.get(id).is_none() {
                return Err(TraceError::validation(format!(
                    "found invalid stack ID {id} for event {}",
                    sp.name
                ))
                .with_generation(gen.gen));
            }
        }
        for &i in sp.string_ids {
            let id = q.ev.args[i - 1];
            if gen.strings.get(id).is_none() {
                return Err(TraceError::validation(format!(
                    "found invalid string ID {id} for event {}",
                    sp.name
                ))
                .with_generation(gen.gen));
            }
        }
        Ok(())
    }

    /// The API view of a wire event (Go's `Event.Kind/Stack/Range/StateTransition/...`).
    fn convert(&mut self, q: &QEvent, row: &mut Row, trace: &mut Trace) -> Result<(), TraceError> {
        use spec::*;
        let gen = self.gen.as_ref().unwrap();
        let a = &q.ev.args;
        let ctx: Ctx = q.ctx;
        row.g = ctx.g;
        row.p = ctx.p;
        row.m = ctx.m;
        let sp = &SPECS[q.ev.typ as usize];
        // Table references are looked up once; a miss means the trace is broken, and
        // `validate_ids` then finds the error Go reports (it checks in Go's order).
        let missing = std::cell::Cell::new(false);
        let stack_of = |id: u64| {
            gen.stacks.get(id).unwrap_or_else(|| {
                missing.set(true);
                0
            })
        };
        if let Some(&i) = sp.stack_ids.first() {
            row.stack = stack_of(a[i - 1]);
        }
        let string = |id: u64| {
            gen.strings.get(id).unwrap_or_else(|| {
                missing.set(true);
                0
            })
        };
        let n = &self.names;
        let go_st = |row: &mut Row, id: i64, from: u8, to: u8| {
            row.kind = EventKind::StateTransition as u8;
            row.res_kind = resource::GOROUTINE;
            row.arg = id;
            row.from = from;
            row.to = to;
        };
        use gostate as G;
        match q.ev.typ {
            EV_PROCS_CHANGE | EV_HEAP_ALLOC | EV_HEAP_GOAL => {
                row.kind = EventKind::Metric as u8;
                row.name = match q.ev.typ {
                    EV_PROCS_CHANGE => n.gomaxprocs,
                    EV_HEAP_ALLOC => n.heap_objects,
                    _ => n.heap_goal,
                };
                row.arg = a[0] as i64;
            }
            EV_GO_LABEL => {
                row.kind = EventKind::Label as u8;
                row.name = string(a[0]);
                row.res_kind = resource::GOROUTINE;
                row.arg = ctx.g;
            }
            EV_STW_BEGIN | EV_STW_END => {
                row.kind = if q.ev.typ == EV_STW_BEGIN {
                    EventKind::RangeBegin
                } else {
                    EventKind::RangeEnd
                } as u8;
                // For STWEnd the reason's ID comes from its Begin's generation but is
                // looked up in this one, as Go does.
                let Some(reason) = gen.strings.get(a[0]) else {
                    return Err(TraceError::validation(format!(
                        "panic in trace parser: expected id {} in string table",
                        a[0]
                    ))
                    .with_generation(gen.gen));
                };
                row.name = match self.names.stw.get(&reason) {
                    Some(&id) => id,
                    None => {
                        let mut s = b"stop-the-world (".to_vec();
                        s.extend_from_slice(trace.strings.get(reason));
                        s.push(b')');
                        let id = trace.strings.intern(&s);
                        self.names.stw.insert(reason, id);
                        id
                    }
                };
                row.res_kind = resource::GOROUTINE;
                row.arg = ctx.g;
            }
            EV_GC_BEGIN | EV_GC_ACTIVE | EV_GC_END => {
                row.kind = range_kind(q.ev.typ);
                row.name = n.gc_mark;
                row.res_kind = resource::NONE;
            }
            EV_GC_SWEEP_BEGIN | EV_GC_SWEEP_ACTIVE | EV_GC_SWEEP_END => {
                row.kind = range_kind(q.ev.typ);
                row.name = n.gc_sweep;
                row.res_kind = resource::PROC;
                row.arg = if q.ev.typ == EV_GC_SWEEP_ACTIVE {
                    a[0] as i64
                } else {
                    ctx.p
                };
                if q.ev.typ == EV_GC_SWEEP_END {
                    trace.range_attrs.push([a[0], a[1]]);
                    row.aux = trace.range_attrs.len() as u32;
                }
            }
            EV_GC_MARK_ASSIST_BEGIN | EV_GC_MARK_ASSIST_ACTIVE | EV_GC_MARK_ASSIST_END => {
                row.kind = range_kind(q.ev.typ);
                row.name = n.gc_assist;
                row.res_kind = resource::GOROUTINE;
                row.arg = if q.ev.typ == EV_GC_MARK_ASSIST_ACTIVE {
                    a[0] as i64
                } else {
                    ctx.g
                };
            }
            EV_USER_TASK_BEGIN => {
                row.kind = EventKind::TaskBegin as u8;
                row.arg = a[0] as i64;
                row.name = string(a[2]);
                trace.u64s.push(a[1]);
                row.aux = (trace.u64s.len() - 1) as u32;
            }
            EV_USER_TASK_END => {
                row.kind = EventKind::TaskEnd as u8;
                row.arg = a[0] as i64;
                row.name = a[3] as u32; // already a global string ID (see order)
                trace.u64s.push(a[2]);
                row.aux = (trace.u64s.len() - 1) as u32;
            }
            EV_USER_REGION_BEGIN | EV_USER_REGION_END => {
                row.kind = if q.ev.typ == EV_USER_REGION_BEGIN {
                    EventKind::RegionBegin
                } else {
                    EventKind::RegionEnd
                } as u8;
                row.arg = a[0] as i64;
                row.name = string(a[1]);
            }
            EV_USER_LOG => {
                row.kind = EventKind::Log as u8;
                row.arg = a[0] as i64;
                row.name = string(a[1]);
                row.aux = string(a[2]);
            }
            EV_PROC_START | EV_PROC_STOP | EV_PROC_STEAL | EV_PROC_STATUS => {
                row.kind = EventKind::StateTransition as u8;
                row.res_kind = resource::PROC;
                use procstate as P;
                let (id, from, to) = match q.ev.typ {
                    EV_PROC_START => (a[0] as i64, P::IDLE, P::RUNNING),
                    EV_PROC_STOP => (ctx.p, P::RUNNING, P::IDLE),
                    EV_PROC_STEAL => {
                        let before = if a[3] == crate::order::ps::SYSCALL_ABANDONED as u64 {
                            P::IDLE
                        } else {
                            P::RUNNING
                        };
                        (a[0] as i64, before, P::IDLE)
                    }
                    _ => (a[0] as i64, a[2] as u8, crate::order::ps::to_state(a[1])),
                };
                row.arg = id;
                row.from = from;
                row.to = to;
            }
            EV_GO_CREATE | EV_GO_CREATE_BLOCKED => {
                let to = if q.ev.typ == EV_GO_CREATE_BLOCKED {
                    G::WAITING
                } else {
                    G::RUNNABLE
                };
                go_st(row, a[0] as i64, G::NOT_EXIST, to);
                row.aux = stack_of(a[1]);
            }
            EV_GO_CREATE_SYSCALL => go_st(row, a[0] as i64, G::NOT_EXIST, G::SYSCALL),
            EV_GO_START => go_st(row, a[0] as i64, G::RUNNABLE, G::RUNNING),
            EV_GO_DESTROY => go_st(row, ctx.g, G::RUNNING, G::NOT_EXIST),
            EV_GO_DESTROY_SYSCALL => go_st(row, ctx.g, G::SYSCALL, G::NOT_EXIST),
            EV_GO_STOP | EV_GO_BLOCK => {
                let to = if q.ev.typ == EV_GO_STOP {
                    G::RUNNABLE
                } else {
                    G::WAITING
                };
                go_st(row, ctx.g, G::RUNNING, to);
                row.name = string(a[0]);
                row.aux = row.stack;
            }
            EV_GO_UNBLOCK | EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => {
                go_st(row, a[0] as i64, G::WAITING, G::RUNNABLE)
            }
            EV_GO_SYSCALL_BEGIN => {
                go_st(row, ctx.g, G::RUNNING, G::SYSCALL);
                row.aux = row.stack;
            }
            EV_GO_SYSCALL_END => go_st(row, ctx.g, G::SYSCALL, G::RUNNING),
            EV_GO_SYSCALL_END_BLOCKED => go_st(row, ctx.g, G::SYSCALL, G::RUNNABLE),
            EV_GO_STATUS | EV_GO_STATUS_STACK => {
                let packed = a[2];
                let from = (packed >> 32) as u8;
                let to = crate::order::gs::to_state(packed & 0xffff_ffff);
                go_st(row, a[0] as i64, from, to);
                row.aux = row.stack;
            }
            t if spec::is_experimental(t) => {
                row.kind = EventKind::Experimental as u8;
                row.name = n.exp_event[t as usize];
                row.aux = n.exp_name[sp.experiment as usize];
                trace
                    .experimental
                    .push(ExperimentalArgs { typ: t, args: *a });
                row.arg = (trace.experimental.len() - 1) as i64;
            }
            t => {
                return Err(TraceError::validation(format!(
                    "internal error: unexpected wire-format event type {t}"
                )))
            }
        }
        if missing.get() {
            self.validate_ids(q)?;
            return Err(TraceError::validation(
                "internal error: unresolved table reference",
            ));
        }
        Ok(())
    }
}

fn range_kind(typ: u8) -> u8 {
    use spec::*;
    match typ {
        EV_GC_BEGIN | EV_GC_SWEEP_BEGIN | EV_GC_MARK_ASSIST_BEGIN | EV_STW_BEGIN => {
            EventKind::RangeBegin as u8
        }
        EV_GC_ACTIVE | EV_GC_SWEEP_ACTIVE | EV_GC_MARK_ASSIST_ACTIVE => {
            EventKind::RangeActive as u8
        }
        _ => EventKind::RangeEnd as u8,
    }
}
