//! Go 1.11–1.21 traces: [`parse`] reads the old wire format whole and orders it as Go's
//! `tracev1` package does; [`convert`] turns the result into the v2 event model as Go's
//! `traceV1Converter` does.

pub mod convert;
pub mod parse;

#[cfg(test)]
mod tests;

use crate::reader::Hook;
use crate::store::Trace;

/// Events between two calls of the reader's hook (a few ms of work).
pub const CHECK_EVERY: usize = 1 << 16;

/// Parses a v1 trace (`body` is the file after its `hlen`-byte header, `hlen` places
/// error offsets). Go's reader fails before yielding anything when the v1 parse fails; the
/// conversion can fail after some events, which then stay in the trace.
pub fn parse(body: &[u8], hlen: usize, ver: u32) -> Trace {
    parse_with(body, hlen, ver, 1, false, &mut |_, _| false)
}

/// [`parse`] with `threads` threads (the calling thread included: from two on, the
/// events are replayed and checked on one thread while the calling thread converts them,
/// and the event table's pages are faulted in ahead of the writer), calling `hook` every
/// [`CHECK_EVERY`] events (see [`Hook`]); the byte counts it is given are the share of
/// the work done, scaled to `hlen + body.len()`. `drained`: the hook empties the table
/// each time (a streaming analysis), so it is sized for that many events, not the trace.
pub fn parse_with(
    body: &[u8],
    hlen: usize,
    ver: u32,
    threads: usize,
    drained: bool,
    hook: &mut Hook,
) -> Trace {
    if threads > 1 {
        return finish(std::thread::scope(|s| {
            run(body, hlen, ver, Some(s), drained, hook)
        }));
    }
    finish(run(body, hlen, ver, None, drained, hook))
}

fn run<'s>(
    body: &[u8],
    hlen: usize,
    ver: u32,
    helper: Option<&'s std::thread::Scope<'s, '_>>,
    drained: bool,
    hook: &mut Hook,
) -> Trace {
    let mut trace = Trace {
        version: ver,
        ..Trace::default()
    };
    // The merge takes about half of the time, the replay with the conversion the rest.
    let total = (hlen + body.len()) as f64;
    // With a helper, the event table is made as soon as the first pass has counted the
    // events, and its pages are faulted in on the helper during the merge.
    let mut table = None;
    let parsed = {
        let tr = &mut trace;
        let mut counted = |n: usize| {
            if let (Some(h), false) = (helper, drained) {
                let mut t = crate::store::Events::with_capacity(convert::table_rows(n));
                let job = t.prefault_job();
                h.spawn(move || job.run(n + n / 32 + 4));
                table = Some(t);
            }
        };
        parse::parse_checked(
            body,
            hlen,
            ver,
            &mut |f| hook(tr, (total * 0.5 * f) as u64),
            &mut counted,
        )
    };
    match parsed {
        Err(e) => {
            if let Some(mut t) = table {
                t.stop_prefault();
            }
            trace.error = Some(e);
        }
        Ok(v1) => {
            trace.predicted_extent = v1.predicted_extent();
            let n = v1.merged.len().max(1) as f64;
            let mut check = |tr: &mut Trace, i: usize| {
                hook(tr, (total * (0.5 + 0.5 * (i as f64 / n).min(1.0))) as u64)
            };
            trace.events = table.unwrap_or_default();
            let r = convert::convert_with(v1, ver, &mut trace, &mut check, helper, drained);
            if let Err(e) = r {
                trace.error = Some(e);
            }
        }
    }
    trace
}

fn finish(mut trace: Trace) -> Trace {
    trace.events.shrink_to_fit();
    trace.strings.freeze();
    trace.stacks.freeze();
    trace
}
