//! Go 1.11–1.21 traces: [`parse`] reads the old wire format whole and orders it as Go's
//! `tracev1` package does; [`convert`] turns the result into the v2 event model as Go's
//! `traceV1Converter` does.

pub mod convert;
pub mod parse;

#[cfg(test)]
mod tests;

use crate::store::Trace;

/// Parses a v1 trace (`body` is the file after its `hlen`-byte header, `hlen` places
/// error offsets). Go's reader fails before yielding anything when the v1 parse fails; the
/// conversion can fail after some events, which then stay in the trace.
pub fn parse(body: &[u8], hlen: usize, ver: u32) -> Trace {
    let mut trace = Trace {
        version: ver,
        ..Trace::default()
    };
    match parse::parse(body, hlen, ver) {
        Err(e) => trace.error = Some(e),
        Ok(mut v1) => {
            if let Err(e) = convert::convert(&mut v1, ver, &mut trace) {
                trace.error = Some(e);
            }
        }
    }
    trace.events.shrink_to_fit();
    trace.strings.freeze();
    trace.stacks.freeze();
    trace
}
