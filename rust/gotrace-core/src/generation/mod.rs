//! Generations: the unit in which a v2 trace is buffered and decoded.
//!
//! A generation is every batch carrying the same generation number. Before Go 1.26 its end
//! is only known when the first batch of generation `gen+1` is read (that batch is
//! "spilled" into the next generation); from 1.26 an `EvEndOfGeneration` byte ends it.
//! Strings, stacks, CPU samples, the frequency and the clock snapshot are all
//! per-generation: an ID in an event means nothing outside its generation. We intern
//! strings and stacks into trace-wide tables as they are read and keep, per generation,
//! only the local-ID → global-ID maps.

use rustc_hash::FxHashMap as HashMap;

use crate::error::TraceError;
use crate::store::{Frame, StackTable, StringTable};
use crate::wire::{self, spec, Batch, BatchRead, Cursor, Source};

/// Local (per-generation) ID → global ID. IDs written by the runtime are dense from 1,
/// so a vector serves them; IDs far beyond what the input could hold go to a map, so a
/// hostile ID never makes us allocate more than the input backs.
#[derive(Default, Debug, Clone)]
pub struct IdMap {
    dense: Vec<u32>,
    sparse: HashMap<u64, u32>,
    count: usize,
}

const ABSENT: u32 = u32::MAX;

impl IdMap {
    #[inline]
    pub fn get(&self, id: u64) -> Option<u32> {
        if id == 0 {
            return Some(0);
        }
        if let Some(&v) = self.dense.get(id as usize) {
            if v != ABSENT {
                return Some(v);
            }
        }
        // The dense vector may have grown past an ID stored in the map earlier.
        if self.sparse.is_empty() {
            return None;
        }
        self.sparse.get(&id).copied()
    }

    /// Asks the CPU to bring the entry of `id` into cache (a lookup follows soon).
    #[inline]
    pub fn prefetch(&self, id: u64) {
        #[cfg(target_arch = "x86_64")]
        if (id as usize) < self.dense.len() {
            // SAFETY: in bounds; a prefetch reads nothing and cannot fault.
            unsafe {
                use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(self.dense.as_ptr().add(id as usize) as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }

    /// Replaces every stored value `v` by `table[v]`.
    fn remap(&mut self, table: &[u32]) {
        for v in self.dense.iter_mut().filter(|v| **v != ABSENT) {
            *v = table[*v as usize];
        }
        for v in self.sparse.values_mut() {
            *v = table[*v as usize];
        }
    }

    /// Inserts a mapping; `false` if the ID is already present (ID 0 always is).
    /// The dense vector only grows to a few times the number of entries, so a hostile
    /// ID costs one map entry, never a large allocation.
    pub fn insert(&mut self, id: u64, global: u32) -> bool {
        if self.get(id).is_some() {
            return false;
        }
        self.count += 1;
        if id < (4 * self.count + 1024) as u64 {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, ABSENT);
            }
            self.dense[i] = global;
        } else {
            self.sparse.insert(id, global);
        }
        true
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    pub time: i64,
    pub m: i64,
    pub p: i64,
    pub g: i64,
    pub stack: u64,
}

/// Nanoseconds per timestamp unit, and Go's float-based conversion.
///
/// When the factor is a whole number `k` (64 on Linux, where the trace clock is
/// nanotime/64), `t * k` computed in integers equals Go's `int64(float64(t) * k)` as long
/// as the product stays below 2^53, where every integer is an exact float; `int_limit`
/// is the largest `t` for which that holds, 0 when the factor is not whole.
#[derive(Clone, Copy, Debug, Default)]
pub struct Freq {
    pub f: f64,
    k: u64,
    int_limit: u64,
}

impl Freq {
    pub fn new(f: f64) -> Self {
        let whole = (1.0..1e15).contains(&f) && f.fract() == 0.0;
        let k = if whole { f as u64 } else { 0 };
        Freq {
            f,
            k,
            int_limit: if whole { (1u64 << 53) / k } else { 0 },
        }
    }

    pub fn is_zero(self) -> bool {
        self.f == 0.0
    }

    /// Go's `frequency.mul`: `Time(float64(t) * float64(f))`, truncating toward zero, with
    /// amd64's result (`i64::MIN`) for values outside the int64 range.
    #[inline]
    pub fn ns(self, t: u64) -> i64 {
        if t < self.int_limit {
            return (t * self.k) as i64;
        }
        go_f64_to_i64(t as f64 * self.f)
    }
}

#[inline]
pub fn go_f64_to_i64(x: f64) -> i64 {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// One decoded generation. It owns the bytes of its event batches (`buf`); table
/// batches (strings, stacks, samples, sync) are decoded as they are read and dropped.
#[derive(Default)]
pub struct Generation {
    pub gen: u64,
    /// Event batches per M, Ms in order of first appearance (Go's `batchMs`).
    pub batches: Vec<(i64, Vec<Batch>)>,
    /// The data of the event batches.
    pub buf: Vec<u8>,
    pub cpu_samples: Vec<CpuSample>,
    pub min_ts: u64,
    pub freq: Freq,
    pub has_clock_snapshot: bool,
    pub snap_time: u64,
    pub snap_mono: u64,
    pub snap_wall_unix_ns: i64,
    pub strings: IdMap,
    pub stacks: IdMap,
    /// Number of experimental batches (kept by Go for `Sync().ExperimentalBatches`).
    pub exp_batches: usize,
    m_index: HashMap<i64, usize>,
    // Raw stacks until the generation is complete: (local id, range in `stack_pcs`).
    raw_stacks: Vec<(u64, usize, usize)>,
    stack_pcs: Vec<u64>,
    raw_stack_ids: IdMap,
    // PC → (func string ID, file string ID, line), first definition wins.
    pcs: HashMap<u64, (u64, u64, u64)>,
}

/// Trace-wide tables the generations intern into.
pub struct Tables<'t> {
    pub strings: &'t mut StringTable,
    pub stacks: &'t mut StackTable,
}

/// The interning a generation read asks for, recorded instead of done, so that a
/// generation can be read (on another thread, ahead of time) without touching the
/// trace-wide tables. [`Pending::merge`] replays the calls in their original order when
/// the reader consumes the generation, so global IDs are exactly those of interning on
/// the spot. While recorded, the generation's ID maps hold local indices (1 + position
/// of the call in this record; 0 stays "none", as the global 0 is the empty string and
/// the empty stack); [`Generation::remap`] turns them into global IDs.
#[derive(Default, Debug)]
pub struct Pending {
    str_bytes: Vec<u8>,
    str_ends: Vec<usize>,
    /// (pc, local string index of func, of file, line).
    frames: Vec<(u64, u32, u32, u64)>,
    stack_frames: Vec<u32>,
    stack_ends: Vec<usize>,
}

/// Local index → global ID, for strings and stacks, after a merge.
#[derive(Default, Debug)]
pub struct Resolved {
    strings: Vec<u32>,
    stacks: Vec<u32>,
}

impl Resolved {
    /// The global ID of local string index `l`.
    #[inline]
    pub fn string(&self, l: u32) -> u32 {
        self.strings.get(l as usize).copied().unwrap_or(0)
    }

    /// The global ID of local stack index `l`.
    #[inline]
    pub fn stack(&self, l: u32) -> u32 {
        self.stacks.get(l as usize).copied().unwrap_or(0)
    }
}

impl Pending {
    fn intern_string(&mut self, s: &[u8]) -> u32 {
        self.str_bytes.extend_from_slice(s);
        self.str_ends.push(self.str_bytes.len());
        self.str_ends.len() as u32
    }

    fn intern_frame(&mut self, pc: u64, func: u32, file: u32, line: u64) -> u32 {
        self.frames.push((pc, func, file, line));
        (self.frames.len() - 1) as u32
    }

    fn intern_stack(&mut self, frames: &[u32]) -> u32 {
        self.stack_frames.extend_from_slice(frames);
        self.stack_ends.push(self.stack_frames.len());
        self.stack_ends.len() as u32
    }

    /// Interns everything recorded into the trace-wide tables, in recording order.
    pub fn merge(self, t: &mut Tables) -> Resolved {
        let mut start = 0;
        let strings: Vec<u32> = std::iter::once(0)
            .chain(self.str_ends.iter().map(|&end| {
                let id = t.strings.intern(&self.str_bytes[start..end]);
                start = end;
                id
            }))
            .collect();
        let frames: Vec<u32> = self
            .frames
            .iter()
            .map(|&(pc, func, file, line)| {
                t.stacks.intern_frame(Frame {
                    pc,
                    func: strings[func as usize],
                    file: strings[file as usize],
                    line,
                })
            })
            .collect();
        let mut start = 0;
        let mut buf: Vec<u32> = Vec::with_capacity(wire::MAX_FRAMES_PER_STACK as usize);
        let stacks = std::iter::once(0)
            .chain(self.stack_ends.iter().map(|&end| {
                buf.clear();
                buf.extend(
                    self.stack_frames[start..end]
                        .iter()
                        .map(|&f| frames[f as usize]),
                );
                start = end;
                t.stacks.intern_stack(&buf)
            }))
            .collect();
        Resolved { strings, stacks }
    }
}

fn fmt_err(msg: impl Into<String>, offset: usize) -> TraceError {
    TraceError::format(msg, offset as u64)
}

impl Generation {
    /// A generation whose event bytes go to `buf` (a recycled buffer; cleared here).
    fn new(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Generation {
            buf,
            ..Generation::default()
        }
    }

    /// Turns the ID maps' local indices into global IDs once the generation's
    /// [`Pending`] tables are merged.
    pub fn remap(&mut self, r: &Resolved) {
        self.strings.remap(&r.strings);
        self.stacks.remap(&r.stacks);
    }

    /// Go's `processBatch`, for a batch whose data was just appended to `self.buf`.
    fn process_batch(&mut self, b: Batch, ver: u32, t: &mut Pending) -> Result<(), TraceError> {
        let table = b.is_strings() || b.is_stacks() || b.is_cpu_samples() || b.is_sync(ver);
        if table || b.exp != 0 {
            // Decode now, then give the bytes back: only event batches stay buffered.
            let buf = std::mem::take(&mut self.buf);
            let data = b.data(&buf);
            let r = if b.is_strings() {
                self.add_strings(data, b.offset, t)
            } else if b.is_stacks() {
                self.add_stacks(data, b.offset)
            } else if b.is_cpu_samples() {
                self.add_cpu_samples(data, b.offset)
            } else if b.is_sync(ver) {
                self.set_sync(data, b.offset, b.time, ver)
            } else {
                self.exp_batches += 1;
                Ok(())
            };
            self.buf = buf;
            self.buf.truncate(b.start);
            return r;
        }
        if b.is_end_of_generation() {
            return Err(fmt_err(
                "internal error: unexpectedly processing EndOfGeneration; broken trace?",
                b.offset,
            ));
        }
        {
            match self.m_index.get(&b.m) {
                Some(&i) => self.batches[i].1.push(b),
                None => {
                    self.m_index.insert(b.m, self.batches.len());
                    self.batches.push((b.m, vec![b]));
                }
            }
            Ok(())
        }
    }

    fn add_strings(&mut self, data: &[u8], base: usize, t: &mut Pending) -> Result<(), TraceError> {
        let mut c = Cursor::new(data, 1);
        while c.remaining() != 0 {
            let at = base + c.pos;
            let ev = c.read_byte().unwrap_or(0);
            if ev != spec::EV_STRING {
                return Err(fmt_err(format!("expected string event, got {ev}"), at));
            }
            let id = c
                .read_uvarint()
                .map_err(|e| fmt_err(e.go_message(), base + c.pos))?;
            let len = c
                .read_uvarint()
                .map_err(|e| fmt_err(e.go_message(), base + c.pos))?;
            if len > wire::MAX_STRING_SIZE {
                return Err(fmt_err(
                    format!(
                        "invalid string size {len}, maximum is {}",
                        wire::MAX_STRING_SIZE
                    ),
                    base + c.pos,
                ));
            }
            let s = c.take(len);
            if s.len() as u64 != len {
                return Err(fmt_err(
                    format!(
                        "failed to read full string: read {} but wanted {len}",
                        s.len()
                    ),
                    base + c.pos,
                ));
            }
            if self.strings.get(id).is_some() {
                return Err(fmt_err(
                    format!(
                        "multiple strings with the same ID: id={id}, new={}",
                        String::from_utf8_lossy(s)
                    ),
                    at,
                ));
            }
            let global = t.intern_string(s);
            self.strings.insert(id, global);
        }
        Ok(())
    }

    fn add_stacks(&mut self, data: &[u8], base: usize) -> Result<(), TraceError> {
        let mut c = Cursor::new(data, 1);
        while c.remaining() != 0 {
            let at = base + c.pos;
            let ev = c.read_byte().unwrap_or(0);
            if ev != spec::EV_STACK {
                return Err(fmt_err(format!("expected stack event, got {ev}"), at));
            }
            let id = c
                .read_uvarint()
                .map_err(|e| fmt_err(e.go_message(), base + c.pos))?;
            let nframes = c
                .read_uvarint()
                .map_err(|e| fmt_err(e.go_message(), base + c.pos))?;
            if nframes > wire::MAX_FRAMES_PER_STACK {
                return Err(fmt_err(
                    format!(
                        "invalid stack size {nframes}, maximum is {}",
                        wire::MAX_FRAMES_PER_STACK
                    ),
                    base + c.pos,
                ));
            }
            let start = self.stack_pcs.len();
            for i in 0..nframes {
                let mut vals = [0u64; 4];
                for (k, what) in ["PC", "funcID", "fileID", "line"].iter().enumerate() {
                    vals[k] = c.read_uvarint().map_err(|e| {
                        fmt_err(
                            format!(
                                "reading frame {}'s {what} for stack {id}: {}",
                                i + 1,
                                e.go_message()
                            ),
                            base + c.pos,
                        )
                    })?;
                }
                let pc = vals[0];
                self.stack_pcs.push(pc);
                self.pcs.entry(pc).or_insert((vals[1], vals[2], vals[3]));
            }
            if !self.raw_stack_ids.insert(id, self.raw_stacks.len() as u32) {
                return Err(fmt_err(
                    format!("multiple trace.stacks with the same ID: id={id}"),
                    at,
                ));
            }
            self.raw_stacks.push((id, start, self.stack_pcs.len()));
        }
        Ok(())
    }

    fn add_cpu_samples(&mut self, data: &[u8], base: usize) -> Result<(), TraceError> {
        let mut c = Cursor::new(data, 1);
        while c.remaining() != 0 {
            let at = base + c.pos;
            let ev = c.read_byte().unwrap_or(0);
            if ev != spec::EV_CPU_SAMPLE {
                return Err(fmt_err(format!("expected CPU sample event, got {ev}"), at));
            }
            let mut v = [0u64; 5];
            for x in v.iter_mut() {
                *x = c
                    .read_uvarint()
                    .map_err(|e| fmt_err(e.go_message(), base + c.pos))?;
            }
            self.cpu_samples.push(CpuSample {
                // Raw timestamp for now; converted once the frequency is known.
                time: v[0] as i64,
                m: v[1] as i64,
                p: v[2] as i64,
                g: if v[3] == 0 { -1 } else { v[3] as i64 },
                stack: v[4],
            });
        }
        Ok(())
    }

    fn set_sync(
        &mut self,
        data: &[u8],
        base: usize,
        batch_time: u64,
        ver: u32,
    ) -> Result<(), TraceError> {
        let mut c = Cursor::new(data, if ver >= 25 { 1 } else { 0 });
        let mut last_ts = batch_time;
        while c.remaining() != 0 {
            let at = base + c.pos;
            let ev = c.read_byte().unwrap_or(0);
            let rd = |c: &mut Cursor| {
                c.read_uvarint()
                    .map_err(|e| fmt_err(e.go_message(), base + c.pos))
            };
            if ev == spec::EV_FREQUENCY {
                if !self.freq.is_zero() {
                    return Err(fmt_err("found multiple frequency events", at));
                }
                let f = rd(&mut c)?;
                self.freq = Freq::new(1.0 / (f as f64 / 1e9));
            } else if ev == spec::EV_CLOCK_SNAPSHOT && ver >= 25 {
                if self.has_clock_snapshot {
                    return Err(fmt_err("found multiple clock snapshot events", at));
                }
                self.has_clock_snapshot = true;
                let tdiff = rd(&mut c)?;
                last_ts = last_ts.wrapping_add(tdiff);
                self.snap_time = last_ts;
                self.snap_mono = rd(&mut c)?;
                let sec = rd(&mut c)?;
                let nsec = rd(&mut c)?;
                // time.Unix(sec, nsec).UnixNano()
                self.snap_wall_unix_ns = (sec as i64)
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(nsec as i64);
            } else {
                return Err(fmt_err(
                    format!("expected frequency or clock snapshot event, got {ev}"),
                    at,
                ));
            }
        }
        Ok(())
    }

    /// The checks and fix-ups Go does once all batches of a generation are in.
    fn finish(&mut self, ver: u32, t: &mut Pending, end_offset: usize) -> Result<(), TraceError> {
        if self.freq.is_zero() {
            return Err(fmt_err("no frequency event found", end_offset).with_generation(self.gen));
        }
        if ver >= 25 && !self.has_clock_snapshot {
            return Err(
                fmt_err("no clock snapshot event found", end_offset).with_generation(self.gen)
            );
        }
        // Validate and intern stacks. Frames resolve PCs through the generation's PC table
        // and their strings through its string table.
        // Each distinct PC is resolved and interned once; stacks are then lists of
        // global frame indices. A bad string reference is reported per stack, in ID
        // order, as Go's `validateStackStrings` words it.
        let mut pc_frame: HashMap<u64, u32> = HashMap::default();
        pc_frame.reserve(self.pcs.len());
        let mut bad = false;
        for (&pc, &(func, file, line)) in &self.pcs {
            match (self.strings.get(func), self.strings.get(file)) {
                (Some(gfunc), Some(gfile)) => {
                    let f = t.intern_frame(pc, gfunc, gfile, line);
                    pc_frame.insert(pc, f);
                }
                _ => bad = true,
            }
        }
        let mut order: Vec<usize> = (0..self.raw_stacks.len()).collect();
        if bad {
            order.sort_by_key(|&i| self.raw_stacks[i].0);
        }
        let mut frames: Vec<u32> = Vec::with_capacity(wire::MAX_FRAMES_PER_STACK as usize);
        for i in order {
            let (id, s, e) = self.raw_stacks[i];
            frames.clear();
            for &pc in &self.stack_pcs[s..e] {
                match pc_frame.get(&pc) {
                    Some(&f) => frames.push(f),
                    None => {
                        let (func, file, _) = self.pcs[&pc];
                        let msg = if self.strings.get(func).is_none() {
                            format!("found invalid func string ID {func} for stack {id}")
                        } else {
                            format!("found invalid file string ID {file} for stack {id}")
                        };
                        return Err(TraceError::validation(msg).with_generation(self.gen));
                    }
                }
            }
            let global = t.intern_stack(&frames);
            self.stacks.insert(id, global);
        }
        // Stacks with zero frames exist in the table but intern to 0; remember that they
        // exist by mapping them to 0 (IdMap::get(0) is always present anyway).
        self.raw_stacks = Vec::new();
        self.stack_pcs = Vec::new();
        self.pcs = HashMap::default();
        self.raw_stack_ids = IdMap::default();

        for s in &mut self.cpu_samples {
            s.time = self.freq.ns(s.time as u64);
        }
        // Go's slices.SortFunc (not stable: equal times end up in its order, not file order).
        crate::gosort::sort_func(&mut self.cpu_samples, |a, b| a.time < b.time);
        Ok(())
    }
}

/// The first batch of the next generation, read while looking for the end of the
/// current one (traces before 1.26): its generation, header and data.
pub type Spill = (u64, Batch, Vec<u8>);

/// Result of reading a pre-1.26 generation, as Go's `readGenerationWithSpill`.
pub struct SpillRead {
    pub gen: Option<Generation>,
    pub spill: Option<Spill>,
    pub err: Option<TraceError>,
}

/// Go's `readGenerationWithSpill` (trace versions < 1.26). `buf` is reused for the
/// generation's event bytes.
pub fn read_generation_with_spill<S: Source>(
    c: &mut S,
    spill: Option<Spill>,
    ver: u32,
    t: &mut Pending,
    buf: Vec<u8>,
) -> SpillRead {
    let fail = |e: TraceError| SpillRead {
        gen: None,
        spill: None,
        err: Some(e),
    };
    let mut g = Generation::new(buf);
    if let Some((gen, mut b, bytes)) = spill {
        g.gen = gen;
        g.min_ts = b.time;
        b.start = g.buf.len();
        g.buf.extend_from_slice(&bytes);
        if let Err(e) = g.process_batch(b, ver, t) {
            return fail(e.with_generation(gen));
        }
    }
    let mut spill_err = None;
    let mut next_spill = None;
    loop {
        match wire::read_batch(c, &mut g.buf) {
            BatchRead::Eof => break,
            BatchRead::Err { msg, gen, offset } => {
                let e = fmt_err(msg, offset).with_generation(if g.gen != 0 { g.gen } else { gen });
                if g.gen != 0 {
                    spill_err = Some(e);
                    break;
                }
                return fail(e);
            }
            BatchRead::Ok { batch, gen } => {
                if gen == 0 {
                    return fail(fmt_err(
                        format!("invalid generation number {gen}"),
                        batch.offset,
                    ));
                }
                if g.gen == 0 {
                    g.gen = gen;
                }
                if gen == g.gen.wrapping_add(1) {
                    let bytes = g.buf[batch.start..].to_vec();
                    g.buf.truncate(batch.start);
                    next_spill = Some((gen, batch, bytes));
                    break;
                }
                if gen != g.gen {
                    return fail(
                        fmt_err("generations out of order", batch.offset).with_generation(gen),
                    );
                }
                if g.min_ts == 0 || batch.time < g.min_ts {
                    g.min_ts = batch.time;
                }
                if let Err(e) = g.process_batch(batch, ver, t) {
                    return fail(e.with_generation(gen));
                }
            }
        }
    }
    if let Err(e) = g.finish(ver, t, c.pos()) {
        return fail(e);
    }
    SpillRead {
        gen: Some(g),
        spill: next_spill,
        err: spill_err,
    }
}

/// Go's `readGeneration` (1.26+). `Ok(None)` at a clean end of the trace. `buf` is
/// reused for the generation's event bytes.
pub fn read_generation<S: Source>(
    c: &mut S,
    ver: u32,
    t: &mut Pending,
    buf: Vec<u8>,
) -> Result<Option<Generation>, TraceError> {
    let mut g = Generation::new(buf);
    loop {
        match wire::read_batch(c, &mut g.buf) {
            BatchRead::Eof => {
                // Go only calls a generation incomplete if it has event batches.
                if !g.batches.is_empty() {
                    return Err(fmt_err(
                        "incomplete generation found; trace likely truncated",
                        c.pos(),
                    )
                    .with_generation(g.gen));
                }
                return Ok(None);
            }
            BatchRead::Err { msg, gen, offset } => {
                return Err(fmt_err(msg, offset).with_generation(if g.gen != 0 {
                    g.gen
                } else {
                    gen
                }))
            }
            BatchRead::Ok { batch, gen } => {
                if g.gen == 0 {
                    g.gen = gen;
                }
                if batch.is_end_of_generation() {
                    g.buf.truncate(batch.start);
                    break;
                }
                if gen == 0 {
                    return Err(fmt_err(
                        format!("invalid generation number {gen}"),
                        batch.offset,
                    ));
                }
                if gen != g.gen {
                    return Err(fmt_err(
                        "broken trace: missing end-of-generation event, or generations are interleaved",
                        batch.offset,
                    )
                    .with_generation(gen));
                }
                if g.min_ts == 0 || batch.time < g.min_ts {
                    g.min_ts = batch.time;
                }
                g.process_batch(batch, ver, t)
                    .map_err(|e| e.with_generation(gen))?;
            }
        }
    }
    g.finish(ver, t, c.pos())?;
    Ok(Some(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_map_dense_sparse_and_duplicates() {
        let mut m = IdMap::default();
        assert_eq!(m.get(0), Some(0), "ID 0 always exists");
        assert!(!m.insert(0, 5), "ID 0 cannot be inserted");
        // A far ID goes to the map; later dense growth must not hide it.
        assert!(m.insert(5000, 7));
        for id in 1..6000 {
            if id != 5000 {
                assert!(m.insert(id, id as u32));
            }
        }
        assert_eq!(m.get(5000), Some(7));
        assert_eq!(m.get(4999), Some(4999));
        assert!(!m.insert(5000, 8), "duplicate");
        assert_eq!(m.get(6000), None);
        // A hostile ID costs one map entry, not a huge vector.
        assert!(m.insert(u64::MAX, 9));
        assert_eq!(m.get(u64::MAX), Some(9));
        assert!(m.dense.len() < 64 * 1024);
    }
}
