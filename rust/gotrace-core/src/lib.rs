//! gotrace-core: reads Go execution traces exactly as Go's own `internal/trace` reader does,
//! into a columnar event table. Pure Rust, no Python.
//!
//! Pipeline: [`wire`] (bytes → batches, varints, the event spec table) → [`generation`]
//! (per-generation string/stack tables, sync data, CPU samples) → [`order`] (Go's
//! scheduler state machine that puts per-M event streams into one valid order, driven by
//! the reader over Go's [`frontier`] of per-M cursors) →
//! [`store`] (interned, columnar events) → [`export`] (text dumps). Go 1.11–1.21 traces take
//! the [`v1`] path instead: read whole, ordered as Go's old parser does, converted into the
//! same store.

pub mod analysis;
pub mod binning;
pub mod error;
pub mod export;
pub mod frontier;
pub mod generation;
pub mod gosort;
pub mod order;
pub mod reader;
pub mod store;
pub mod stream;
pub mod v1;
pub mod wire;

pub use error::{ErrorKind, Result, TraceError};
pub use store::{EventKind, Events, Trace};

/// Parses a whole trace. Never panics on bad input: a broken trace gives a [`Trace`]
/// whose `events` are those Go's reader yields before failing, and whose `error` is set.
pub fn parse(data: &[u8]) -> Trace {
    reader::parse(data)
}

/// Like [`parse`], from a stream (e.g. a file): only one generation's bytes are held in
/// memory at a time. `size_hint` is the expected input size (it sizes the event table).
pub fn parse_read<R: std::io::Read>(r: R, size_hint: usize) -> Trace {
    reader::parse_read(r, size_hint)
}

pub use reader::{
    parse_interruptible, parse_limited, parse_read_interruptible, parse_read_limited,
    parse_read_with, parse_with, Hook, ParseOptions,
};

/// CPU time of the calling thread, in seconds: what the benchmark examples and the
/// speed tests measure, since wall time is inflated whenever other processes share the
/// cores.
#[doc(hidden)]
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
