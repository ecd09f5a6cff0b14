use super::*;

#[test]
fn uvarint_matches_go() {
    assert_eq!(uvarint(&[0x00]), (0, 1));
    assert_eq!(uvarint(&[0x7f]), (127, 1));
    assert_eq!(uvarint(&[0x80, 0x01]), (128, 2));
    assert_eq!(uvarint(&[0xff, 0xff, 0x03]), (0xffff, 3));
    // Truncated: n == 0.
    assert_eq!(uvarint(&[0x80]), (0, 0));
    assert_eq!(uvarint(&[]), (0, 0));
    // u64::MAX takes 10 bytes, the last one being 1.
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_eq!(uvarint(&max), (u64::MAX, 10));
    // A 10th byte > 1 overflows, as does an 11th byte.
    let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    assert_eq!(uvarint(&over), (0, -10));
    assert_eq!(uvarint(&[0x80; 11]), (0, -11));
}

#[test]
fn read_uvarint_errors() {
    let mut c = Cursor::new(&[], 0);
    assert_eq!(c.read_uvarint(), Err(VarintErr::Eof));
    let mut c = Cursor::new(&[0x80], 0);
    assert_eq!(c.read_uvarint(), Err(VarintErr::UnexpectedEof));
    let mut c = Cursor::new(&[0x80; 12], 0);
    assert_eq!(c.read_uvarint(), Err(VarintErr::Overflow));
    let mut c = Cursor::new(&[0xac, 0x02, 0x05], 0);
    assert_eq!(c.read_uvarint(), Ok(300));
    assert_eq!(c.pos, 2);
}

#[test]
fn header() {
    assert_eq!(parse_header(b"go 1.26 trace\0\0\0rest"), Ok((26, 16)));
    assert_eq!(parse_header(b"go 1.22 trace\0\0\0"), Ok((22, 16)));
    assert_eq!(parse_header(b"go 1.11 trace\0\0\0"), Ok((11, 16)));
    assert_eq!(
        parse_header(b"go 1.24 trace\0\0\0"),
        Err("unknown or unsupported trace version go 1.24".to_string())
    );
    let bad = Err("bad file format: not a Go execution trace?".to_string());
    assert_eq!(parse_header(b""), bad);
    assert_eq!(parse_header(b"go 1.26 trace\0\0"), bad);
    assert_eq!(parse_header(b"PK\x03\x04"), bad);
    assert_eq!(parse_header(b"go 1.x trace\0\0\0"), bad);
}

/// Go's `fmt.Fscanf` rules, each case checked with `tracecheck events` (Go 1.27.3) on a
/// valid trace behind the header: accepted headers gave all its events, rejected ones
/// exactly this error.
#[test]
fn header_follows_fscanf() {
    let ok = |h: &[u8], v: u32| assert_eq!(parse_header(h), Ok((v, h.len())), "{h:?}");
    ok(b"go  1.22 trace\0\0\0", 22);
    ok(b"go 1.22  trace\0\0\0", 22);
    ok(b"go 1.22\ttrace\0\0\0", 22);
    ok(b"go 1.22\rtrace\0\0\0", 22);
    ok(b"go 1.22\x0btrace\0\0\0", 22);
    ok(b"go 1. 22 trace\0\0\0", 22);
    ok(b"go 1.\t22 trace\0\0\0", 22);
    ok(b"go 1.\r22 trace\0\0\0", 22);
    ok(b"go 1.0022 trace\0\0\0", 22);
    ok(
        &[b"go 1.".as_slice(), &[b'0'; 100], b"22 trace\0\0\0"].concat(),
        22,
    );
    ok(
        &[b"go".as_slice(), &[b' '; 100], b"1.22 trace\0\0\0"].concat(),
        22,
    );
    // Unicode spaces, read as UTF-8: U+00A0, U+3000, U+0085.
    ok(b"go\xc2\xa01.22 trace\0\0\0", 22);
    ok(b"go 1.22\xe3\x80\x80trace\0\0\0", 22);
    ok(b"go 1.22\xc2\x85trace\0\0\0", 22);

    let bad = Err("bad file format: not a Go execution trace?".to_string());
    for h in [
        b"go 1.+22 trace\0\0\0".as_slice(),
        b"go 1.-22 trace\0\0\0",
        b"go1.22 trace\0\0\0",
        b"go 1.22trace\0\0\0",
        b"go 1.\r\n22 trace\0\0\0",
        b"go 1.\n22 trace\0\0\0",
        b"go 1.22 \ntrace\0\0\0",
        b"go 1.22\xa0trace\0\0\0",      // not UTF-8: U+FFFD, not a space
        b"go 1.4294967318 trace\0\0\0", // 2^32 + 22
        b"go 1.4294967296 trace\0\0\0",
        b"go 1.99999999999999999999999 trace\0\0\0",
    ] {
        assert_eq!(parse_header(h), bad, "{h:?}");
    }
    let unknown = |v: &str| Err(format!("unknown or unsupported trace version go 1.{v}"));
    assert_eq!(
        parse_header(b"go 1.4294967295 trace\0\0\0"),
        unknown("4294967295")
    );
    let h = [b"go 1.".as_slice(), &[b'0'; 80], b"24 trace\0\0\0"].concat();
    assert_eq!(parse_header(&h), unknown("24"));
}

/// Fed in pieces of every size (as a stream is), the scanner decides as on the whole.
#[test]
fn header_in_pieces() {
    let headers: [&[u8]; 5] = [
        b"go 1.26 trace\0\0\0rest",
        b"go\xc2\xa0\xe3\x80\x80 1. \t0026\xe3\x80\x80 trace\0\0\0",
        b"go 1.26 trace\0\0",
        b"go 1.24 trace\0\0\0",
        b"go 1.26\xe3\x80",
    ];
    for h in headers {
        let whole = parse_header(h);
        for piece in 1..=h.len() {
            let mut sc = HeaderScanner::default();
            // Bytes not consumed (a rune cut in two) are fed again with the next piece.
            let (mut at, mut end) = (0, 0);
            let r = loop {
                end = (end + piece).min(h.len());
                let (n, r) = sc.feed(&h[at..end], end == h.len());
                at += n;
                if let Some(r) = r {
                    break r.map(|v| (v, sc.len));
                }
            };
            assert_eq!(r, whole, "{h:?} in pieces of {piece}");
        }
    }
}

/// fmt reads at most 2^30 runes, then acts as at the end of the input.
#[test]
fn header_rune_limit() {
    let h = b"go 1.  26 trace\0\0\0";
    for (max, ok) in [(h.len() as u64, true), (h.len() as u64 - 1, false)] {
        let mut sc = HeaderScanner {
            max_runes: max,
            ..HeaderScanner::default()
        };
        let (_, r) = sc.feed(h, true);
        assert_eq!(r.unwrap().is_ok(), ok, "max_runes {max}");
    }
}

#[test]
fn batch_framing() {
    // EvEventBatch gen=1 m=7 ts=100 size=2 data=[0xaa,0xbb], then EndOfGeneration.
    let data = [
        EV_EVENT_BATCH_BYTE,
        1,
        7,
        100,
        2,
        0xaa,
        0xbb,
        spec::EV_END_OF_GENERATION,
    ];
    // The same bytes through both sources give the same batches.
    let mut buf = Vec::new();
    let mut c = Cursor::new(&data, 0);
    let mut s = StreamSource::new(&data[..]);
    for round in 0..2 {
        buf.clear();
        let mut next = |buf: &mut Vec<u8>| {
            if round == 0 {
                read_batch(&mut c, buf)
            } else {
                read_batch(&mut s, buf)
            }
        };
        match next(&mut buf) {
            BatchRead::Ok { batch, gen } => {
                assert_eq!(gen, 1);
                assert_eq!(batch.m, 7);
                assert_eq!(batch.time, 100);
                assert_eq!(batch.data(&buf), &[0xaa, 0xbb]);
                assert_eq!(batch.offset, 5);
            }
            _ => panic!("expected a batch"),
        }
        match next(&mut buf) {
            BatchRead::Ok { batch, .. } => assert!(batch.is_end_of_generation()),
            _ => panic!("expected end of generation"),
        }
        assert!(matches!(next(&mut buf), BatchRead::Eof));
    }
}

const EV_EVENT_BATCH_BYTE: u8 = spec::EV_EVENT_BATCH;

#[test]
fn batch_framing_errors() {
    let cases: &[(&[u8], &str, usize)] = &[
        (&[9], "expected batch event, got event 9", 0),
        (&[1], "error reading batch gen: EOF", 1),
        (&[1, 0x80], "error reading batch gen: unexpected EOF", 2),
        (&[1, 1], "error reading batch M ID: EOF", 2),
        (&[1, 1, 1, 1], "error reading batch size: EOF", 4),
        (
            &[1, 1, 1, 1, 0x81, 0x80, 0x04],
            "invalid batch size 65537, maximum is 65536",
            7,
        ),
        (
            &[1, 1, 1, 1, 3, 0],
            "failed to read full batch: read 1 but wanted 3",
            5,
        ),
    ];
    for (input, msg, off) in cases {
        let mut c = Cursor::new(input, 0);
        match read_batch(&mut c, &mut Vec::new()) {
            BatchRead::Err { msg: m, offset, .. } => {
                assert_eq!(&m, msg, "input {input:?}");
                assert_eq!(offset, *off, "input {input:?}");
            }
            _ => panic!("expected an error for {input:?}"),
        }
    }
    // A truncated experimental batch header reads as a clean end, as in Go.
    let mut c = Cursor::new(&[spec::EV_EXPERIMENTAL_BATCH], 0);
    assert!(matches!(
        read_batch(&mut c, &mut Vec::new()),
        BatchRead::Eof
    ));
}
