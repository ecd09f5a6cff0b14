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
