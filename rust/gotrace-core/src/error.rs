//! Errors a parse can end with. Messages follow Go's `internal/trace` wording where Go has
//! one, so that Go's golden expectations can be checked against them.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes do not follow the wire format (bad varint, batch, header, table entry).
    Format,
    /// A header of a trace version this build cannot read.
    UnsupportedVersion,
    /// Well-formed bytes that describe an impossible execution (ordering, state machine,
    /// bad table references).
    Validation,
    /// Reading the input failed (streamed input only).
    Io,
    /// The caller asked to stop (e.g. Ctrl-C).
    Interrupted,
    /// The trace has more events than the caller's limit (`max_events`).
    Limit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub kind: ErrorKind,
    pub message: String,
    /// Byte offset in the input where the problem was found, when known.
    pub offset: Option<u64>,
    /// Generation number (v2) the problem belongs to, when known.
    pub generation: Option<u64>,
}

impl TraceError {
    #[cold]
    pub fn format(message: impl Into<String>, offset: u64) -> Self {
        TraceError {
            kind: ErrorKind::Format,
            message: message.into(),
            offset: Some(offset),
            generation: None,
        }
    }

    #[cold]
    pub fn validation(message: impl Into<String>) -> Self {
        TraceError {
            kind: ErrorKind::Validation,
            message: message.into(),
            offset: None,
            generation: None,
        }
    }

    #[cold]
    pub fn unsupported(message: impl Into<String>) -> Self {
        TraceError {
            kind: ErrorKind::UnsupportedVersion,
            message: message.into(),
            offset: Some(0),
            generation: None,
        }
    }

    #[cold]
    pub fn io(message: impl Into<String>, offset: u64) -> Self {
        TraceError {
            kind: ErrorKind::Io,
            message: message.into(),
            offset: Some(offset),
            generation: None,
        }
    }

    #[cold]
    pub fn interrupted() -> Self {
        TraceError {
            kind: ErrorKind::Interrupted,
            message: "interrupted".into(),
            offset: None,
            generation: None,
        }
    }

    /// More than `max` events; `read` bytes of input were consumed when the limit hit.
    #[cold]
    pub fn limit(max: u64, generation: Option<u64>, read: u64) -> Self {
        TraceError {
            kind: ErrorKind::Limit,
            message: format!(
                "event limit reached: the trace has more than max_events={max} events"
            ),
            offset: Some(read),
            generation,
        }
    }

    pub fn with_generation(mut self, gen: u64) -> Self {
        if self.generation.is_none() {
            self.generation = Some(gen);
        }
        self
    }

    pub fn with_offset(mut self, off: u64) -> Self {
        if self.offset.is_none() {
            self.offset = Some(off);
        }
        self
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TraceError {}

pub type Result<T> = std::result::Result<T, TraceError>;
