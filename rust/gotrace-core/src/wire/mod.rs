//! The v2 wire format (Go 1.22+): header, varints, the event spec table, batch framing.
//!
//! A trace is `go 1.N trace\0\0\0` followed by batches. A batch is
//! `EvEventBatch gen m ts size data[size]`, `EvExperimentalBatch exp gen m ts size data`,
//! or (1.26+) a lone `EvEndOfGeneration` byte. All integers are unsigned LEB128 varints.

pub mod spec;

pub use spec::{EventSpec, SPECS};

/// Go's `binary.Uvarint` on a slice: `(value, n)` with `n > 0` bytes consumed, `n == 0` if
/// the slice ended first, `n < 0` on overflow (more than 10 bytes, or a 10th byte > 1).
#[inline]
pub fn uvarint(buf: &[u8]) -> (u64, isize) {
    // Fast path: one byte.
    if let Some(&b) = buf.first() {
        if b < 0x80 {
            return (b as u64, 1);
        }
    }
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 {
            return (0, -((i + 1) as isize));
        }
        if b < 0x80 {
            if i == 9 && b > 1 {
                return (0, -((i + 1) as isize));
            }
            return (x | (b as u64) << s, (i + 1) as isize);
        }
        x |= ((b & 0x7f) as u64) << s;
        s += 7;
    }
    (0, 0)
}

/// Why a streaming varint read (Go's `binary.ReadUvarint`) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintErr {
    /// No byte at all was left (Go's `io.EOF`).
    Eof,
    /// The input ended inside the varint (Go's `io.ErrUnexpectedEOF`).
    UnexpectedEof,
    Overflow,
}

impl VarintErr {
    pub fn go_message(self) -> &'static str {
        match self {
            VarintErr::Eof => "EOF",
            VarintErr::UnexpectedEof => "unexpected EOF",
            VarintErr::Overflow => "binary: varint overflows a 64-bit integer",
        }
    }
}

/// Go's `binary.ReadUvarint` over a byte supplier.
fn read_uvarint_from(mut next: impl FnMut() -> Option<u8>) -> Result<u64, VarintErr> {
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for i in 0..10 {
        let Some(b) = next() else {
            return Err(if i > 0 {
                VarintErr::UnexpectedEof
            } else {
                VarintErr::Eof
            });
        };
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Err(VarintErr::Overflow);
            }
            return Ok(x | (b as u64) << s);
        }
        x |= ((b & 0x7f) as u64) << s;
        s += 7;
    }
    Err(VarintErr::Overflow)
}

/// A forward-only reader over the input with Go's `bufio.Reader` + `binary.ReadUvarint`
/// error semantics, tracking the byte offset for error messages.
pub struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Cursor { data, pos }
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline]
    pub fn read_byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Go's `binary.ReadUvarint`.
    #[inline]
    pub fn read_uvarint(&mut self) -> Result<u64, VarintErr> {
        if let Some(&b) = self.data.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(b as u64);
            }
        }
        self.read_uvarint_slow()
    }

    fn read_uvarint_slow(&mut self) -> Result<u64, VarintErr> {
        read_uvarint_from(|| self.read_byte())
    }

    /// Takes up to `n` bytes (fewer if the input ends first).
    pub fn take(&mut self, n: u64) -> &'a [u8] {
        let n = (n.min(self.remaining() as u64)) as usize;
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        s
    }
}

/// Where batches are read from: the whole input in memory ([`Cursor`]) or a stream
/// ([`StreamSource`], which keeps only a small buffer, so a large file is never resident
/// as a whole). Positions are absolute byte offsets in the input.
pub trait Source {
    fn read_byte(&mut self) -> Option<u8>;
    /// Go's `binary.ReadUvarint`.
    fn read_uvarint(&mut self) -> Result<u64, VarintErr> {
        read_uvarint_from(|| self.read_byte())
    }
    /// Appends up to `n` bytes to `out` (fewer if the input ends first); returns how many.
    fn read_into(&mut self, n: usize, out: &mut Vec<u8>) -> usize;
    /// Absolute offset of the next byte.
    fn pos(&self) -> usize;
    /// Whether reading has met an I/O error (which ended the input).
    fn io_failed(&self) -> bool {
        false
    }
    /// Forgets that I/O error (its read turned out not to count).
    fn forget_io_error(&mut self) {}
}

impl<S: Source + ?Sized> Source for &mut S {
    #[inline]
    fn read_byte(&mut self) -> Option<u8> {
        (**self).read_byte()
    }
    #[inline]
    fn read_uvarint(&mut self) -> Result<u64, VarintErr> {
        (**self).read_uvarint()
    }
    fn read_into(&mut self, n: usize, out: &mut Vec<u8>) -> usize {
        (**self).read_into(n, out)
    }
    fn pos(&self) -> usize {
        (**self).pos()
    }
    fn io_failed(&self) -> bool {
        (**self).io_failed()
    }
    fn forget_io_error(&mut self) {
        (**self).forget_io_error()
    }
}

impl Source for Cursor<'_> {
    #[inline]
    fn read_byte(&mut self) -> Option<u8> {
        Cursor::read_byte(self)
    }
    #[inline]
    fn read_uvarint(&mut self) -> Result<u64, VarintErr> {
        Cursor::read_uvarint(self)
    }
    fn read_into(&mut self, n: usize, out: &mut Vec<u8>) -> usize {
        let s = self.take(n as u64);
        out.extend_from_slice(s);
        s.len()
    }
    fn pos(&self) -> usize {
        self.pos
    }
}

/// A [`Source`] over any `std::io::Read`. An I/O error ends the input (the parser then
/// sees a truncated trace) and is kept for the caller, who reports it instead.
pub struct StreamSource<R> {
    r: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]`.
    offset: usize,
    eof: bool,
    pub error: Option<std::io::Error>,
}

impl<R: std::io::Read> StreamSource<R> {
    pub fn new(r: R) -> Self {
        StreamSource {
            r,
            buf: vec![0u8; 1 << 20].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            error: None,
        }
    }

    /// Refills the buffer; false at the end of the input.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.end += n;
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    /// Up to `n` (at most 1 MiB) next bytes without consuming them.
    pub fn peek(&mut self, n: usize) -> &[u8] {
        while self.end - self.start < n && self.fill() {}
        let k = n.min(self.end - self.start);
        &self.buf[self.start..self.start + k]
    }

    pub fn skip(&mut self, n: usize) {
        let k = n.min(self.end - self.start);
        self.start += k;
        self.offset += k;
    }

    /// Appends the rest of the input to `out` (for formats that must be read whole).
    pub fn read_rest(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[self.start..self.end]);
        self.offset += self.end - self.start;
        self.start = self.end;
        if !self.eof {
            if let Err(e) = self.r.read_to_end(out) {
                self.error = Some(e);
            }
            self.eof = true;
        }
    }
}

impl<R: std::io::Read> Source for StreamSource<R> {
    #[inline]
    fn read_byte(&mut self) -> Option<u8> {
        if self.start == self.end && !self.fill() {
            return None;
        }
        let b = self.buf[self.start];
        self.start += 1;
        self.offset += 1;
        Some(b)
    }

    fn read_into(&mut self, n: usize, out: &mut Vec<u8>) -> usize {
        let mut got = 0;
        while got < n {
            if self.start == self.end && !self.fill() {
                break;
            }
            let k = (n - got).min(self.end - self.start);
            out.extend_from_slice(&self.buf[self.start..self.start + k]);
            self.start += k;
            self.offset += k;
            got += k;
        }
        got
    }

    fn pos(&self) -> usize {
        self.offset
    }

    fn io_failed(&self) -> bool {
        self.error.is_some()
    }

    fn forget_io_error(&mut self) {
        self.error = None;
    }
}

const BAD_HEADER: &str = "bad file format: not a Go execution trace?";

/// One item of Go's header format `"go 1.%d trace\x00\x00\x00"`.
#[derive(Clone, Copy)]
enum HeaderItem {
    Lit(u8),
    /// A space of the format: one or more spaces of the input (none at its end).
    Space,
    /// `%d` into a uint32: optional spaces, then decimal digits.
    Number,
}

const HEADER_FORMAT: [HeaderItem; 15] = {
    use HeaderItem::*;
    [
        Lit(b'g'),
        Lit(b'o'),
        Space,
        Lit(b'1'),
        Lit(b'.'),
        Number,
        Space,
        Lit(b't'),
        Lit(b'r'),
        Lit(b'a'),
        Lit(b'c'),
        Lit(b'e'),
        Lit(0),
        Lit(0),
        Lit(0),
    ]
};

/// Reads the header exactly as Go's `version.ReadHeader`, i.e.
/// `fmt.Fscanf(r, "go 1.%d trace\x00\x00\x00", &v)` with `v` a uint32: the input is
/// read as UTF-8 runes; each space of the format takes a run of one or more spaces (fmt's
/// Unicode white space, newline excluded), the number may be preceded by spaces and have
/// leading zeros, and is an error past `u32::MAX`. So a header has no fixed length, and
/// a stream is fed to [`HeaderScanner::feed`] in pieces.
#[derive(Debug)]
pub struct HeaderScanner {
    /// Index into `HEADER_FORMAT`.
    at: usize,
    /// The current space or number item has consumed a space / a digit.
    started: bool,
    value: u64,
    /// Runes consumed; fmt reads at most `max_runes` (2^30), then acts as at the end.
    runes: u64,
    max_runes: u64,
    /// Bytes consumed so far: the header length once done.
    pub len: usize,
}

enum NextRune {
    Rune(u32, usize),
    End,
    NeedMore,
}

/// Go's `bufio.Reader.ReadRune` at the start of `rest` (invalid UTF-8 is U+FFFD, 1 byte).
fn next_rune(rest: &[u8], eof: bool) -> NextRune {
    let Some(&b) = rest.first() else {
        return if eof {
            NextRune::End
        } else {
            NextRune::NeedMore
        };
    };
    if b < 0x80 {
        return NextRune::Rune(b as u32, 1);
    }
    let head = &rest[..rest.len().min(4)];
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.valid_up_to() > 0 => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap(),
        Err(e) if e.error_len().is_none() && !eof => return NextRune::NeedMore,
        Err(_) => return NextRune::Rune(0xfffd, 1),
    };
    let c = valid.chars().next().unwrap();
    NextRune::Rune(c as u32, c.len_utf8())
}

/// fmt's `isSpace`.
fn is_space(r: u32) -> bool {
    matches!(r, 0x09..=0x0d | 0x20 | 0x85 | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029)
        || matches!(r, 0x202f | 0x205f | 0x3000)
}

impl Default for HeaderScanner {
    fn default() -> Self {
        HeaderScanner {
            at: 0,
            started: false,
            value: 0,
            runes: 0,
            max_runes: 1 << 30,
            len: 0,
        }
    }
}

impl HeaderScanner {
    /// Consumes header bytes from the start of `data` (`eof`: nothing follows it). Returns
    /// the bytes consumed and, once decided, the minor version or Go's error message;
    /// `None`: feed the bytes after the consumed ones next.
    pub fn feed(&mut self, data: &[u8], eof: bool) -> (usize, Option<Result<u32, String>>) {
        use HeaderItem::*;
        const NL: u32 = '\n' as u32;
        const ZERO: u32 = '0' as u32;
        let mut i = 0;
        let bad = |i| (i, Some(Err(BAD_HEADER.to_string())));
        loop {
            let Some(&item) = HEADER_FORMAT.get(self.at) else {
                let v = self.value as u32;
                if !matches!(v, 11 | 19 | 21 | 22 | 23 | 25 | 26) {
                    return (
                        i,
                        Some(Err(format!(
                            "unknown or unsupported trace version go 1.{v}"
                        ))),
                    );
                }
                return (i, Some(Ok(v)));
            };
            let next = if self.runes >= self.max_runes {
                None
            } else {
                match next_rune(&data[i..], eof) {
                    NextRune::Rune(r, w) => Some((r, w)),
                    NextRune::End => None,
                    NextRune::NeedMore => return (i, None),
                }
            };
            let consume = match (item, next) {
                (Lit(c), Some((r, _))) if r == c as u32 => {
                    self.at += 1;
                    true
                }
                (Lit(_), _) => return bad(i),
                (Space, Some((r, _))) if is_space(r) && r != NL => {
                    self.started = true;
                    true
                }
                (Space, Some(_)) if !self.started => return bad(i),
                (Number, Some((r, _))) if !self.started && is_space(r) && r != NL => true,
                (Number, Some((r, _))) if (ZERO..ZERO + 10).contains(&r) => {
                    self.value = self.value * 10 + (r - ZERO) as u64;
                    if self.value > u32::MAX as u64 {
                        return bad(i);
                    }
                    self.started = true;
                    true
                }
                (Number, _) if !self.started => return bad(i),
                // The end of a space run or of the digits: the next item reads this rune.
                (Space | Number, _) => {
                    self.at += 1;
                    self.started = false;
                    false
                }
            };
            if consume {
                let w = next.map_or(0, |(_, w)| w);
                i += w;
                self.len += w;
                self.runes += 1;
            }
        }
    }
}

/// [`HeaderScanner`] over a whole input: the minor version and the header length, or
/// Go's error message.
pub fn parse_header(data: &[u8]) -> Result<(u32, usize), String> {
    let mut h = HeaderScanner::default();
    let (_, r) = h.feed(data, true);
    r.expect("a whole input always decides").map(|v| (v, h.len))
}

/// Maximum batch payload (Go's `tracev2.MaxBatchSize`).
pub const MAX_BATCH_SIZE: u64 = 64 << 10;
/// Maximum frames per stack (Go's `tracev2.MaxFramesPerStack`).
pub const MAX_FRAMES_PER_STACK: u64 = 128;
/// Maximum string length (Go's `tracev2.MaxEventTrailerDataSize`).
pub const MAX_STRING_SIZE: u64 = 1 << 10;

/// A batch, unparsed except for its header. Its data is `buf[start..start+len]` of the
/// buffer it was read into (see [`read_batch`]).
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    pub m: i64,
    pub time: u64,
    pub start: usize,
    pub len: usize,
    /// First data byte (classifies the batch), 0 if empty.
    pub first: u8,
    /// Absolute byte offset of the data in the input.
    pub offset: usize,
    pub exp: u8,
}

impl Batch {
    #[inline]
    fn first(&self) -> Option<u8> {
        (self.exp == 0 && self.len > 0).then_some(self.first)
    }
    pub fn is_strings(&self) -> bool {
        self.first() == Some(spec::EV_STRINGS)
    }
    pub fn is_stacks(&self) -> bool {
        self.first() == Some(spec::EV_STACKS)
    }
    pub fn is_cpu_samples(&self) -> bool {
        self.first() == Some(spec::EV_CPU_SAMPLES)
    }
    pub fn is_sync(&self, ver: u32) -> bool {
        match self.first() {
            Some(spec::EV_FREQUENCY) => ver < 25,
            Some(spec::EV_SYNC) => ver >= 25,
            _ => false,
        }
    }
    pub fn is_end_of_generation(&self) -> bool {
        self.first() == Some(spec::EV_END_OF_GENERATION)
    }
    /// The batch's data in the buffer it was read into.
    #[inline]
    pub fn data<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.start..self.start + self.len]
    }
}

/// Outcome of reading one batch, mirroring Go's `readBatch` (its `io.EOF` is `Eof`).
pub enum BatchRead {
    Ok {
        batch: Batch,
        gen: u64,
    },
    Eof,
    Err {
        msg: String,
        gen: u64,
        offset: usize,
    },
}

/// Go's `readBatch`: reads one batch header from `c` and appends its data to `buf`.
pub fn read_batch<S: Source>(c: &mut S, buf: &mut Vec<u8>) -> BatchRead {
    let start = c.pos();
    let Some(b) = c.read_byte() else {
        return BatchRead::Eof;
    };
    if b == spec::EV_END_OF_GENERATION {
        buf.push(b);
        return BatchRead::Ok {
            batch: Batch {
                m: -1,
                time: 0,
                start: buf.len() - 1,
                len: 1,
                first: b,
                offset: start,
                exp: 0,
            },
            gen: 0,
        };
    }
    if b != spec::EV_EVENT_BATCH && b != spec::EV_EXPERIMENTAL_BATCH {
        return BatchRead::Err {
            msg: format!("expected batch event, got event {b}"),
            gen: 0,
            offset: start,
        };
    }
    let mut exp = 0u8;
    if b == spec::EV_EXPERIMENTAL_BATCH {
        match c.read_byte() {
            Some(e) => exp = e,
            // Go returns the bare io.EOF here, which its callers take as a clean end.
            None => return BatchRead::Eof,
        }
    }
    macro_rules! field {
        ($what:literal, $gen:expr) => {
            match c.read_uvarint() {
                Ok(v) => v,
                Err(e) => {
                    return BatchRead::Err {
                        msg: format!(
                            concat!("error reading batch ", $what, ": {}"),
                            e.go_message()
                        ),
                        gen: $gen,
                        offset: c.pos(),
                    }
                }
            }
        };
    }
    let gen = field!("gen", 0);
    let m = field!("M ID", gen);
    let ts = field!("timestamp", gen);
    let size = field!("size", gen);
    if size > MAX_BATCH_SIZE {
        return BatchRead::Err {
            msg: format!("invalid batch size {size}, maximum is {MAX_BATCH_SIZE}"),
            gen,
            offset: c.pos(),
        };
    }
    let off = c.pos();
    let at = buf.len();
    let got = c.read_into(size as usize, buf);
    if got as u64 != size {
        buf.truncate(at);
        return BatchRead::Err {
            msg: format!("failed to read full batch: read {got} but wanted {size}"),
            gen,
            offset: off,
        };
    }
    BatchRead::Ok {
        batch: Batch {
            m: m as i64,
            time: ts,
            start: at,
            len: got,
            first: if got > 0 { buf[at] } else { 0 },
            offset: off,
            exp,
        },
        gen,
    }
}

#[cfg(test)]
mod tests;
