//! The header as Go reads it (`fmt.Fscanf(r, "go 1.%d trace\x00\x00\x00", &v)`): it has no
//! fixed length. Found by the `parse` fuzz target: a number of 83 digits made the streamed
//! reader (which looked at the first 64 bytes only) and the in-memory one disagree, and
//! neither followed Go. Expectations checked with `tracecheck events` (Go 1.27.3).

use gotrace_core::export::tsv::write_events;
use gotrace_core::{parse, parse_read, ErrorKind, Trace};

/// Hands out at most 5 bytes per read, so headers cross many buffer refills.
struct Trickle<'a>(&'a [u8]);
impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(5);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn dump(t: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    write_events(t, &mut out, 0, usize::MAX).unwrap();
    out
}

/// The in-memory reader and the streamed one (whole reads, and 5-byte reads).
fn both(data: &[u8]) -> [Trace; 3] {
    [
        parse(data),
        parse_read(data, data.len()),
        parse_read(Trickle(data), 0),
    ]
}

#[test]
fn padded_headers_read_as_go_reads_them() {
    let cases: [(&[u8], &[u8]); 2] = [
        (
            include_bytes!("data/go1.22.10-testprog-annotations.trace"),
            // U+3000 (ideographic space), 100 leading zeros, a space and a tab.
            b"go\xe3\x80\x80 1.",
        ),
        (include_bytes!("data/go1.21.13-cpu-small.trace"), b"go 1. "),
    ];
    for (orig, prefix) in cases {
        let want = parse(orig);
        assert!(want.error.is_none());
        let minor = &orig[5..7];
        let data = [prefix, &[b'0'; 100], minor, b" \t trace\0\0\0", &orig[16..]].concat();
        for t in both(&data) {
            assert_eq!(t.error, None);
            assert_eq!(t.version, want.version);
            assert_eq!(dump(&t), dump(&want));
        }
    }
}

#[test]
fn long_header_number_over_u32_is_bad_format() {
    // The fuzzer's input: `go 1.288...885 trace\0\0\0` (83 digits), then bytes.
    let data = [
        b"go 1.2".as_slice(),
        &[b'8'; 81],
        b"5 trace\0\0\0\x00\x01\x01\xff",
    ]
    .concat();
    for t in both(&data) {
        let e = t.error.expect("an error");
        assert_eq!(e.kind, ErrorKind::Format);
        assert_eq!(e.message, "bad file format: not a Go execution trace?");
        assert_eq!(e.offset, Some(0));
        assert_eq!(t.events.len(), 0);
    }
}
