//! Analyses that keep no event table: the reader hands its events to a consumer
//! ([`drain`]) a generation or [`crate::reader::CHUNK_ROWS`] rows at a time and drops
//! them, so memory is bounded by a generation's bytes plus what the consumer keeps (v1
//! traces, which have no generations, are merged whole, at a byte per event, and their
//! events then handed over [`crate::v1::CHECK_EVERY`] at a time).

use crate::reader::{parse_with, Hook, ParseOptions};

/// Options of a parse whose events a consumer drains generation by generation.
pub const DRAINED: ParseOptions = ParseOptions {
    threads: None,
    max_events: None,
    drained: true,
    chunk_rows: 0,
    unconverted: false,
};
use crate::reader::rows::Side;
use crate::reader::Unconverted;
use crate::store::{ClockSnapshot, Events, ExperimentalArgs, Row, StackTail, Trace};
use crate::wire::{self, spec, Cursor};

/// What a drained parse hands its events to (see [`drain_pipelined_to`]); any
/// `FnMut(&Trace)` through [`Rows`].
pub trait Consumer {
    /// Takes the rows of `t.events` (the next ones), with `t`'s tables up to them.
    fn rows(&mut self, t: &Trace);

    /// Whether events the reader left unconverted ([`ParseOptions::unconverted`]) are
    /// to be handed over one row at a time ([`Consumer::row`]), never stored. `t` holds
    /// the tables up to the next event.
    fn by_row(&mut self, _t: &Trace) -> bool {
        false
    }

    /// Takes the next event, as a row (only if [`Consumer::by_row`]); `t` holds the
    /// strings and stacks up to it, and no events.
    fn row(&mut self, _r: &Row, _t: &Trace) {}
}

/// A function of each chunk of rows as a [`Consumer`].
pub struct Rows<F>(pub F);

impl<F: FnMut(&Trace)> Consumer for Rows<F> {
    fn rows(&mut self, t: &Trace) {
        (self.0)(t)
    }
}

/// Runs `parse` (a reader entry point, given its hook) handing the events to `consume`
/// in order, in chunks (a generation or part of one), and clearing them after each call; `hook` is then
/// called as the reader's. Returns the trace without events (version, strings, stacks,
/// generation count, error). Events a parse left unconverted
/// ([`ParseOptions::unconverted`]) are converted first; if that finds the trace broken,
/// `consume` gets the rows before the error, the parse stops and the returned trace
/// carries that error.
pub fn drain(
    parse: impl FnOnce(&mut Hook) -> Trace,
    consume: &mut dyn FnMut(&Trace),
    hook: &mut Hook,
) -> Trace {
    let mut failed = None;
    let mut syncs = 0;
    let mut trace = parse(&mut |t, done| {
        failed = convert_left(t, &mut syncs);
        consume(t);
        t.clear_events();
        failed.is_some() || hook(t, done)
    });
    // What came after the last generation boundary (the events before an error).
    if failed.is_none() {
        failed = convert_left(&mut trace, &mut syncs);
        consume(&trace);
    }
    trace.clear_events();
    if let Some(f) = failed {
        f.set(&mut trace);
    }
    trace
}

/// Where the conversion of events a parse left found the trace broken.
struct Failed {
    error: crate::TraceError,
    /// Events before the error.
    seen: u64,
    /// Syncs before the error.
    syncs: u64,
}

impl Failed {
    /// Makes `t` (the reader's result, without events) end where the conversion failed:
    /// any error of the reader is further on in the stream.
    fn set(self, t: &mut Trace) {
        t.error = Some(self.error);
        t.cleared = self.seen;
        t.generations = self.syncs.saturating_sub(1);
    }
}

/// Converts the events `t` holds unconverted into rows (after those it holds); `syncs`
/// as for [`Unconverted::convert_into`].
fn convert_left(t: &mut Trace, syncs: &mut u64) -> Option<Failed> {
    let mut u = t.unconverted.take()?;
    let r = u.convert_into(t, syncs);
    u.clear();
    t.unconverted = Some(u);
    r.err().map(|error| Failed {
        error,
        seen: t.cleared + t.events.len() as u64,
        syncs: *syncs,
    })
}

/// One chunk on its way from the reader to a [`drain_pipelined`] consumer: the events
/// (rows, or events to convert into rows: [`ParseOptions::unconverted`]) and the side
/// tables they index, moved out of the reader's trace, and the strings and stacks
/// interned since the previous chunk.
struct Chunk {
    version: u32,
    events: Events,
    unconverted: Option<Box<Unconverted>>,
    range_attrs: Vec<[u64; 2]>,
    u64s: Vec<u64>,
    clock_snapshots: Vec<ClockSnapshot>,
    experimental: Vec<ExperimentalArgs>,
    strings: (Vec<u8>, Vec<u64>),
    stacks: StackTail,
}

/// What the consumer's replica of the tables holds: (strings, frames, stacks).
struct Sent(usize, usize, usize);

impl Sent {
    /// What a new (default) trace holds: the empty string and the empty stack.
    fn new() -> Self {
        let t = Trace::default();
        Sent(t.strings.len(), t.stacks.frames.len(), t.stacks.len())
    }
}

impl Chunk {
    /// Takes `t`'s events (leaving `spare`, emptied, in their place) and copies the
    /// strings and stacks the consumer has not seen yet.
    fn take(t: &mut Trace, sent: &mut Sent, spare: Spent) -> Chunk {
        let n = t.events.len();
        let events = if n == 0 {
            Events::default()
        } else {
            // A new table sized for a chunk like this one (growing by doubling would
            // leave up to twice the memory in each of the tables in flight).
            let mut spare = spare
                .events
                .unwrap_or_else(|| Events::with_capacity(n + n / 16 + 16));
            spare.clear();
            std::mem::replace(&mut t.events, spare)
        };
        let unconverted = match (&mut t.unconverted, spare.unconverted) {
            (Some(u), Some(mut spare)) if !u.is_empty() => {
                spare.clear();
                Some(std::mem::replace(u, spare))
            }
            (u, _) => u.take(),
        };
        let c = Chunk {
            version: t.version,
            events,
            unconverted,
            range_attrs: std::mem::take(&mut t.range_attrs),
            u64s: std::mem::take(&mut t.u64s),
            clock_snapshots: std::mem::take(&mut t.clock_snapshots),
            experimental: std::mem::take(&mut t.experimental),
            strings: t.strings.tail(sent.0),
            stacks: t.stacks.tail(sent.1, sent.2),
        };
        t.cleared += (c.events.len() + c.unconverted.as_ref().map_or(0, |u| u.len())) as u64;
        *sent = Sent(t.strings.len(), t.stacks.frames.len(), t.stacks.len());
        c
    }

    /// Makes `r`, the consumer's replica, the trace as the reader had it when the
    /// chunk was taken, and hands its events to `consume`: as rows of the replica's
    /// table, made here if the reader left them unconverted, or one row at a time if
    /// `consume` takes them so ([`Consumer::by_row`]; `syncs` as for
    /// [`Unconverted::convert_into`]). Returns what the replica held before (to be
    /// reused), and where a conversion failed (`consume` then has the rows before).
    fn install<C: Consumer + ?Sized>(
        self,
        r: &mut Trace,
        syncs: &mut u64,
        consume: &mut C,
    ) -> (Spent, Option<Failed>) {
        r.version = self.version;
        r.cleared += r.events.len() as u64;
        r.strings.append(self.strings);
        r.stacks.append(self.stacks);
        r.range_attrs = self.range_attrs;
        r.u64s = self.u64s;
        r.clock_snapshots = self.clock_snapshots;
        r.experimental = self.experimental;
        let Some(mut u) = self.unconverted else {
            let events = std::mem::replace(&mut r.events, self.events);
            if !r.events.is_empty() {
                consume.rows(r);
            }
            let spent = Spent {
                events: Some(events),
                unconverted: None,
            };
            return (spent, None);
        };
        // The rows of a reader that leaves them (none of its own): made here, in the
        // replica's table, which stays with this thread, or not stored at all.
        r.events.clear();
        let failed = if consume.by_row(r) {
            let (mut range_attrs, mut u64s, mut experimental) = (
                std::mem::take(&mut r.range_attrs),
                std::mem::take(&mut r.u64s),
                std::mem::take(&mut r.experimental),
            );
            let mut side = Side {
                range_attrs: &mut range_attrs,
                u64s: &mut u64s,
                experimental: &mut experimental,
            };
            let mut n = 0u64;
            let res = u.convert_each(&mut side, syncs, |row| {
                n += 1;
                consume.row(row, r);
            });
            (r.range_attrs, r.u64s, r.experimental) = (range_attrs, u64s, experimental);
            r.cleared += n;
            res.err().map(|error| Failed {
                error,
                seen: r.cleared,
                syncs: *syncs,
            })
        } else {
            let res = u.convert_into(r, syncs);
            if !r.events.is_empty() {
                consume.rows(r);
            }
            res.err().map(|error| Failed {
                error,
                seen: r.cleared + r.events.len() as u64,
                syncs: *syncs,
            })
        };
        u.clear();
        let spent = Spent {
            events: None,
            unconverted: Some(u),
        };
        (spent, failed)
    }
}

/// What a consumer hands back to the reader, to be reused for a later chunk.
#[derive(Default)]
struct Spent {
    events: Option<Events>,
    unconverted: Option<Box<Unconverted>>,
}

/// [`drain`] with `consume` on a thread of its own: the analysis of one chunk runs while
/// the reader orders the next. `consume` sees a replica of the reader's trace (version,
/// strings and stacks up to the chunk, the chunk's events and side tables), in the same
/// chunks and order as [`drain`] would give them, except that chunks without events are
/// not passed on. At most one chunk waits between the threads. A parse asked to leave
/// its rows ([`ParseOptions::unconverted`]) has them made on the consumer's thread, as
/// the reader would have made them; if that finds the trace broken, the parse stops and
/// the returned trace carries that error. The returned trace is the reader's, as from
/// [`drain`].
pub fn drain_pipelined<C: FnMut(&Trace) + Send>(
    parse: impl FnOnce(&mut Hook) -> Trace,
    consume: &mut C,
    hook: &mut Hook,
) -> Trace {
    drain_pipelined_to(parse, &mut Rows(consume), hook)
}

/// [`drain_pipelined`] for any [`Consumer`]: events the reader left unconverted go to
/// one that takes them [`Consumer::by_row`] as they are converted, never stored.
pub fn drain_pipelined_to<C: Consumer + Send>(
    parse: impl FnOnce(&mut Hook) -> Trace,
    consume: &mut C,
    hook: &mut Hook,
) -> Trace {
    use std::sync::mpsc;
    // Lent to the worker (or, if no thread can be made, kept for a plain drain).
    let lent = std::sync::Mutex::new(consume);
    let lent = &lent;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Chunk>(1);
        let (back_tx, back_rx) = mpsc::channel::<Spent>();
        let worker = std::thread::Builder::new()
            .name("gotrace-consume".into())
            .spawn_scoped(s, move || {
                let mut consume = lent.lock().unwrap_or_else(|e| e.into_inner());
                let mut replica = Trace::default();
                let mut syncs = 0;
                for c in rx {
                    let (spent, failed) = c.install(&mut replica, &mut syncs, &mut **consume);
                    if failed.is_some() {
                        // Dropping the receiver tells the reader to stop.
                        return failed;
                    }
                    // The reader may be gone (done or failed): then nobody reuses it.
                    let _ = back_tx.send(spent);
                }
                None
            });
        let Ok(worker) = worker else {
            // No thread to be had: consume on this one.
            let mut consume = lent.lock().unwrap_or_else(|e| e.into_inner());
            return drain(parse, &mut |t| consume.rows(t), hook);
        };
        let mut sent = Sent::new();
        let mut gone = false;
        // Passes `t`'s events on; false once the consumer is gone.
        let mut pass = |t: &mut Trace, sent: &mut Sent| {
            if t.pending() == 0 || gone {
                return !gone;
            }
            // Reuse one returned table, free any others (the consumer returns one per
            // chunk; tables made while it was behind would otherwise pile up).
            let spare = back_rx.try_iter().reduce(|a, _| a).unwrap_or_default();
            let c = Chunk::take(t, sent, spare);
            // Fails if the consumer found the trace broken, or panicked (re-raised below).
            gone = tx.send(c).is_err();
            !gone
        };
        let mut trace = parse(&mut |t, done| {
            let on = pass(t, &mut sent);
            hook(t, done) || !on
        });
        pass(&mut trace, &mut sent);
        drop(tx);
        trace.clear_events();
        match worker.join() {
            Err(p) => std::panic::resume_unwind(p),
            // The rows before the error are the stream's last: any error of the reader
            // comes after them.
            Ok(Some(f)) => f.set(&mut trace),
            Ok(None) => {}
        }
        trace
    })
}

/// [`drain`] or [`drain_pipelined_to`], as `opts` ask for an input of `size` bytes that
/// starts with `head` (None: unknown): with two or more threads (see
/// [`ParseOptions::thread_count`]; small inputs get one unless told otherwise) and a v2
/// trace, `consume` gets one of them and `parse` is given options for the rest. A v1
/// trace is merged whole before its events can be consumed, so it keeps all its threads
/// (the v1 reader replays and converts on two).
pub fn drain_threads<C: Consumer + Send>(
    opts: &ParseOptions,
    size: usize,
    head: Option<&[u8]>,
    parse: impl FnOnce(&ParseOptions, &mut Hook) -> Trace,
    consume: &mut C,
    hook: &mut Hook,
) -> Trace {
    let n = opts.thread_count_for(size);
    let v1 = head
        .and_then(|h| wire::parse_header(h).ok())
        .is_some_and(|(ver, _)| ver < 22);
    if n < 2 || v1 {
        return drain(|h| parse(opts, h), &mut |t| consume.rows(t), hook);
    }
    // The rows are made on the consumer's thread: the reader's has the most to do.
    let rest = ParseOptions {
        threads: Some(n - 1),
        unconverted: true,
        ..*opts
    };
    drain_pipelined_to(|h| parse(&rest, h), consume, hook)
}

/// The times of the first and the last event of the v2 trace `data`, as a full parse
/// gives them, from parsing only its first and its last generation (the batch headers
/// in between are read to find it). The last generation parsed alone gives the same times
/// as in the whole trace unless times from the generation before it were pushed past its
/// own (the reader makes event times strictly increasing), so callers that need exact
/// values compare with the full parse's. None when either generation fails to parse
/// alone. A v1 trace (no generations) is merged whole but not converted, and its end
/// predicted ([`crate::v1::parse::V1Trace::predicted_extent`]); None if that fails.
pub fn v2_extent(data: &[u8]) -> Option<(i64, i64)> {
    v2_extent_with(data, &mut |_| {})
}

/// [`v2_extent`], calling `done(n)` now and then while it scans the batch headers with the
/// number of bytes it no longer reads (the caller may release their pages: the headers
/// are spread over the whole input, and a memory map would otherwise bring in most of
/// the file).
pub fn v2_extent_with(data: &[u8], done: &mut dyn FnMut(usize)) -> Option<(i64, i64)> {
    let (ver, hlen) = wire::parse_header(data).ok()?;
    if ver < 22 {
        let v1 = crate::v1::parse::parse(&data[hlen..], hlen, ver).ok()?;
        return v1.predicted_extent();
    }
    let first = parse_with(data, &DRAINED, &mut |_, _| true);
    let t0 = *first.events.time.first()?;
    let last_gen = last_generation_start(data, hlen, ver, done)?;
    let mut alone = Vec::with_capacity(hlen + data.len() - last_gen);
    alone.extend_from_slice(&data[..hlen]);
    alone.extend_from_slice(&data[last_gen..]);
    let mut t1 = None;
    let tail = parse_with(&alone, &DRAINED, &mut |t, _| {
        if let Some(&t) = t.events.time.last() {
            t1 = Some(t);
        }
        t.clear_events();
        false
    });
    if tail.error.is_some() {
        return None;
    }
    Some((t0, tail.events.time.last().copied().or(t1)?))
}

/// Offset of the first batch of the last generation of a v2 trace, reading only batch
/// headers (`done` as for [`v2_extent_with`]). None if the framing is broken.
fn last_generation_start(
    data: &[u8],
    hlen: usize,
    ver: u32,
    done: &mut dyn FnMut(usize),
) -> Option<usize> {
    const RELEASE_EVERY: usize = 4 << 20;
    let mut c = Cursor::new(data, hlen);
    let mut last = None;
    let mut released = 0;
    // v26+: a generation ends with an EndOfGeneration byte; before, a generation is a run
    // of batches with the same generation number.
    let mut new_gen = true;
    let mut cur_gen = None;
    while c.remaining() > 0 {
        let at = c.pos;
        if at - released >= RELEASE_EVERY {
            done(at);
            released = at;
        }
        let b = c.read_byte()?;
        if ver >= 26 && b == spec::EV_END_OF_GENERATION {
            new_gen = true;
            continue;
        }
        if b == spec::EV_EXPERIMENTAL_BATCH {
            c.read_byte()?;
        } else if b != spec::EV_EVENT_BATCH {
            return None;
        }
        let gen = c.read_uvarint().ok()?;
        c.read_uvarint().ok()?; // M
        c.read_uvarint().ok()?; // timestamp
        let size = c.read_uvarint().ok()?;
        if size > wire::MAX_BATCH_SIZE || size as usize > c.remaining() {
            return None;
        }
        c.pos += size as usize;
        if (ver >= 26 && new_gen) || (ver < 26 && cur_gen != Some(gen)) {
            last = Some(at);
        }
        new_gen = false;
        cur_gen = Some(gen);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_of_the_test_traces() {
        for name in [
            "go1.22.10-testprog-annotations.trace",
            "go1.25.5-mixed-small.trace",
        ] {
            let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
            let data = std::fs::read(path).unwrap();
            let full = crate::parse(&data);
            let t = &full.events.time;
            assert_eq!(v2_extent(&data), Some((t[0], *t.last().unwrap())), "{name}");
        }
        let v1 = std::fs::read(format!(
            "{}/tests/data/go1.21.13-cpu-small.trace",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let full = crate::parse(&v1);
        let t = &full.events.time;
        assert_eq!(v2_extent(&v1), Some((t[0], *t.last().unwrap())));
    }

    #[test]
    fn drain_sees_every_event_once() {
        let data = std::fs::read(format!(
            "{}/tests/data/go1.25.5-mixed-small.trace",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let full = crate::parse(&data);
        let mut times = Vec::new();
        let mut calls = 0;
        let t = drain(
            |hook| parse_with(&data, &DRAINED, hook),
            &mut |t| times.extend_from_slice(&t.events.time),
            &mut |_, _| {
                calls += 1;
                false
            },
        );
        assert!(t.events.is_empty() && t.error.is_none());
        assert_eq!(times, full.events.time.to_vec());
        assert_eq!(calls as u64, full.generations + 1);
    }
}
