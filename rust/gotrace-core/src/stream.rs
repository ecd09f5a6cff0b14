//! Analyses that keep no event table: the reader hands its events to a consumer
//! ([`drain`]) a generation or [`crate::reader::CHUNK_ROWS`] rows at a time and drops
//! them, so memory is bounded by a generation's bytes plus what the consumer keeps (v1
//! traces, which have no generations, are still read whole).

use crate::reader::{parse_with, Hook, ParseOptions};

/// Options of a parse whose events a consumer drains generation by generation.
pub const DRAINED: ParseOptions = ParseOptions {
    threads: None,
    max_events: None,
    drained: true,
    chunk_rows: 0,
};
use crate::store::Trace;
use crate::wire::{self, spec, Cursor};

/// Runs `parse` (a reader entry point, given its hook) handing the events to `consume`
/// in order, in chunks (a generation or part of one), and clearing them after each call; `hook` is then
/// called as the reader's. Returns the trace without events (version, strings, stacks,
/// generation count, error).
pub fn drain(
    parse: impl FnOnce(&mut Hook) -> Trace,
    consume: &mut dyn FnMut(&Trace),
    hook: &mut Hook,
) -> Trace {
    let mut trace = parse(&mut |t, done| {
        consume(t);
        t.clear_events();
        hook(t, done)
    });
    // What came after the last generation boundary (the events before an error).
    consume(&trace);
    trace.clear_events();
    trace
}

/// The times of the first and the last event of the v2 trace `data`, as a full parse
/// gives them, from parsing only its first and its last generation (the batch headers
/// in between are read to find it). The last generation parsed alone gives the same times
/// as in the whole trace unless times from the generation before it were pushed past its
/// own (the reader makes event times strictly increasing), so callers that need exact
/// values compare with the full parse's. None for v1 traces, and when either generation
/// fails to parse alone.
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
        return None;
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
        assert_eq!(v2_extent(&v1), None);
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
