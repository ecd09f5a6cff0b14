//! Go 1.11–1.21 traces: [`parse`] reads the old wire format whole and orders it as Go's
//! `tracev1` package does; [`convert`] turns the result into the v2 event model as Go's
//! `traceV1Converter` does.

pub mod convert;
pub mod parse;

#[cfg(test)]
mod tests;

use crate::store::Trace;

/// Parses a v1 trace (`data` is the whole file, `hlen` its header length). Go's reader
/// fails before yielding anything when the v1 parse fails; the conversion can fail after
/// some events, which then stay in the trace.
pub fn parse(data: &[u8], hlen: usize, ver: u32) -> Trace {
    parse_threads(data, hlen, ver, 1)
}

/// [`parse`] with `threads` threads (the calling thread included): the others fault in
/// the pages of the large buffers (the merged list, the event table) ahead of the
/// writer, which is otherwise a good part of the time.
pub fn parse_threads(data: &[u8], hlen: usize, ver: u32, threads: usize) -> Trace {
    if threads > 1 {
        if let Ok(pool) = rayon::ThreadPoolBuilder::new()
            .num_threads(threads - 1)
            .thread_name(|i| format!("gotrace-{i}"))
            .build()
        {
            let trace = pool.in_place_scope(|s| run(data, hlen, ver, Some(s)));
            return finish(trace);
        }
    }
    finish(run(data, hlen, ver, None))
}

fn run(data: &[u8], hlen: usize, ver: u32, helper: Option<&rayon::Scope<'_>>) -> Trace {
    let mut trace = Trace {
        version: ver,
        ..Trace::default()
    };
    match parse::parse_helped(data, hlen, ver, helper) {
        Err(e) => trace.error = Some(e),
        Ok(mut v1) => {
            if let Err(e) = convert::convert(&mut v1, ver, &mut trace, helper) {
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
