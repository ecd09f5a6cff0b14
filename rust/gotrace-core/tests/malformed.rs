//! Malformed inputs through the whole parser: the error kind, Go's message, the byte
//! offset, and the events Go yields before failing. Runs without Python.

use gotrace_core::{parse, ErrorKind, EventKind};

const H26: &[u8] = b"go 1.26 trace\0\0\0";
const H25: &[u8] = b"go 1.25 trace\0\0\0";
const H22: &[u8] = b"go 1.22 trace\0\0\0";

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `EvEventBatch gen m ts size data`.
fn batch(gen: u8, m: u8, ts: u8, data: &[u8]) -> Vec<u8> {
    let mut b = vec![1, gen, m, ts, data.len() as u8];
    b.extend_from_slice(data);
    b
}

/// A sync batch with frequency 1e9 (1 tick = 1 ns) and, for 1.25+, a clock snapshot.
fn sync_batch(gen: u8, ver: u32) -> Vec<u8> {
    // Frequency 1_000_000_000 as a uvarint.
    let freq = [8u8, 0x80, 0x94, 0xeb, 0xdc, 0x03];
    let mut data = Vec::new();
    if ver >= 25 {
        data.push(50); // EvSync
        data.extend_from_slice(&freq);
        data.extend_from_slice(&[51, 0, 1, 2, 3]); // EvClockSnapshot dt mono sec nsec
    } else {
        data.extend_from_slice(&freq);
    }
    batch(gen, 0, 1, &data)
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    kind: ErrorKind,
    message: &'static str,
    offset: Option<u64>,
    /// Event kinds yielded before the error.
    events: &'static [EventKind],
}

#[test]
fn malformed_inputs() {
    use EventKind::Sync;
    let cases = vec![
        Case {
            name: "empty",
            input: vec![],
            kind: ErrorKind::Format,
            message: "bad file format: not a Go execution trace?",
            offset: Some(0),
            events: &[],
        },
        Case {
            name: "not a trace",
            input: b"PK\x03\x04 some zip".to_vec(),
            kind: ErrorKind::Format,
            message: "bad file format: not a Go execution trace?",
            offset: Some(0),
            events: &[],
        },
        Case {
            name: "unknown version",
            input: b"go 1.24 trace\0\0\0".to_vec(),
            kind: ErrorKind::UnsupportedVersion,
            message: "unknown or unsupported trace version go 1.24",
            offset: Some(0),
            events: &[],
        },
        Case {
            name: "header only, before 1.26",
            input: H25.to_vec(),
            kind: ErrorKind::Format,
            message: "no frequency event found",
            offset: Some(16),
            events: &[Sync],
        },
        Case {
            name: "not a batch",
            input: cat(&[H26, &[9]]),
            kind: ErrorKind::Format,
            message: "expected batch event, got event 9",
            offset: Some(16),
            events: &[Sync],
        },
        Case {
            name: "truncated batch header",
            input: cat(&[H26, &[1, 1, 0x80]]),
            kind: ErrorKind::Format,
            message: "error reading batch M ID: unexpected EOF",
            offset: Some(19),
            events: &[Sync],
        },
        Case {
            name: "batch size over the limit",
            input: cat(&[H26, &[1, 1, 1, 1, 0x81, 0x80, 0x04]]),
            kind: ErrorKind::Format,
            message: "invalid batch size 65537, maximum is 65536",
            offset: Some(23),
            events: &[Sync],
        },
        Case {
            name: "truncated batch data",
            input: cat(&[H26, &[1, 1, 1, 1, 10, 0, 0]]),
            kind: ErrorKind::Format,
            message: "failed to read full batch: read 2 but wanted 10",
            offset: Some(21),
            events: &[Sync],
        },
        Case {
            name: "generation 0",
            input: cat(&[H22, &batch(0, 0, 1, &[11, 0])]),
            kind: ErrorKind::Format,
            message: "invalid generation number 0",
            offset: Some(21),
            events: &[Sync],
        },
        Case {
            name: "1.26 generation without end",
            input: cat(&[H26, &sync_batch(1, 26), &batch(1, 7, 1, &[11, 0])]),
            kind: ErrorKind::Format,
            message: "incomplete generation found; trace likely truncated",
            offset: None,
            events: &[Sync],
        },
        Case {
            name: "no clock snapshot in 1.25",
            input: cat(&[H25, &batch(1, 0, 1, &[50, 8, 1])]),
            kind: ErrorKind::Format,
            message: "no clock snapshot event found",
            offset: None,
            events: &[Sync],
        },
        Case {
            name: "string over the size limit",
            input: cat(&[
                H22,
                &sync_batch(1, 22),
                &batch(1, 0, 1, &[4, 5, 1, 0x81, 0x08]),
            ]),
            kind: ErrorKind::Format,
            message: "invalid string size 1025, maximum is 1024",
            offset: None,
            events: &[Sync],
        },
        Case {
            name: "ProcStop without a proc",
            input: cat(&[H22, &sync_batch(1, 22), &batch(1, 7, 1, &[11, 0])]),
            kind: ErrorKind::Validation,
            message: "event ProcStop for proc (-1) that doesn't exist",
            offset: None,
            events: &[Sync],
        },
        Case {
            name: "event type without a timestamp",
            input: cat(&[H22, &sync_batch(1, 22), &batch(1, 7, 1, &[7, 0])]),
            kind: ErrorKind::Format,
            message: "found event without a timestamp: type=7",
            offset: None,
            // The first event of each M is decoded before the generation's Sync is
            // emitted, so Go fails before yielding anything.
            events: &[],
        },
    ];
    for c in cases {
        let t = parse(&c.input);
        let e = t
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{}: expected an error", c.name));
        assert_eq!(e.kind, c.kind, "{}: {e:?}", c.name);
        assert_eq!(e.message, c.message, "{}", c.name);
        if c.offset.is_some() {
            assert_eq!(e.offset, c.offset, "{}: {e:?}", c.name);
        }
        let kinds: Vec<u8> = t.events.kind.clone();
        let want: Vec<u8> = c.events.iter().map(|k| *k as u8).collect();
        assert_eq!(kinds, want, "{}: events before the error", c.name);
    }
}

#[test]
fn header_only_126_is_an_empty_trace() {
    let t = parse(H26);
    assert!(t.error.is_none(), "{:?}", t.error);
    assert_eq!(t.events.kind, vec![EventKind::Sync as u8]);
}

#[test]
fn minimal_valid_trace() {
    // One generation: sync batch, then M 7 starts with ProcStatus(P0 Running), stops P0.
    let events = [13, 0, 0, 1, 11, 5];
    let input = cat(&[H22, &sync_batch(1, 22), &batch(1, 7, 10, &events)]);
    let t = parse(&input);
    assert!(t.error.is_none(), "{:?}", t.error);
    let e = &t.events;
    assert_eq!(
        e.kind,
        vec![
            EventKind::Sync as u8,
            EventKind::StateTransition as u8,
            EventKind::StateTransition as u8,
            EventKind::Sync as u8
        ]
    );
    // Sync at the smallest batch time (1 ns); events at 10 and 15 ns; final Sync at last+1.
    assert_eq!(e.time, vec![1, 10, 15, 16]);
    assert_eq!(e.m.to_vec(), [-1, 7, 7, -1]);
    assert_eq!(e.p.to_vec(), [-1, -1, 0, -1]);
    // ProcStatus in the first generation: Undetermined -> Running; ProcStop: Running -> Idle.
    use gotrace_core::store::procstate as P;
    assert_eq!((e.from[1], e.to[1]), (P::UNDETERMINED, P::RUNNING));
    assert_eq!((e.from[2], e.to[2]), (P::RUNNING, P::IDLE));
}

#[test]
fn hostile_lengths_do_not_allocate() {
    // A string batch claiming a string ID near u64::MAX and stack IDs far beyond the input:
    // must fail or succeed quickly without huge allocations (the test would abort on OOM).
    let mut data = vec![4u8, 5];
    data.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    data.extend_from_slice(&[1, b'x']);
    let input = cat(&[H22, &sync_batch(1, 22), &batch(1, 0, 1, &data)]);
    let t = parse(&input);
    assert!(t.error.is_none(), "{:?}", t.error);
}

#[test]
fn interrupt_stops_after_a_generation() {
    let data = include_bytes!("data/go1.25.5-mixed-small.trace");
    let full = parse(data);
    assert!(full.error.is_none());
    let mut calls = 0;
    let t = gotrace_core::parse_interruptible(data, &mut || {
        calls += 1;
        calls == 1
    });
    let e = t.error.expect("interrupted");
    assert_eq!(e.kind, ErrorKind::Interrupted);
    // The first generation's Sync was emitted, then the parse stopped.
    assert_eq!(t.events.kind, vec![EventKind::Sync as u8]);
    assert_eq!(t.events.time[0], full.events.time[0]);
}
