//! The Go 1.11–1.21 wire format, read whole the way Go's `tracev1` parser does: a first
//! pass finds every per-P batch (and reads the CPU samples), a second pass loads the
//! batches P by P and merges them through a timestamp heap gated by a goroutine
//! sequence/state machine, then syscall-exit times are patched in and the list is
//! stably re-sorted, rebased to nanoseconds and checked for consistency.
//!
//! The merged list is not kept: the merge records which P each event came from (a byte
//! per event) and the few syscall exits that the re-sort moves ([`Merged`]), and
//! [`Replay`] decodes the events again from the input, in their final order, one at a
//! time, for the checks and the conversion. Strings and stack PCs stay slices of the
//! input until the conversion interns the ones it needs.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::TraceError;
use crate::order::tables::{DenseMap, GMap};

// Wire event types (Go's runtime/trace.go numbering).
pub const EV_NONE: u8 = 0;
pub const EV_BATCH: u8 = 1;
pub const EV_FREQUENCY: u8 = 2;
pub const EV_STACK: u8 = 3;
pub const EV_GOMAXPROCS: u8 = 4;
pub const EV_PROC_START: u8 = 5;
pub const EV_PROC_STOP: u8 = 6;
pub const EV_GC_START: u8 = 7;
pub const EV_GC_DONE: u8 = 8;
pub const EV_STW_START: u8 = 9;
pub const EV_STW_DONE: u8 = 10;
pub const EV_GC_SWEEP_START: u8 = 11;
pub const EV_GC_SWEEP_DONE: u8 = 12;
pub const EV_GO_CREATE: u8 = 13;
pub const EV_GO_START: u8 = 14;
pub const EV_GO_END: u8 = 15;
pub const EV_GO_STOP: u8 = 16;
pub const EV_GO_SCHED: u8 = 17;
pub const EV_GO_PREEMPT: u8 = 18;
pub const EV_GO_SLEEP: u8 = 19;
pub const EV_GO_BLOCK: u8 = 20;
pub const EV_GO_UNBLOCK: u8 = 21;
pub const EV_GO_BLOCK_SEND: u8 = 22;
pub const EV_GO_BLOCK_RECV: u8 = 23;
pub const EV_GO_BLOCK_SELECT: u8 = 24;
pub const EV_GO_BLOCK_SYNC: u8 = 25;
pub const EV_GO_BLOCK_COND: u8 = 26;
pub const EV_GO_BLOCK_NET: u8 = 27;
pub const EV_GO_SYS_CALL: u8 = 28;
pub const EV_GO_SYS_EXIT: u8 = 29;
pub const EV_GO_SYS_BLOCK: u8 = 30;
pub const EV_GO_WAITING: u8 = 31;
pub const EV_GO_IN_SYSCALL: u8 = 32;
pub const EV_HEAP_ALLOC: u8 = 33;
pub const EV_HEAP_GOAL: u8 = 34;
pub const EV_TIMER_GOROUTINE: u8 = 35;
pub const EV_FUTILE_WAKEUP: u8 = 36;
pub const EV_STRING: u8 = 37;
pub const EV_GO_START_LOCAL: u8 = 38;
pub const EV_GO_UNBLOCK_LOCAL: u8 = 39;
pub const EV_GO_SYS_EXIT_LOCAL: u8 = 40;
pub const EV_GO_START_LABEL: u8 = 41;
pub const EV_GO_BLOCK_GC: u8 = 42;
pub const EV_GC_MARK_ASSIST_START: u8 = 43;
pub const EV_GC_MARK_ASSIST_DONE: u8 = 44;
pub const EV_USER_TASK_CREATE: u8 = 45;
pub const EV_USER_TASK_END: u8 = 46;
pub const EV_USER_REGION: u8 = 47;
pub const EV_USER_LOG: u8 = 48;
pub const EV_CPU_SAMPLE: u8 = 49;
pub const EV_COUNT: u8 = 50;

// Fake Ps.
pub const TIMER_P: i32 = 1_000_001;
pub const NETPOLL_P: i32 = 1_000_002;
pub const SYSCALL_P: i32 = 1_000_003;
pub const GC_P: i32 = 1_000_004;
pub const PROFILE_P: i32 = 1_000_005;

/// Per type: name, minimum version, whether the last argument is a stack, argument names.
pub struct Desc {
    pub name: &'static str,
    pub min_ver: u32,
    pub stack: bool,
    pub args: &'static [&'static str],
}

const fn d(name: &'static str, min_ver: u32, stack: bool, args: &'static [&'static str]) -> Desc {
    Desc {
        name,
        min_ver,
        stack,
        args,
    }
}

pub static DESCS: [Desc; EV_COUNT as usize] = [
    d("None", 5, false, &[]),
    d("Batch", 5, false, &["p", "ticks"]),
    d("Frequency", 5, false, &["freq"]),
    d("Stack", 5, false, &["id", "siz"]),
    d("Gomaxprocs", 5, true, &["procs"]),
    d("ProcStart", 5, false, &["thread"]),
    d("ProcStop", 5, false, &[]),
    d("GCStart", 5, true, &["seq"]),
    d("GCDone", 5, false, &[]),
    d("GCSTWStart", 5, false, &["kindid"]),
    d("GCSTWDone", 5, false, &[]),
    d("GCSweepStart", 5, true, &[]),
    d("GCSweepDone", 5, false, &["swept", "reclaimed"]),
    d("GoCreate", 5, true, &["g", "stack"]),
    d("GoStart", 5, false, &["g", "seq"]),
    d("GoEnd", 5, false, &[]),
    d("GoStop", 5, true, &[]),
    d("GoSched", 5, true, &[]),
    d("GoPreempt", 5, true, &[]),
    d("GoSleep", 5, true, &[]),
    d("GoBlock", 5, true, &[]),
    d("GoUnblock", 5, true, &["g", "seq"]),
    d("GoBlockSend", 5, true, &[]),
    d("GoBlockRecv", 5, true, &[]),
    d("GoBlockSelect", 5, true, &[]),
    d("GoBlockSync", 5, true, &[]),
    d("GoBlockCond", 5, true, &[]),
    d("GoBlockNet", 5, true, &[]),
    d("GoSysCall", 5, true, &[]),
    d("GoSysExit", 5, false, &["g", "seq", "ts"]),
    d("GoSysBlock", 5, false, &[]),
    d("GoWaiting", 5, false, &["g"]),
    d("GoInSyscall", 5, false, &["g"]),
    d("HeapAlloc", 5, false, &["mem"]),
    d("HeapGoal", 5, false, &["mem"]),
    d("TimerGoroutine", 5, false, &["g"]),
    d("FutileWakeup", 5, false, &[]),
    d("String", 7, false, &[]),
    d("GoStartLocal", 7, false, &["g"]),
    d("GoUnblockLocal", 7, true, &["g"]),
    d("GoSysExitLocal", 7, false, &["g", "ts"]),
    d("GoStartLabel", 8, false, &["g", "seq", "labelid"]),
    d("GoBlockGC", 8, true, &[]),
    d("GCMarkAssistStart", 9, true, &[]),
    d("GCMarkAssistDone", 9, false, &[]),
    d("UserTaskCreate", 11, true, &["taskid", "pid", "typeid"]),
    d("UserTaskEnd", 11, true, &["taskid"]),
    d("UserRegion", 11, true, &["taskid", "mode", "typeid"]),
    d("UserLog", 11, true, &["id", "keyid"]),
    d("CPUSample", 19, true, &["ts", "p", "g"]),
];

/// Per type: for a plain event (one the merge lists, with no side effects on the
/// parser's tables), the number of values its inline encoding carries (time delta,
/// arguments, stack), else 0. Events whose header byte says exactly that many values
/// take [`Parser::fast_event`]; everything else, errors included, the general path.
const FAST_N: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < DESCS.len() {
        let special = matches!(
            i as u8,
            EV_NONE
                | EV_BATCH
                | EV_FREQUENCY
                | EV_STACK
                | EV_TIMER_GOROUTINE
                | EV_STRING
                | EV_USER_LOG
                | EV_CPU_SAMPLE
        );
        let n = DESCS[i].args.len() + DESCS[i].stack as usize + 1;
        if !special && n <= 3 {
            t[i] = n as u8;
        }
        i += 1;
    }
    t
};

/// One merged event. `args` holds Go's `Args[0..3]`; for `UserLog` the inline message's
/// index (Go's `Args[3]`) is kept in `args[2]`, which that event never uses otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ev {
    pub ts: i64,
    pub g: u64,
    pub args: [u64; 3],
    pub stk: u32,
    pub p: i32,
    pub typ: u8,
}

/// The tables of a v1 trace: strings and stack PCs stay slices of the input until the
/// conversion interns the ones it needs.
pub struct V1Tables<'a> {
    pub strings: FxHashMap<u64, &'a [u8]>,
    pub inline_strings: Vec<&'a [u8]>,
    /// Stack ID -> PCs (a range of `stack_pcs`).
    pub stacks: FxHashMap<u32, (u32, u32)>,
    pub stack_pcs: Vec<u64>,
    /// PC -> (func string ID, file string ID, line); first definition wins.
    pub pcs: FxHashMap<u64, (u64, u64, u64)>,
}

/// The whole parsed v1 trace: its tables, and the merge's record from which [`Replay`]
/// decodes the events again, in their final order, with `dec`.
pub struct V1Trace<'a> {
    pub tables: V1Tables<'a>,
    pub(crate) merged: Merged,
    pub(crate) dec: Parser<'a>,
    /// Nanoseconds per tick.
    pub(crate) freq: f64,
}

/// A wire-level failure: message and byte offset (relative to the body).
struct WireErr {
    msg: String,
    off: usize,
}

type WResult<T> = Result<T, Box<WireErr>>;

const MALFORMED: &str = "malformatted base-128 varint";

#[derive(Default)]
struct Raw {
    typ: u8,
    /// Offset of the event's first byte.
    start: usize,
    batch_pid: i32,
    /// Index into `Parser::args` storage: arguments of this event.
    nargs: usize,
    /// `UserLog`: the message.
    sarg: (usize, usize),
}

/// What [`Parser::batch_step`] read.
enum Step {
    Event,
    Header,
    End,
}

enum ReadOutcome {
    Ok,
    Eof,
}

pub(crate) struct Parser<'a> {
    ver: u32,
    /// Header length: error offsets are reported from the start of the file.
    hlen: usize,
    data: &'a [u8],
    off: usize,
    args: Vec<u64>,
    strings: FxHashMap<u64, &'a [u8]>,
    inline_strings: Vec<&'a [u8]>,
    inline_map: FxHashMap<&'a [u8], u32>,
    batches: FxHashMap<i32, BatchQueue>,
    /// Ps in order of their first batch in the file.
    pid_order: Vec<i32>,
    stacks: FxHashMap<u32, (u32, u32)>,
    stack_pcs: Vec<u64>,
    pcs: FxHashMap<u64, (u64, u64, u64)>,
    ticks_per_sec: i64,
    cpu_samples: Vec<Ev>,
    timer_goids: FxHashSet<u64>,
    last_ts: i64,
    last_g: u64,
    last_gs: FxHashMap<i32, u64>,
    last_p: i32,
    /// Bytes of the batches loaded so far by `load_batch` (progress).
    loaded: usize,
    /// Events the merge will list (counted by `collect`; reserves memory).
    n_events: usize,
    /// Decoding the batches a second time ([`Replay`]): the tables are complete and
    /// moved out, so strings, stacks, frequencies and timer goroutines are skipped.
    replay: bool,
}

#[derive(Default)]
struct BatchQueue {
    offsets: Vec<usize>,
    next: usize,
}

const SKIP: bool = true;

impl<'a> Parser<'a> {
    #[cold]
    fn err(&self, msg: impl Into<String>, off: usize) -> Box<WireErr> {
        Box::new(WireErr {
            msg: msg.into(),
            off,
        })
    }

    #[inline(always)]
    fn read_val(&mut self) -> Option<u64> {
        if let Some(&b) = self.data.get(self.off) {
            if b < 0x80 {
                self.off += 1;
                return Some(b as u64);
            }
        }
        let (v, n) = crate::wire::uvarint(&self.data[self.off.min(self.data.len())..]);
        if n <= 0 {
            return None;
        }
        self.off += n as usize;
        Some(v)
    }

    fn discard(&mut self, n: u64) -> bool {
        match (self.off as u64).checked_add(n) {
            Some(no) if no <= self.data.len() as u64 => {
                self.off = no as usize;
                true
            }
            _ => false,
        }
    }

    /// Go's `readFull`: fails at end of input even for zero bytes.
    fn read_full(&mut self, n: u64) -> Option<(usize, usize)> {
        if self.off >= self.data.len()
            || (self.off as u64).saturating_add(n) > self.data.len() as u64
        {
            return None;
        }
        let s = self.off;
        self.off += n as usize;
        Some((s, n as usize))
    }

    /// Go's `readRawEvent`. Arguments land in `self.args[..raw.nargs]`.
    fn read_raw(&mut self, skip: bool, raw: &mut Raw) -> WResult<ReadOutcome> {
        let start = self.off;
        let Some(&b) = self.data.get(self.off) else {
            return Ok(ReadOutcome::Eof);
        };
        self.off += 1;
        let typ = b & 0x3f;
        let narg = (b >> 6) as usize + 1;
        raw.start = start;
        raw.nargs = 0;
        if typ == EV_NONE || typ >= EV_COUNT || DESCS[typ as usize].min_ver > self.ver {
            return Err(self.err(format!("unknown event type {typ}"), start));
        }
        let e = |s: &Self, m: String| s.err(m, start);
        match typ {
            EV_STRING => {
                if skip || self.replay {
                    if self.read_val().is_none() {
                        return Err(e(self, MALFORMED.into()));
                    }
                    let Some(ln) = self.read_val() else {
                        return Err(e(self, MALFORMED.into()));
                    };
                    if !self.discard(ln) {
                        return Err(e(self, "failed to read trace: EOF".into()));
                    }
                } else {
                    let Some(id) = self.read_val() else {
                        return Err(e(self, MALFORMED.into()));
                    };
                    if id == 0 {
                        return Err(e(self, "string has invalid id 0".into()));
                    }
                    if self.strings.get(&id).is_some_and(|s| !s.is_empty()) {
                        return Err(e(self, format!("string has duplicate id {id}")));
                    }
                    let Some(ln) = self.read_val() else {
                        return Err(e(self, MALFORMED.into()));
                    };
                    if ln == 0 {
                        return Err(e(self, "string has invalid length 0".into()));
                    }
                    if ln > 1_000_000 {
                        return Err(e(self, format!("string has too large length {ln}")));
                    }
                    let Some((s, n)) = self.read_full(ln) else {
                        return Err(e(self, "failed to read trace: unexpected EOF".into()));
                    };
                    self.strings.insert(id, &self.data[s..s + n]);
                }
                raw.typ = EV_NONE;
                Ok(ReadOutcome::Ok)
            }
            EV_BATCH => {
                if narg != 2 {
                    return Err(e(
                        self,
                        format!("EvBatch has wrong number of arguments: got {narg}, want 2"),
                    ));
                }
                let Some(pid) = self.read_val() else {
                    return Err(e(self, MALFORMED.into()));
                };
                if pid != u64::MAX && pid > i32::MAX as u64 {
                    return Err(e(
                        self,
                        format!("processor ID {pid} is larger than maximum of {}", u64::MAX),
                    ));
                }
                let pid32 = if pid == u64::MAX { -1 } else { pid as i32 };
                let Some(v) = self.read_val() else {
                    return Err(e(self, MALFORMED.into()));
                };
                raw.typ = EV_BATCH;
                raw.batch_pid = pid32;
                self.args.clear();
                self.args.push(pid);
                self.args.push(v);
                raw.nargs = 2;
                Ok(ReadOutcome::Ok)
            }
            _ => {
                raw.typ = typ;
                self.args.clear();
                if narg <= 3 {
                    for _ in 0..narg {
                        let Some(v) = self.read_val() else {
                            return Err(e(
                                self,
                                format!("failed to read event {typ} argument: {MALFORMED}"),
                            ));
                        };
                        if !skip {
                            self.args.push(v);
                        }
                    }
                } else {
                    let Some(v) = self.read_val() else {
                        return Err(e(
                            self,
                            format!("failed to read event {typ} argument: {MALFORMED}"),
                        ));
                    };
                    if v > 2048 {
                        return Err(e(self, format!("failed to read event {typ} argument: length-prefixed argument too big: {v} bytes, limit is 2048")));
                    }
                    if !skip || typ == EV_CPU_SAMPLE {
                        let Some((s, n)) = self.read_full(v) else {
                            return Err(e(self, "failed to read trace: unexpected EOF".into()));
                        };
                        let mut buf = &self.data[s..s + n];
                        while !buf.is_empty() {
                            let (x, k) = crate::wire::uvarint(buf);
                            if k <= 0 {
                                return Err(e(self, MALFORMED.into()));
                            }
                            self.args.push(x);
                            buf = &buf[k as usize..];
                        }
                    } else if !self.discard(v) {
                        return Err(e(self, "failed to read trace: EOF".into()));
                    }
                    if typ == EV_USER_LOG {
                        if !skip {
                            let Some(sz) = self.read_val() else {
                                return Err(e(self, MALFORMED.into()));
                            };
                            if sz == 0 {
                                raw.sarg = (0, 0);
                            } else {
                                if sz > 1_000_000 {
                                    return Err(e(self, format!("string is too large (len={sz})")));
                                }
                                let Some(r) = self.read_full(sz) else {
                                    return Err(e(
                                        self,
                                        "failed to read trace: unexpected EOF".into(),
                                    ));
                                };
                                raw.sarg = r;
                            }
                        } else {
                            let Some(v) = self.read_val() else {
                                return Err(e(self, MALFORMED.into()));
                            };
                            if !self.discard(v) {
                                // Go returns a bare io.EOF here: the first pass stops.
                                return Ok(ReadOutcome::Eof);
                            }
                        }
                    }
                }
                raw.nargs = self.args.len();
                Ok(ReadOutcome::Ok)
            }
        }
    }

    /// Go's `rawEvent.argNum`.
    fn arg_num(raw: &Raw) -> usize {
        let desc = &DESCS[raw.typ as usize];
        if raw.typ == EV_STACK {
            return raw.nargs;
        }
        let mut n = desc.args.len() + desc.stack as usize;
        if !matches!(raw.typ, EV_BATCH | EV_FREQUENCY | EV_TIMER_GOROUTINE) {
            n += 1;
        }
        n
    }

    /// Go's `collectBatchesAndCPUSamples`; also counts the events the merge will list
    /// (`self.n_events`). `check(offset)` is asked every [`super::CHECK_EVERY`] events
    /// whether to stop (then the result is `Ok(false)`).
    fn collect(&mut self, check: &mut dyn FnMut(usize) -> bool) -> WResult<bool> {
        let mut raw = Raw::default();
        let mut cur_p: i32 = 0;
        // Whether a batch was seen: the current P has batches from then on.
        let mut in_batch = false;
        let mut n = 0usize;
        loop {
            n += 1;
            if n.is_multiple_of(super::CHECK_EVERY) && check(self.off) {
                return Ok(false);
            }
            if in_batch && self.fast_skip() {
                self.n_events += 1;
                continue;
            }
            match self.read_raw(SKIP, &mut raw)? {
                ReadOutcome::Eof => break,
                ReadOutcome::Ok => {}
            }
            if raw.typ == EV_NONE {
                continue;
            }
            if !matches!(
                raw.typ,
                EV_BATCH | EV_FREQUENCY | EV_STACK | EV_TIMER_GOROUTINE
            ) {
                self.n_events += 1;
            }
            if raw.typ == EV_BATCH {
                let q = self.batches.entry(raw.batch_pid).or_insert_with(|| {
                    self.pid_order.push(raw.batch_pid);
                    BatchQueue::default()
                });
                q.offsets.push(raw.start);
                cur_p = raw.batch_pid;
                in_batch = true;
            }
            if !in_batch {
                return Err(self.err(
                    format!(
                        "read event {} with current P of {cur_p}, but P has no batches yet",
                        raw.typ
                    ),
                    raw.start,
                ));
            }
            if raw.typ == EV_CPU_SAMPLE {
                let narg = Self::arg_num(&raw);
                if raw.nargs != narg {
                    return Err(self.err(
                        format!(
                            "CPU sample has wrong number of arguments: want {narg}, got {}",
                            raw.nargs
                        ),
                        raw.start,
                    ));
                }
                let a = &self.args;
                self.cpu_samples.push(Ev {
                    ts: a[1] as i64,
                    g: a[3],
                    args: [0, a[2], a[3]],
                    stk: a[4] as u32,
                    p: a[2] as i32,
                    typ: EV_CPU_SAMPLE,
                });
            }
        }
        Ok(true)
    }

    /// Go's `loadBatch`: the next batch of `pid` into `out`. `None` if there is none,
    /// else where the batch starts and the P's current goroutine there, which is all
    /// that decoding the batch again needs ([`Parser::next_in_batch`]).
    fn load_batch(&mut self, pid: i32, out: &mut Vec<Ev>) -> WResult<Option<(usize, u64)>> {
        out.clear();
        let Some(q) = self.batches.get_mut(&pid) else {
            return Ok(None);
        };
        if q.next >= q.offsets.len() {
            return Ok(None);
        }
        let start = q.offsets[q.next];
        q.next += 1;
        if q.next == q.offsets.len() {
            q.offsets = Vec::new();
            q.next = 0;
        }
        self.off = start;
        let (mut header, mut first_g) = (false, 0);
        let mut ev = Ev::default();
        loop {
            match self.batch_step(&mut header, &mut ev)? {
                Step::Event => out.push(ev),
                Step::Header => first_g = self.last_g,
                Step::End => break,
            }
        }
        self.loaded += self.off - start;
        Ok(Some((start, first_g)))
    }

    /// Reads on within a batch from `self.off`: its header (when `header` is still
    /// false), else its next event into `ev`, or its end (the next batch's header, or the
    /// input's end). Both decodings of a batch go through this one framing.
    #[inline(always)]
    fn batch_step(&mut self, header: &mut bool, ev: &mut Ev) -> WResult<Step> {
        loop {
            if *header && self.fast_event(ev) {
                return Ok(Step::Event);
            }
            let mut raw = Raw::default();
            match self.read_raw(!SKIP, &mut raw)? {
                ReadOutcome::Eof => return Ok(Step::End),
                ReadOutcome::Ok => {}
            }
            match raw.typ {
                EV_NONE | EV_CPU_SAMPLE => {}
                EV_BATCH if *header => return Ok(Step::End),
                EV_BATCH => {
                    *header = true;
                    self.parse_event(&raw, ev)?;
                    return Ok(Step::Header);
                }
                _ => {
                    if self.parse_event(&raw, ev)? {
                        return Ok(Step::Event);
                    }
                }
            }
        }
    }

    /// The next event of the batch `c` is in into `ev` ([`Replay`]), false at its end.
    #[inline]
    fn next_in_batch(&mut self, c: &mut ByteCursor, ev: &mut Ev) -> WResult<bool> {
        self.off = c.off;
        self.last_ts = c.last_ts;
        self.last_g = c.last_g;
        self.last_p = c.p;
        let got = loop {
            match self.batch_step(&mut c.header, ev)? {
                Step::Event => break true,
                // The goroutine the merge found current there.
                Step::Header => self.last_g = c.last_g,
                Step::End => break false,
            }
        };
        c.off = self.off;
        c.last_ts = self.last_ts;
        c.last_g = self.last_g;
        c.p = self.last_p;
        Ok(got)
    }

    /// [`Parser::parse_event`] for a plain inline event ([`FAST_N`]) at `self.off`, into
    /// `ev`; false (nothing read) for any other event or one that does not decode.
    #[inline(always)]
    fn fast_event(&mut self, ev: &mut Ev) -> bool {
        let start = self.off;
        let Some(&b) = self.data.get(start) else {
            return false;
        };
        let typ = b & 0x3f;
        let n = (b >> 6) as usize + 1;
        let desc = &DESCS[typ as usize % DESCS.len()];
        if FAST_N[typ as usize] as usize != n || desc.min_ver > self.ver {
            return false;
        }
        self.off += 1;
        let mut a = [0u64; 3];
        for v in &mut a[..n] {
            match self.read_val() {
                Some(x) => *v = x,
                None => {
                    self.off = start;
                    return false;
                }
            }
        }
        let (p, g) = (self.last_p, self.last_g);
        build_event(ev, typ, desc, &a[..n], &mut self.last_ts, p, g);
        self.track_g(ev);
        true
    }

    /// The first pass's reading of a plain inline event ([`FAST_N`]) at `self.off`: false
    /// (nothing read) for any other event or one that does not decode.
    #[inline(always)]
    fn fast_skip(&mut self) -> bool {
        let start = self.off;
        let Some(&b) = self.data.get(start) else {
            return false;
        };
        let typ = b & 0x3f;
        let n = (b >> 6) as usize + 1;
        if FAST_N[typ as usize] as usize != n
            || DESCS[typ as usize % DESCS.len()].min_ver > self.ver
        {
            return false;
        }
        self.off += 1;
        for _ in 0..n {
            if self.read_val().is_none() {
                self.off = start;
                return false;
            }
        }
        true
    }

    /// The P's current goroutine as Go's parser tracks it, and the events that name
    /// their goroutine in an argument.
    #[inline(always)]
    fn track_g(&mut self, ev: &mut Ev) {
        match ev.typ {
            EV_GO_START | EV_GO_START_LOCAL | EV_GO_START_LABEL => {
                self.last_g = ev.args[0];
                ev.g = self.last_g;
            }
            EV_GO_END | EV_GO_STOP | EV_GO_SCHED | EV_GO_PREEMPT | EV_GO_SLEEP | EV_GO_BLOCK
            | EV_GO_BLOCK_SEND | EV_GO_BLOCK_RECV | EV_GO_BLOCK_SELECT | EV_GO_BLOCK_SYNC
            | EV_GO_BLOCK_COND | EV_GO_BLOCK_NET | EV_GO_SYS_BLOCK | EV_GO_BLOCK_GC => {
                self.last_g = 0
            }
            EV_GO_SYS_EXIT | EV_GO_WAITING | EV_GO_IN_SYSCALL => ev.g = ev.args[0],
            _ => {}
        }
    }

    /// Go's `parseEvent`.
    fn parse_event(&mut self, raw: &Raw, ev: &mut Ev) -> WResult<bool> {
        let desc = &DESCS[raw.typ as usize];
        let narg = Self::arg_num(raw);
        let start = raw.start;
        if raw.nargs != narg {
            return Err(self.err(
                format!(
                    "{} has wrong number of arguments: want {narg}, got {}",
                    desc.name, raw.nargs
                ),
                start,
            ));
        }
        match raw.typ {
            EV_BATCH => {
                self.last_gs.insert(self.last_p, self.last_g);
                let a0 = self.args[0];
                if a0 != u64::MAX && a0 > i32::MAX as u64 {
                    return Err(self.err(
                        format!("processor ID {a0} is larger than maximum of {}", i32::MAX),
                        start,
                    ));
                }
                self.last_p = if a0 == u64::MAX { -1 } else { a0 as i32 };
                self.last_g = self.last_gs.get(&self.last_p).copied().unwrap_or(0);
                self.last_ts = self.args[1] as i64;
                Ok(false)
            }
            EV_FREQUENCY | EV_TIMER_GOROUTINE | EV_STACK if self.replay => Ok(false),
            EV_FREQUENCY => {
                self.ticks_per_sec = self.args[0] as i64;
                if self.ticks_per_sec <= 0 {
                    return Err(self.err("time stamps out of order", start));
                }
                Ok(false)
            }
            EV_TIMER_GOROUTINE => {
                self.timer_goids.insert(self.args[0]);
                Ok(false)
            }
            EV_STACK => {
                let a = &self.args;
                if a.len() < 2 {
                    return Err(self.err(
                        format!(
                            "EvStack has wrong number of arguments: want at least 2, got {}",
                            a.len()
                        ),
                        start,
                    ));
                }
                let size = a[1];
                if size > 1000 {
                    return Err(
                        self.err(format!("EvStack has bad number of frames: {size}"), start)
                    );
                }
                let want = 2 + 4 * size;
                if a.len() as u64 != want {
                    return Err(self.err(
                        format!(
                            "EvStack has wrong number of arguments: want {want}, got {}",
                            a.len()
                        ),
                        start,
                    ));
                }
                let id = a[0] as u32;
                if id != 0 && size > 0 {
                    let s = self.stack_pcs.len() as u32;
                    for i in 0..size as usize {
                        let pc = a[2 + i * 4];
                        self.stack_pcs.push(pc);
                        self.pcs
                            .entry(pc)
                            .or_insert((a[3 + i * 4], a[4 + i * 4], a[5 + i * 4]));
                    }
                    self.stacks.insert(id, (s, size as u32));
                }
                Ok(false)
            }
            EV_CPU_SAMPLE => Ok(false),
            typ => {
                // `args` holds exactly `narg` values (checked above).
                let (p, g) = (self.last_p, self.last_g);
                build_event(ev, typ, desc, &self.args, &mut self.last_ts, p, g);
                self.track_g(ev);
                if typ == EV_USER_LOG {
                    let (s, n) = raw.sarg;
                    let msg: &'a [u8] = &self.data[s..s + n];
                    let id = match self.inline_map.get(msg) {
                        Some(&id) => id,
                        // Every message was met on the first decoding.
                        None if self.replay => 0,
                        None => {
                            let id = self.inline_strings.len() as u32;
                            self.inline_map.insert(msg, id);
                            self.inline_strings.push(msg);
                            id
                        }
                    };
                    ev.args[2] = id as u64;
                }
                Ok(true)
            }
        }
    }
}

/// A plain event of type `typ` from its values `a` (time delta, arguments, and the stack
/// last if the type has one) on P `p` with current goroutine `g`; `last_ts` advances.
#[inline(always)]
fn build_event(ev: &mut Ev, typ: u8, desc: &Desc, a: &[u64], last_ts: &mut i64, p: i32, g: u64) {
    *ev = Ev {
        typ,
        p,
        g,
        ..Ev::default()
    };
    ev.ts = last_ts.wrapping_add(a[0] as i64);
    *last_ts = ev.ts;
    let n_args = a.len() - 1 - desc.stack as usize;
    for (slot, &v) in ev.args.iter_mut().zip(&a[1..1 + n_args]) {
        *slot = v;
    }
    if desc.stack {
        ev.stk = a[a.len() - 1] as u32;
    }
}

// -- ordering (Go's order.go) ----------------------------------------------------------------

const G_DEAD: u8 = 0;
const G_RUNNABLE: u8 = 1;
const G_RUNNING: u8 = 2;
const G_WAITING: u8 = 3;
const UNORDERED: u64 = u64::MAX;
const GARBAGE: u64 = u64::MAX - 1;
const NOSEQ: u64 = u64::MAX;
const SEQINC: u64 = u64::MAX - 1;

#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct GState {
    seq: u64,
    status: u8,
}

fn gst(seq: u64, status: u8) -> GState {
    GState { seq, status }
}

fn state_transition(ev: &Ev) -> (u64, GState, GState) {
    match ev.typ {
        EV_GO_CREATE => (ev.args[0], gst(0, G_DEAD), gst(1, G_RUNNABLE)),
        EV_GO_WAITING | EV_GO_IN_SYSCALL => (ev.g, gst(1, G_RUNNABLE), gst(2, G_WAITING)),
        EV_GO_START | EV_GO_START_LABEL => (
            ev.g,
            gst(ev.args[1], G_RUNNABLE),
            gst(ev.args[1].wrapping_add(1), G_RUNNING),
        ),
        EV_GO_START_LOCAL => (ev.g, gst(NOSEQ, G_RUNNABLE), gst(SEQINC, G_RUNNING)),
        EV_GO_BLOCK | EV_GO_BLOCK_SEND | EV_GO_BLOCK_RECV | EV_GO_BLOCK_SELECT
        | EV_GO_BLOCK_SYNC | EV_GO_BLOCK_COND | EV_GO_BLOCK_NET | EV_GO_SLEEP | EV_GO_SYS_BLOCK
        | EV_GO_BLOCK_GC => (ev.g, gst(NOSEQ, G_RUNNING), gst(NOSEQ, G_WAITING)),
        EV_GO_SCHED | EV_GO_PREEMPT => (ev.g, gst(NOSEQ, G_RUNNING), gst(NOSEQ, G_RUNNABLE)),
        EV_GO_UNBLOCK | EV_GO_SYS_EXIT => (
            ev.args[0],
            gst(ev.args[1], G_WAITING),
            gst(ev.args[1].wrapping_add(1), G_RUNNABLE),
        ),
        EV_GO_UNBLOCK_LOCAL | EV_GO_SYS_EXIT_LOCAL => {
            (ev.args[0], gst(NOSEQ, G_WAITING), gst(SEQINC, G_RUNNABLE))
        }
        EV_GC_START => (
            GARBAGE,
            gst(ev.args[0], G_DEAD),
            gst(ev.args[0].wrapping_add(1), G_DEAD),
        ),
        _ => (UNORDERED, GState::default(), GState::default()),
    }
}

#[inline]
fn transition_ready(g: u64, curr: GState, init: GState) -> bool {
    g == UNORDERED || (init.seq == NOSEQ || init.seq == curr.seq) && init.status == curr.status
}

/// One P's stream during the merge.
struct Proc {
    pid: i32,
    events: Vec<Ev>,
    pos: usize,
    done: bool,
}

/// Go's `orderEventList` heap, keyed by time only. Go's entries hold the event; ours
/// hold its time and the proc index: a proc has at most one event in the frontier, and
/// that event stays in the proc's buffer (just before `pos`) until it is popped.
struct Frontier(Vec<(i64, u32)>);

impl Frontier {
    /// Go's `heap.Push`. Sifting moves a hole instead of swapping: the same array results.
    #[inline]
    fn push(&mut self, x: (i64, u32)) {
        let h = &mut self.0;
        h.push(x);
        let mut j = h.len() - 1;
        while j > 0 {
            let i = (j - 1) / 2;
            if x.0 >= h[i].0 {
                break;
            }
            h[j] = h[i];
            j = i;
        }
        h[j] = x;
    }

    /// Go's `heap.Pop` (swap the last entry to the top, sift it down within the rest).
    #[inline]
    fn pop(&mut self) -> (i64, u32) {
        let h = &mut self.0;
        let last = h.pop().expect("pop from an empty frontier");
        let n = h.len();
        if n == 0 {
            return last;
        }
        let top = h[0];
        let mut i = 0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && h[j2].0 < h[j1].0 {
                j = j2;
            }
            if h[j].0 >= last.0 {
                break;
            }
            h[i] = h[j];
            i = j;
        }
        h[i] = last;
        top
    }
}

/// Which Ps of the merge's `avail` list (those with no event in the frontier) may have a
/// ready next event, so that the scan over the list skips those known to wait, in the
/// list's own order (see [`crate::frontier`] for the same idea over the v2 frontier).
/// Go's merge tries every such P for every event: with thousands of Ps whose next events
/// share one timestamp but must go in a fixed order, that is O(Ps) per event. A P's next
/// event waits on its goroutine's (sequence number, status) alone, so a waiting P is
/// registered under the state it needs and woken when the goroutine's state is set to it.
/// Entries are P indices, positions those of `avail` (`pos[avail[i]] == i`).
struct AvailIndex(crate::frontier::Waiting<(u64, u64, u8)>);

impl AvailIndex {
    fn new(avail: &[usize], procs: usize) -> Self {
        let mut w = crate::frontier::Waiting::new(procs, procs);
        for (i, &pi) in avail.iter().enumerate() {
            w.pos[pi] = i as u32;
            w.bits.set(i);
        }
        AvailIndex(w)
    }

    /// `avail.swap_remove(i)` took P `removed` out of the list.
    fn swap_removed(&mut self, avail: &[usize], i: usize, removed: usize) {
        let w = &mut self.0;
        w.pos[removed] = crate::frontier::NONE;
        w.advanced(removed);
        let last = avail.len();
        if i != last {
            w.pos[avail[i]] = i as u32;
            let b = w.bits.get(last);
            w.bits.put(i, b);
        }
        w.bits.clear(last);
    }

    /// `avail.push(pi)` happened.
    fn pushed(&mut self, avail: &[usize]) {
        let i = avail.len() - 1;
        self.0.pos[avail[i]] = i as u32;
        self.0.bits.set(i);
    }

    /// `avail[i]` (P `pi`) waits for goroutine `g` to be in `need` (sequence number
    /// [`NOSEQ`]: any).
    fn block(&mut self, i: usize, pi: usize, g: u64, need: GState) {
        self.0.block(i, pi, &[(g, need.seq, need.status)]);
    }

    /// Goroutine `g`'s state was set to `now`.
    fn set(&mut self, g: u64, now: GState) {
        self.0.wake(&(g, now.seq, now.status));
        self.0.wake(&(g, NOSEQ, now.status));
    }
}

/// Go's merge renames the `Local` variants of three events when it lists them.
#[inline]
fn renamed(typ: u8) -> u8 {
    match typ {
        EV_GO_START_LOCAL => EV_GO_START,
        EV_GO_UNBLOCK_LOCAL => EV_GO_UNBLOCK,
        EV_GO_SYS_EXIT_LOCAL => EV_GO_SYS_EXIT,
        t => t,
    }
}

/// The proc each merged event came from, one byte per event while there are at most 256
/// procs (the usual case), else two or four.
enum Order {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Order {
    fn new(procs: usize, cap: usize) -> Self {
        if procs <= 1 << 8 {
            Order::U8(Vec::with_capacity(cap))
        } else if procs <= 1 << 16 {
            Order::U16(Vec::with_capacity(cap))
        } else {
            Order::U32(Vec::with_capacity(cap))
        }
    }

    #[inline]
    fn push(&mut self, pi: usize) {
        match self {
            Order::U8(v) => v.push(pi as u8),
            Order::U16(v) => v.push(pi as u16),
            Order::U32(v) => v.push(pi as u32),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> usize {
        match self {
            Order::U8(v) => v[i] as usize,
            Order::U16(v) => v[i] as usize,
            Order::U32(v) => v[i] as usize,
        }
    }

    fn len(&self) -> usize {
        match self {
            Order::U8(v) => v.len(),
            Order::U16(v) => v.len(),
            Order::U32(v) => v.len(),
        }
    }
}

/// A growable bit set over event positions.
#[derive(Default)]
pub(crate) struct PosBits(Vec<u64>);

impl PosBits {
    pub(crate) fn set(&mut self, i: u32) {
        let w = i as usize / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn get(&self, i: u32) -> bool {
        self.0
            .get(i as usize / 64)
            .is_some_and(|w| w >> (i % 64) & 1 != 0)
    }
}

/// What Go checks over the whole merged list before re-sorting it ("time stamps out of
/// order"; syscall exits with their real times, "stray syscall exit"), run as the merge
/// lists each event, and the conversion's look-ahead from each GoSysCall (does its
/// goroutine block next?) in merged order. Errors are kept, not returned: Go reports a
/// merge error found later first.
struct Scan {
    prev_ts: i64,
    out_of_order: bool,
    sys_err: Option<&'static str>,
    last_sys_block: FxHashMap<u64, i64>,
    /// Syscall exits whose real time differs from their place, with that time, and their
    /// merged positions (ascending).
    moved: Vec<(Ev, u32)>,
    per_g: GMap<GScan>,
    blocked: PosBits,
    /// Whether a moved exit lands before an earlier event of its goroutine.
    jumped: bool,
    /// Times of the first and the last event that does not move.
    kept: Option<(i64, i64)>,
}

/// One event's part in the conversion's look-ahead from each GoSysCall (does the
/// goroutine's next event block it?): `call` is the record of the event's goroutine
/// (`Ev::g`): 1 + the position of its last event if that is a GoSysCall, else 0. A
/// GoSysBlock right after a GoSysCall marks that GoSysCall's position in `blocked`.
#[inline]
pub(crate) fn look_ahead(call: &mut u32, at: u32, typ: u8, blocked: &mut PosBits) {
    if *call != 0 && typ == EV_GO_SYS_BLOCK {
        blocked.set(*call - 1);
    }
    *call = if typ == EV_GO_SYS_CALL { at + 1 } else { 0 };
}

/// What [`Scan`] keeps per goroutine (`Ev::g`).
struct GScan {
    /// 1 + the merged position of its last event if that is a GoSysCall, else 0.
    call: u32,
    /// The latest time (after the move) of its events so far.
    max_ts: i64,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            prev_ts: i64::MIN,
            out_of_order: false,
            sys_err: None,
            last_sys_block: FxHashMap::default(),
            moved: Vec::new(),
            per_g: GMap::default(),
            blocked: PosBits::default(),
            jumped: false,
            kept: None,
        }
    }
}

impl Scan {
    #[inline]
    fn event(&mut self, at: u32, ev: &mut Ev) {
        if ev.ts < self.prev_ts {
            self.out_of_order = true;
        }
        self.prev_ts = ev.ts;
        let mut moved = false;
        if self.sys_err.is_none() {
            match ev.typ {
                EV_GO_SYS_BLOCK | EV_GO_IN_SYSCALL => {
                    self.last_sys_block.insert(ev.g, ev.ts);
                }
                EV_GO_SYS_EXIT => {
                    // The real exit time is Args[2]; a renamed GoSysExitLocal has it in
                    // Args[1] and 0 here, so Go keeps its emission time.
                    let ts = ev.args[2] as i64;
                    let block = self.last_sys_block.get(&ev.g).copied().unwrap_or(0);
                    if ts == 0 {
                    } else if block == 0 {
                        self.sys_err = Some("stray syscall exit");
                    } else if ts < block {
                        self.sys_err = Some("time stamps out of order");
                    } else if ev.ts != ts {
                        ev.ts = ts;
                        moved = true;
                    }
                }
                _ => {}
            }
        }
        // The re-sorted list is the order by (time, merged position), so an exit that
        // moves changes its goroutine's own sequence only if it lands before an earlier
        // event of that goroutine (one with a later time).
        let g = ev.g as i64;
        match self.per_g.get_mut(&g) {
            Some(s) => {
                look_ahead(&mut s.call, at, ev.typ, &mut self.blocked);
                if moved && ev.ts < s.max_ts {
                    self.jumped = true;
                }
                s.max_ts = s.max_ts.max(ev.ts);
            }
            None => {
                let mut call = 0;
                look_ahead(&mut call, at, ev.typ, &mut self.blocked);
                self.per_g.insert(
                    g,
                    GScan {
                        call,
                        max_ts: ev.ts,
                    },
                )
            }
        }
        if moved {
            self.moved.push((*ev, at));
            return;
        }
        let k = self.kept.get_or_insert((ev.ts, ev.ts));
        k.1 = ev.ts;
    }
}

/// One proc of the merge as the replay needs it: its events before any batch (the CPU
/// samples' pseudo-P), then the batches it loaded, in order, as (offset, the P's
/// current goroutine at the batch's start).
struct ReplayProc {
    pid: i32,
    initial: Vec<Ev>,
    loads: Vec<(usize, u64)>,
}

/// The merge's record of its result: which proc each listed event came from, and the
/// syscall exits that the re-sort moves. With the input this is the whole re-sorted list,
/// at one byte per event instead of a 56-byte record.
pub(crate) struct Merged {
    order: Order,
    procs: Vec<ReplayProc>,
    /// Merged positions of the moved exits, ascending.
    moved_at: Vec<u32>,
    /// The moved exits (with their real times) and their merged positions, in the order
    /// of a stable sort by time.
    moved: Vec<(Ev, u32)>,
    /// Merged positions of the GoSysCalls whose goroutine's next merged event is
    /// GoSysBlock: the same in the re-sorted list unless `jumped`.
    pub(crate) blocked: PosBits,
    /// Whether a moved exit lands before an earlier event of its goroutine, which then
    /// has a different sequence of its own events in the re-sorted list.
    pub(crate) jumped: bool,
    /// Times (ticks) of the first and the last event of the re-sorted list.
    span: Option<(i64, i64)>,
}

impl Merged {
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// Where decoding a batch again stands: the decoder state of one P.
#[derive(Default)]
struct ByteCursor {
    off: usize,
    last_ts: i64,
    last_g: u64,
    p: i32,
    /// Whether the batch's header has been read (the next header ends the batch).
    header: bool,
}

/// One proc of the replay: the position in its initial events, the batch being decoded,
/// and the index of the next batch in [`ReplayProc::loads`].
#[derive(Default)]
struct ProcCursor {
    initial: usize,
    batch: Option<ByteCursor>,
    next_load: usize,
}

/// The re-sorted list (Go's `sort.Stable` by time after the exits moved), event by event
/// with its merged position, decoded again from the input one event at a time: the
/// merged events in order, minus the moved exits, merged with the moved exits by (time,
/// merged position).
pub(crate) struct Replay<'m> {
    m: &'m Merged,
    cursors: Vec<ProcCursor>,
    next_at: usize,
    skip: usize,
    mi: usize,
    /// The next event of the merged list that does not move, when a moved exit went
    /// before it (`pend_at` is then its position).
    pend: Ev,
    pend_at: Option<u32>,
}

/// The replay's errors: none happen on input the merge accepted.
type RResult<T> = Result<T, Box<TraceError>>;

impl<'m> Replay<'m> {
    pub(crate) fn new(m: &'m Merged) -> Self {
        Replay {
            m,
            cursors: m.procs.iter().map(|_| ProcCursor::default()).collect(),
            next_at: 0,
            skip: 0,
            mi: 0,
            pend: Ev::default(),
            pend_at: None,
        }
    }

    /// Reads the next event of the merged list that does not move into `ev`, and returns
    /// its position.
    fn fill(&mut self, dec: &mut Parser<'_>, ev: &mut Ev) -> RResult<Option<u32>> {
        loop {
            let at = self.next_at;
            if at >= self.m.order.len() {
                return Ok(None);
            }
            self.next_at += 1;
            let pi = self.m.order.get(at);
            let proc = &self.m.procs[pi];
            let c = &mut self.cursors[pi];
            loop {
                if let Some(&e) = proc.initial.get(c.initial) {
                    c.initial += 1;
                    *ev = e;
                    break;
                }
                let b = match &mut c.batch {
                    Some(b) => b,
                    None => {
                        // The merge decoded these batches without error, and took this
                        // event from one of them: this cannot fail.
                        let Some(&(off, g)) = proc.loads.get(c.next_load) else {
                            return Err(Box::new(verr(
                                "internal error: v1 replay ran out of batches",
                            )));
                        };
                        c.next_load += 1;
                        c.batch.insert(ByteCursor {
                            off,
                            last_g: g,
                            ..ByteCursor::default()
                        })
                    }
                };
                match dec.next_in_batch(b, ev) {
                    Ok(true) => break,
                    Ok(false) => c.batch = None,
                    Err(e) => return Err(Box::new(dec.wire_error(*e))),
                }
            }
            if self.m.moved_at.get(self.skip) == Some(&(at as u32)) {
                self.skip += 1;
                continue;
            }
            ev.typ = renamed(ev.typ);
            return Ok(Some(at as u32));
        }
    }

    /// The next event into `ev`, and its merged position; `None` at the end.
    #[inline]
    pub(crate) fn next(&mut self, dec: &mut Parser<'_>, ev: &mut Ev) -> RResult<Option<u32>> {
        // The main event, read now or set aside when a moved exit went before it.
        let at = match self.pend_at.take() {
            Some(at) => {
                *ev = self.pend;
                Some(at)
            }
            None => self.fill(dec, ev)?,
        };
        if let Some((mev, mat)) = self.m.moved.get(self.mi) {
            if at.is_none_or(|at| (mev.ts, *mat) < (ev.ts, at)) {
                self.mi += 1;
                self.pend = *ev;
                self.pend_at = at;
                *ev = *mev;
                return Ok(Some(*mat));
            }
        }
        Ok(at)
    }
}

fn verr(msg: impl Into<String>) -> TraceError {
    TraceError::validation(msg)
}

impl<'a> Parser<'a> {
    /// Go's `parseEventBatches` and the passes over its result up to the re-sort, without
    /// keeping the merged list: what it records ([`Merged`]) lets [`Replay`] produce the
    /// re-sorted list again from the input, one event at a time. `check(bytes of the
    /// batches loaded)` is asked every [`super::CHECK_EVERY`] events whether to stop
    /// (then the result is an `Interrupted` error).
    fn merge(&mut self, check: &mut dyn FnMut(usize) -> bool) -> Result<Merged, TraceError> {
        let mut cpu = std::mem::take(&mut self.cpu_samples);
        crate::gosort::sort_func(&mut cpu, |a, b| a.ts < b.ts);
        let mut replay: Vec<ReplayProc> = self
            .pid_order
            .iter()
            .map(|&pid| ReplayProc {
                pid,
                initial: Vec::new(),
                loads: Vec::new(),
            })
            .collect();
        replay.push(ReplayProc {
            pid: PROFILE_P,
            initial: cpu.clone(),
            loads: Vec::new(),
        });
        let mut procs: Vec<Proc> = replay
            .iter()
            .map(|r| Proc {
                pid: r.pid,
                events: Vec::new(),
                pos: 0,
                done: false,
            })
            .collect();
        if let Some(last) = procs.last_mut() {
            last.events = cpu;
        }
        let mut order = Order::new(procs.len(), self.n_events);
        let mut scan = Scan::default();
        let mut gs: GMap<GState> = GMap::default();
        let mut frontier = Frontier(Vec::new());
        let mut avail: Vec<usize> = (0..procs.len()).collect();
        let mut ix = (procs.len() >= crate::reader::index_from())
            .then(|| AvailIndex::new(&avail, procs.len()));
        loop {
            let mut i = 0;
            'pid: loop {
                match &ix {
                    Some(ix) => match ix.0.bits.next(i) {
                        Some(j) => i = j,
                        None => break,
                    },
                    None if i < avail.len() => {}
                    None => break,
                }
                let pi = avail[i];
                while procs[pi].pos == procs[pi].events.len() {
                    let mut buf = std::mem::take(&mut procs[pi].events);
                    let loaded = self
                        .load_batch(procs[pi].pid, &mut buf)
                        .map_err(|e| self.wire_error(*e))?;
                    procs[pi].events = buf;
                    procs[pi].pos = 0;
                    match loaded {
                        Some(at) => replay[pi].loads.push(at),
                        None => {
                            procs[pi].done = true;
                            avail.swap_remove(i);
                            if let Some(ix) = &mut ix {
                                ix.swap_removed(&avail, i, pi);
                            }
                            continue 'pid;
                        }
                    }
                }
                let ev = procs[pi].events[procs[pi].pos];
                let (g, init, _) = state_transition(&ev);
                let cur = if g == UNORDERED {
                    GState::default()
                } else {
                    gs.get(&(g as i64)).copied().unwrap_or_default()
                };
                if !transition_ready(g, cur, init) {
                    if let Some(ix) = &mut ix {
                        ix.block(i, pi, g, init);
                    }
                    i += 1;
                    continue;
                }
                procs[pi].pos += 1;
                avail.swap_remove(i);
                if let Some(ix) = &mut ix {
                    ix.swap_removed(&avail, i, pi);
                }
                frontier.push((ev.ts, pi as u32));
            }
            if frontier.0.is_empty() {
                if procs.iter().any(|p| !p.done) {
                    return Err(verr("no consistent ordering of events possible"));
                }
                break;
            }
            let (_, pi) = frontier.pop();
            let pi = pi as usize;
            if (order.len() + 1).is_multiple_of(super::CHECK_EVERY) && check(self.loaded) {
                return Err(TraceError::interrupted());
            }
            let mut ev = procs[pi].events[procs[pi].pos - 1];
            let (g, init, mut next) = state_transition(&ev);
            ev.typ = renamed(ev.typ);
            if order.len() >= u32::MAX as usize {
                return Err(verr("trace has too many events"));
            }
            let at = order.len() as u32;
            order.push(pi);
            scan.event(at, &mut ev);
            if g != UNORDERED {
                let cur = gs.get(&(g as i64)).copied().unwrap_or_default();
                if !transition_ready(g, cur, init) {
                    return Err(verr("encountered impossible goroutine state transition"));
                }
                match next.seq {
                    NOSEQ => next.seq = cur.seq,
                    SEQINC => next.seq = cur.seq.wrapping_add(1),
                    _ => {}
                }
                gs.insert(g as i64, next);
                if let Some(ix) = &mut ix {
                    ix.set(g, next);
                }
            }
            avail.push(pi);
            if let Some(ix) = &mut ix {
                ix.pushed(&avail);
            }
        }
        drop(procs);
        if check(self.loaded) {
            return Err(TraceError::interrupted());
        }
        if scan.out_of_order {
            return Err(verr("time stamps out of order"));
        }
        if let Some(e) = scan.sys_err {
            return Err(verr(e));
        }
        let moved_at: Vec<u32> = scan.moved.iter().map(|m| m.1).collect();
        let mut moved = scan.moved;
        moved.sort_by_key(|m| m.0.ts);
        let span = match (scan.kept, moved.first(), moved.last()) {
            (Some((a, b)), Some(f), Some(l)) => Some((a.min(f.0.ts), b.max(l.0.ts))),
            (None, Some(f), Some(l)) => Some((f.0.ts, l.0.ts)),
            (k, _, _) => k,
        };
        Ok(Merged {
            order,
            procs: replay,
            moved_at,
            moved,
            blocked: scan.blocked,
            jumped: scan.jumped,
            span,
        })
    }

    fn wire_error(&self, e: WireErr) -> TraceError {
        TraceError::format(e.msg, (self.hlen + e.off) as u64)
    }
}

/// Go's `sort.Stable` by time, for a list that was sorted before the events at `moved`
/// (ascending indices) got new times: the others are still in order, so the moved ones
/// are taken out, sorted, and merged back from the end, ties going to the smaller
/// original index. Needs memory for the moved events only.
/// Go's `Event.String` (used in a few error messages).
fn ev_string(ev: &Ev) -> String {
    let desc = &DESCS[ev.typ as usize];
    let mut s = format!(
        "{} {} p={} g={} stk={}",
        ev.ts, desc.name, ev.p, ev.g, ev.stk
    );
    for (i, a) in desc.args.iter().enumerate() {
        let v = if i < 3 { ev.args[i] } else { 0 };
        s.push_str(&format!(" {a}={v}"));
    }
    s
}

/// Go's `%q` of a string (enough for the ASCII messages built by `ev_string`).
fn quote(s: &str) -> String {
    format!("{s:?}")
}

#[derive(Clone, Copy, Default)]
struct GDesc {
    state: u8,
    /// Type of Go's `g.ev` (0 = nil).
    ev: u8,
    mark_assist: bool,
}

#[derive(Clone, Copy, Default)]
struct PDesc {
    running: bool,
    g: u64,
    sweep: bool,
}

/// Goroutine descriptors by ID (Go's `map[uint64]gdesc`; a missing entry reads as zero).
#[derive(Default)]
struct GTable(GMap<GDesc>);

impl GTable {
    #[inline]
    fn get(&self, id: u64) -> GDesc {
        self.0.get(&(id as i64)).copied().unwrap_or_default()
    }
    #[inline]
    fn contains(&self, id: u64) -> bool {
        self.0.contains_key(&(id as i64))
    }
    #[inline]
    fn insert(&mut self, id: u64, g: GDesc) {
        self.0.insert(id as i64, g)
    }
}

/// P descriptors by ID (Go's `map[int32]pdesc`).
#[derive(Default)]
struct PTable(DenseMap<PDesc>);

impl PTable {
    #[inline]
    fn get(&self, id: i32) -> PDesc {
        self.0.get(&(id as i64)).copied().unwrap_or_default()
    }
    #[inline]
    fn insert(&mut self, id: i32, p: PDesc) {
        self.0.insert(id as i64, p)
    }
}

/// Go's `postProcessTrace` (consistency checks, plus the netpoll fake P and stack
/// cleanup), one event of the re-sorted list at a time.
pub(crate) struct PostCheck<'t> {
    stacks: &'t FxHashMap<u32, (u32, u32)>,
    gs: GTable,
    ps: PTable,
    tasks: FxHashMap<u64, Ev>,
    regions: FxHashMap<u64, Vec<Ev>>,
    in_gc: bool,
    in_stw: bool,
}

fn check_running(p: PDesc, g: GDesc, ev: &Ev, allow_g0: bool) -> Result<(), TraceError> {
    let name = DESCS[ev.typ as usize].name;
    if g.state != G_RUNNING {
        return Err(verr(format!(
            "g {} is not running while {name} (time {})",
            ev.g, ev.ts
        )));
    }
    if p.g != ev.g {
        return Err(verr(format!(
            "p {} is not running g {} while {name} (time {})",
            ev.p, ev.g, ev.ts
        )));
    }
    if !allow_g0 && ev.g == 0 {
        return Err(verr(format!("g 0 did {name} (time {})", ev.ts)));
    }
    Ok(())
}

impl<'t> PostCheck<'t> {
    pub(crate) fn new(stacks: &'t FxHashMap<u32, (u32, u32)>) -> Self {
        let mut gs = GTable::default();
        gs.insert(
            0,
            GDesc {
                state: G_RUNNING,
                ..GDesc::default()
            },
        );
        PostCheck {
            stacks,
            gs,
            ps: PTable::default(),
            tasks: FxHashMap::default(),
            regions: FxHashMap::default(),
            in_gc: false,
            in_stw: false,
        }
    }

    pub(crate) fn step(&mut self, ev: &mut Ev) -> Result<(), TraceError> {
        let PostCheck {
            stacks,
            gs,
            ps,
            tasks,
            regions,
            in_gc,
            in_stw,
        } = self;
        match ev.typ {
            EV_PROC_START => {
                let mut p = ps.get(ev.p);
                if p.running {
                    return Err(verr(format!(
                        "p {} is running before start (time {})",
                        ev.p, ev.ts
                    )));
                }
                p.running = true;
                ps.insert(ev.p, p);
            }
            EV_PROC_STOP => {
                let mut p = ps.get(ev.p);
                if !p.running {
                    return Err(verr(format!(
                        "p {} is not running before stop (time {})",
                        ev.p, ev.ts
                    )));
                }
                if p.g != 0 {
                    return Err(verr(format!(
                        "p {} is running a goroutine {} during stop (time {})",
                        ev.p, p.g, ev.ts
                    )));
                }
                p.running = false;
                ps.insert(ev.p, p);
            }
            EV_GC_START => {
                if *in_gc {
                    return Err(verr(format!(
                        "previous GC is not ended before a new one (time {})",
                        ev.ts
                    )));
                }
                *in_gc = true;
                ev.p = GC_P;
            }
            EV_GC_DONE => {
                if !*in_gc {
                    return Err(verr(format!("bogus GC end (time {})", ev.ts)));
                }
                *in_gc = false;
            }
            EV_STW_START => {
                if *in_stw {
                    return Err(verr(format!(
                        "previous STW is not ended before a new one (time {})",
                        ev.ts
                    )));
                }
                *in_stw = true;
            }
            EV_STW_DONE => {
                if !*in_stw {
                    return Err(verr(format!("bogus STW end (time {})", ev.ts)));
                }
                *in_stw = false;
            }
            EV_GC_SWEEP_START => {
                let mut p = ps.get(ev.p);
                if p.sweep {
                    return Err(verr(format!(
                        "previous sweeping is not ended before a new one (time {})",
                        ev.ts
                    )));
                }
                p.sweep = true;
                ps.insert(ev.p, p);
            }
            EV_GC_MARK_ASSIST_START => {
                let mut g = gs.get(ev.g);
                if g.mark_assist {
                    return Err(verr(format!(
                        "previous mark assist is not ended before a new one (time {})",
                        ev.ts
                    )));
                }
                g.mark_assist = true;
                gs.insert(ev.g, g);
            }
            EV_GC_MARK_ASSIST_DONE => {
                let mut g = gs.get(ev.g);
                g.mark_assist = false;
                gs.insert(ev.g, g);
            }
            EV_GC_SWEEP_DONE => {
                let mut p = ps.get(ev.p);
                if !p.sweep {
                    return Err(verr(format!("bogus sweeping end (time {})", ev.ts)));
                }
                p.sweep = false;
                ps.insert(ev.p, p);
            }
            EV_GO_WAITING | EV_GO_IN_SYSCALL => {
                let mut g = gs.get(ev.g);
                if g.state != G_RUNNABLE {
                    let what = if ev.typ == EV_GO_WAITING {
                        "EvGoWaiting"
                    } else {
                        "EvGoInSyscall"
                    };
                    return Err(verr(format!(
                        "g {} is not runnable before {what} (time {})",
                        ev.g, ev.ts
                    )));
                }
                g.state = G_WAITING;
                g.ev = ev.typ;
                gs.insert(ev.g, g);
            }
            EV_GO_CREATE => {
                let g = gs.get(ev.g);
                let p = ps.get(ev.p);
                check_running(p, g, ev, true)?;
                if gs.contains(ev.args[0]) {
                    return Err(verr(format!(
                        "g {} already exists (time {})",
                        ev.args[0], ev.ts
                    )));
                }
                gs.insert(
                    ev.args[0],
                    GDesc {
                        state: G_RUNNABLE,
                        ev: EV_GO_CREATE,
                        mark_assist: false,
                    },
                );
            }
            EV_GO_START | EV_GO_START_LABEL => {
                let mut g = gs.get(ev.g);
                let mut p = ps.get(ev.p);
                if g.state != G_RUNNABLE {
                    return Err(verr(format!(
                        "g {} is not runnable before start (time {})",
                        ev.g, ev.ts
                    )));
                }
                if p.g != 0 {
                    return Err(verr(format!(
                        "p {} is already running g {} while start g {} (time {})",
                        ev.p, p.g, ev.g, ev.ts
                    )));
                }
                g.state = G_RUNNING;
                p.g = ev.g;
                g.ev = 0;
                gs.insert(ev.g, g);
                ps.insert(ev.p, p);
            }
            EV_GO_END | EV_GO_STOP => {
                let mut g = gs.get(ev.g);
                let mut p = ps.get(ev.p);
                check_running(p, g, ev, false)?;
                g.state = G_DEAD;
                p.g = 0;
                if ev.typ == EV_GO_END {
                    regions.remove(&ev.g);
                }
                gs.insert(ev.g, g);
                ps.insert(ev.p, p);
            }
            EV_GO_SCHED | EV_GO_PREEMPT => {
                let mut g = gs.get(ev.g);
                let mut p = ps.get(ev.p);
                check_running(p, g, ev, false)?;
                g.state = G_RUNNABLE;
                p.g = 0;
                g.ev = ev.typ;
                gs.insert(ev.g, g);
                ps.insert(ev.p, p);
            }
            EV_GO_UNBLOCK => {
                let g = gs.get(ev.g);
                let p = ps.get(ev.p);
                if g.state != G_RUNNING {
                    return Err(verr(format!(
                        "g {} is not running while unpark (time {})",
                        ev.g, ev.ts
                    )));
                }
                if ev.p != TIMER_P && p.g != ev.g {
                    return Err(verr(format!(
                        "p {} is not running g {} while unpark (time {})",
                        ev.p, ev.g, ev.ts
                    )));
                }
                let mut g1 = gs.get(ev.args[0]);
                if g1.state != G_WAITING {
                    return Err(verr(format!(
                        "g {} is not waiting before unpark (time {})",
                        ev.args[0], ev.ts
                    )));
                }
                if g1.ev == EV_GO_BLOCK_NET {
                    ev.p = NETPOLL_P;
                }
                g1.state = G_RUNNABLE;
                g1.ev = EV_GO_UNBLOCK;
                gs.insert(ev.args[0], g1);
            }
            EV_GO_SYS_CALL => {
                let mut g = gs.get(ev.g);
                let p = ps.get(ev.p);
                check_running(p, g, ev, false)?;
                g.ev = ev.typ;
                gs.insert(ev.g, g);
            }
            EV_GO_SYS_BLOCK => {
                let mut g = gs.get(ev.g);
                let mut p = ps.get(ev.p);
                check_running(p, g, ev, false)?;
                g.state = G_WAITING;
                p.g = 0;
                gs.insert(ev.g, g);
                ps.insert(ev.p, p);
            }
            EV_GO_SYS_EXIT => {
                let mut g = gs.get(ev.g);
                if g.state != G_WAITING {
                    return Err(verr(format!(
                        "g {} is not waiting during syscall exit (time {})",
                        ev.g, ev.ts
                    )));
                }
                g.state = G_RUNNABLE;
                g.ev = ev.typ;
                gs.insert(ev.g, g);
            }
            EV_GO_SLEEP | EV_GO_BLOCK | EV_GO_BLOCK_SEND | EV_GO_BLOCK_RECV
            | EV_GO_BLOCK_SELECT | EV_GO_BLOCK_SYNC | EV_GO_BLOCK_COND | EV_GO_BLOCK_NET
            | EV_GO_BLOCK_GC => {
                let mut g = gs.get(ev.g);
                let mut p = ps.get(ev.p);
                check_running(p, g, ev, false)?;
                g.state = G_WAITING;
                g.ev = ev.typ;
                p.g = 0;
                gs.insert(ev.g, g);
                ps.insert(ev.p, p);
            }
            EV_USER_TASK_CREATE => {
                let id = ev.args[0];
                if let Some(prev) = tasks.get(&id) {
                    return Err(verr(format!(
                        "task id conflicts (id:{id}), {} vs {}",
                        quote(&ev_string(ev)),
                        quote(&ev_string(prev))
                    )));
                }
                tasks.insert(id, *ev);
            }
            EV_USER_TASK_END => {
                tasks.remove(&ev.args[0]);
            }
            EV_USER_REGION => {
                let mode = ev.args[1];
                if mode == 0 {
                    regions.entry(ev.g).or_default().push(*ev);
                } else if mode == 1 {
                    if let Some(rs) = regions.get_mut(&ev.g) {
                        if let Some(s) = rs.last() {
                            if s.args[0] != ev.args[0] || s.args[2] != ev.args[2] {
                                return Err(verr(format!(
                                    "misuse of region in goroutine {}: span end {} when the inner-most active span start event is {}",
                                    ev.g,
                                    quote(&ev_string(ev)),
                                    quote(&ev_string(s))
                                )));
                            }
                            rs.pop();
                            if rs.is_empty() {
                                regions.remove(&ev.g);
                            }
                        }
                    }
                } else {
                    return Err(verr(format!(
                        "invalid user region mode: {}",
                        quote(&ev_string(ev))
                    )));
                }
            }
            _ => {}
        }
        if ev.stk != 0 && stacks.get(&ev.stk).is_none_or(|s| s.1 == 0) {
            ev.stk = 0;
        }
        Ok(())
    }
}

/// Go's `int64(f)` on amd64: out-of-range values and NaN become `i64::MIN`.
pub fn go_f64_to_i64(f: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO_63..TWO_63).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Parses the body of a v1 trace (everything after the `hlen`-byte header) whole.
pub fn parse(body: &[u8], hlen: usize, ver: u32) -> Result<V1Trace<'_>, TraceError> {
    parse_checked(body, hlen, ver, &mut |_| false, &mut |_| {})
}

/// [`parse`], asking `check(fraction of the work done)` every [`super::CHECK_EVERY`]
/// events whether to stop (then the result is an `Interrupted` error), and telling
/// `counted` how many events the merge will list once the first pass knows. What Go
/// checks after the re-sort ([`PostCheck`]) runs as the events are replayed.
pub fn parse_checked<'a>(
    body: &'a [u8],
    hlen: usize,
    ver: u32,
    check: &mut dyn FnMut(f64) -> bool,
    counted: &mut dyn FnMut(usize),
) -> Result<V1Trace<'a>, TraceError> {
    let mut p = Parser {
        ver,
        hlen,
        data: body,
        off: 0,
        args: Vec::new(),
        strings: FxHashMap::default(),
        inline_strings: Vec::new(),
        inline_map: FxHashMap::default(),
        batches: FxHashMap::default(),
        pid_order: Vec::new(),
        stacks: FxHashMap::default(),
        stack_pcs: Vec::new(),
        pcs: FxHashMap::default(),
        ticks_per_sec: 0,
        cpu_samples: Vec::new(),
        timer_goids: FxHashSet::default(),
        last_ts: 0,
        last_g: 0,
        last_gs: FxHashMap::default(),
        last_p: 0,
        loaded: 0,
        n_events: 0,
        replay: false,
    };
    // Shares of the time: indexing the batches 0.15, the merge 0.85.
    let size = body.len().max(1) as f64;
    if !p
        .collect(&mut |off| check(0.15 * off as f64 / size))
        .map_err(|e| p.wire_error(*e))?
    {
        return Err(TraceError::interrupted());
    }
    counted(p.n_events);
    let merged = p.merge(&mut |n| check(0.15 + 0.85 * (n as f64 / size).min(1.0)))?;
    if p.ticks_per_sec == 0 {
        return Err(verr("no EvFrequency event"));
    }
    let tables = V1Tables {
        strings: std::mem::take(&mut p.strings),
        inline_strings: std::mem::take(&mut p.inline_strings),
        stacks: std::mem::take(&mut p.stacks),
        stack_pcs: std::mem::take(&mut p.stack_pcs),
        pcs: std::mem::take(&mut p.pcs),
    };
    p.replay = true;
    p.batches = FxHashMap::default();
    p.last_gs = FxHashMap::default();
    let freq = 1e9 / p.ticks_per_sec as f64;
    Ok(V1Trace {
        tables,
        merged,
        dec: p,
        freq,
    })
}

impl V1Trace<'_> {
    /// Events the merge listed, and the syscall exits among them that the re-sort moves.
    pub fn counts(&self) -> (usize, usize) {
        (self.merged.len(), self.merged.moved.len())
    }

    /// Whether a moved exit lands before an earlier event of its goroutine (then the
    /// conversion's look-ahead is worked out over the re-sorted list first).
    pub fn jumped(&self) -> bool {
        self.merged.jumped
    }

    /// The times the converted trace most likely starts and ends at, without converting
    /// it: the Sync before the first event (which is at time 0), and the Sync after the
    /// last event, taken to be one after that event. The conversion makes times strictly
    /// increasing, so equal times at the end push the real end further: callers that need
    /// the exact end compare with the conversion's. None if there are no events.
    pub fn predicted_extent(&self) -> Option<(i64, i64)> {
        let (first, last) = self.merged.span?;
        let end = go_f64_to_i64(last.wrapping_sub(first) as f64 * self.freq);
        let skew = EXTENT_SKEW.load(std::sync::atomic::Ordering::Relaxed);
        Some((-1, end.wrapping_add(1).wrapping_add(skew)))
    }
}

/// Added to the predicted end (for tests of the callers' correction: 0 otherwise).
pub static EXTENT_SKEW: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// The re-sorted list of a parsed v1 trace, event by event with its merged position:
/// rebased to nanoseconds from the first event, with Go's fake Ps for timer unblocks and
/// syscall exits, and checked by [`PostCheck`] (whose errors fail the whole parse).
pub(crate) struct Final<'v, 'a> {
    replay: Replay<'v>,
    dec: &'v mut Parser<'a>,
    post: PostCheck<'v>,
    freq: f64,
    min_ts: Option<i64>,
}

impl<'v, 'a> Final<'v, 'a> {
    pub(crate) fn new(
        merged: &'v Merged,
        dec: &'v mut Parser<'a>,
        stacks: &'v FxHashMap<u32, (u32, u32)>,
        freq: f64,
    ) -> Self {
        Final {
            replay: Replay::new(merged),
            dec,
            post: PostCheck::new(stacks),
            freq,
            min_ts: None,
        }
    }

    /// The next event into `ev`, and its merged position; `None` at the end.
    #[inline]
    pub(crate) fn next(&mut self, ev: &mut Ev) -> Result<Option<u32>, Box<TraceError>> {
        let Some(at) = self.replay.next(self.dec, ev)? else {
            return Ok(None);
        };
        let min_ts = *self.min_ts.get_or_insert(ev.ts);
        ev.ts = go_f64_to_i64(ev.ts.wrapping_sub(min_ts) as f64 * self.freq);
        if ev.typ == EV_GO_UNBLOCK && self.dec.timer_goids.contains(&ev.g) {
            ev.p = TIMER_P;
        }
        if ev.typ == EV_GO_SYS_EXIT {
            ev.p = SYSCALL_P;
        }
        self.post.step(ev).map_err(Box::new)?;
        Ok(Some(at))
    }
}
