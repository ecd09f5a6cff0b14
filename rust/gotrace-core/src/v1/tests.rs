//! Unit tests of the v1 decoder on hand-built traces: the old wire encoding (type byte
//! with a 2-bit argument count, varints, length-prefixed arguments, batches, strings,
//! stacks) and a table of malformed inputs with Go's error text, kind and offset.

use crate::error::ErrorKind;
use crate::store::EventKind;

use super::parse::*;

const H21: &[u8] = b"go 1.21 trace\0\0\0";
const H11: &[u8] = b"go 1.11 trace\0\0\0";

fn uv(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One event with inline arguments (at most 3 values: timestamp delta + args).
fn ev(typ: u8, args: &[u64]) -> Vec<u8> {
    assert!(!args.is_empty() && args.len() <= 3);
    let mut out = vec![typ | ((args.len() as u8 - 1) << 6)];
    for &a in args {
        uv(a, &mut out);
    }
    out
}

/// One event with length-prefixed arguments.
fn ev_long(typ: u8, args: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    for &a in args {
        uv(a, &mut body);
    }
    let mut out = vec![typ | (3 << 6)];
    uv(body.len() as u64, &mut out);
    out.extend_from_slice(&body);
    out
}

fn batch(p: u64, ts: u64) -> Vec<u8> {
    let mut out = vec![EV_BATCH | (1 << 6)];
    uv(p, &mut out);
    uv(ts, &mut out);
    out
}

fn string(id: u64, s: &[u8]) -> Vec<u8> {
    let mut out = vec![EV_STRING];
    uv(id, &mut out);
    uv(s.len() as u64, &mut out);
    out.extend_from_slice(s);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn kinds(t: &crate::Trace) -> Vec<u8> {
    t.events.kind.to_vec()
}

/// A small valid trace: one P that starts, runs goroutine 1 (created before the first
/// Gomaxprocs, so pre-init), which makes a syscall and blocks in a channel receive.
fn small_trace() -> Vec<u8> {
    small_trace_with(&[], &[])
}

/// [`small_trace`] with `after_stop` after its P's stop and `tail` at its end.
fn small_trace_with(after_stop: &[u8], tail: &[u8]) -> Vec<u8> {
    cat(&[
        H21,
        &batch(0, 1000),
        &ev(EV_PROC_START, &[0, 7]),
        &ev_long(EV_GO_CREATE, &[1, 1, 0, 0]),
        &ev(EV_GOMAXPROCS, &[2, 4, 0]),
        &ev(EV_GO_START, &[3, 1, 1]),
        &ev(EV_GO_SYS_CALL, &[4, 1]),
        &ev(EV_GO_BLOCK_RECV, &[5, 1]),
        &ev(EV_PROC_STOP, &[6]),
        after_stop,
        &ev(EV_FREQUENCY, &[1_000_000_000]),
        &ev_long(EV_STACK, &[1, 1, 0x1234, 1, 2, 42]),
        &string(1, b"main.f"),
        &string(2, b"main.go"),
        tail,
    ])
}

#[test]
fn varint_and_header_and_batches() {
    let t = crate::parse(&small_trace());
    assert!(t.error.is_none(), "{:?}", t.error);
    assert_eq!(t.version, 21);
    use EventKind::*;
    let want = [
        Sync,
        StateTransition, // ProcStart -> ProcStatus Undetermined->Running
        StateTransition, // pre-init goroutine 1 -> GoStatus Runnable at Gomaxprocs
        StateTransition, // GoStart
        StateTransition, // GoSyscallBegin
        StateTransition, // GoSyscallEnd (+1 ns)
        StateTransition, // GoBlock "chan receive"
        StateTransition, // ProcStop
        Sync,
    ];
    assert_eq!(kinds(&t), want.iter().map(|k| *k as u8).collect::<Vec<_>>());
    // Rebased to the first event, 1 tick = 1 ns; the syscall end is 1 ns after its begin.
    assert_eq!(
        t.events.time.to_vec(),
        vec![-1, 0, 3, 6, 10, 11, 15, 21, 22]
    );
    let mut out = Vec::new();
    crate::export::tsv::write_events(&t, &mut out, 0, usize::MAX).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "0\tStateTransition\t-1\t0\t7\t-\tProc\t0\tUndetermined\tRunning\t\t-"
    );
    assert_eq!(
        lines[2],
        "3\tStateTransition\t-1\t-1\t-1\t-\tGoroutine\t1\tUndetermined\tRunnable\t\t-"
    );
    assert_eq!(
        lines[6],
        "15\tStateTransition\t1\t0\t7\tmain.f\tGoroutine\t1\tRunning\tWaiting\tchan receive\tmain.f"
    );
    assert_eq!(lines[8], "22\tSync\t-1\t-1\t-1\t-\t2\t-\t-\t-");
}

#[test]
fn go111_accepts_old_types_only() {
    // CPUSample (type 49) only exists from Go 1.19 on.
    let t = crate::parse(&cat(&[
        H11,
        &batch(0, 1),
        &ev_long(EV_CPU_SAMPLE, &[0, 1, 0, 0, 0]),
    ]));
    let e = t.error.unwrap();
    assert_eq!(e.message, "unknown event type 49");
    assert_eq!(e.offset, Some(16 + 3));
}

#[test]
fn float_conversion_matches_go_amd64() {
    assert_eq!(go_f64_to_i64(1.9), 1);
    assert_eq!(go_f64_to_i64(-1.9), -1);
    assert_eq!(go_f64_to_i64(1e19), i64::MIN);
    assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    kind: ErrorKind,
    message: &'static str,
    offset: Option<u64>,
}

#[test]
fn malformed_inputs() {
    let f = ErrorKind::Format;
    let v = ErrorKind::Validation;
    let cases = vec![
        Case {
            name: "header only",
            input: H21.to_vec(),
            kind: v,
            message: "no EvFrequency event",
            offset: None,
        },
        Case {
            name: "unknown type",
            input: cat(&[H21, &[0x3f]]),
            kind: f,
            message: "unknown event type 63",
            offset: Some(16),
        },
        Case {
            name: "type 0",
            input: cat(&[H21, &batch(0, 1), &[0]]),
            kind: f,
            message: "unknown event type 0",
            offset: Some(19),
        },
        Case {
            name: "batch with one argument",
            input: cat(&[H21, &[EV_BATCH, 0]]),
            kind: f,
            message: "EvBatch has wrong number of arguments: got 1, want 2",
            offset: Some(16),
        },
        Case {
            name: "event before any batch",
            input: cat(&[H21, &ev(EV_FREQUENCY, &[1])]),
            kind: f,
            message: "read event 2 with current P of 0, but P has no batches yet",
            offset: Some(16),
        },
        Case {
            name: "truncated varint",
            input: cat(&[H21, &batch(0, 1), &[EV_PROC_START | (1 << 6), 0x80]]),
            kind: f,
            message: "failed to read event 5 argument: malformatted base-128 varint",
            offset: Some(19),
        },
        Case {
            name: "11-byte varint",
            input: cat(&[H21, &batch(0, 1), &[EV_PROC_STOP], &[0xff; 11]]),
            kind: f,
            message: "failed to read event 6 argument: malformatted base-128 varint",
            offset: Some(19),
        },
        Case {
            name: "length prefix too big",
            input: cat(&[H21, &batch(0, 1), &[EV_GO_CREATE | (3 << 6), 0xb8, 0x17]]),
            kind: f,
            message: "failed to read event 13 argument: length-prefixed argument too big: 3000 bytes, limit is 2048",
            offset: Some(19),
        },
        Case {
            name: "length prefix past the end",
            input: cat(&[H21, &batch(0, 1), &[EV_GO_CREATE | (3 << 6), 100, 1]]),
            kind: f,
            message: "failed to read trace: EOF",
            offset: Some(19),
        },
        Case {
            name: "hostile string length",
            input: cat(&[H21, &batch(0, 1), &[EV_STRING, 1, 0xff, 0xff, 0xff, 0x7f]]),
            kind: f,
            message: "failed to read trace: EOF",
            offset: Some(19),
        },
        Case {
            name: "processor ID too large",
            input: cat(&[H21, &batch(1 << 31, 1)]),
            kind: f,
            message: "processor ID 2147483648 is larger than maximum of 18446744073709551615",
            offset: Some(16),
        },
        Case {
            name: "wrong argument count",
            input: cat(&[H21, &batch(0, 1), &ev(EV_GC_START, &[1])]),
            kind: f,
            message: "GCStart has wrong number of arguments: want 3, got 1",
            offset: Some(19),
        },
        Case {
            name: "duplicate string",
            input: cat(&[H21, &batch(0, 1), &string(1, b"a"), &string(1, b"b")]),
            kind: f,
            message: "string has duplicate id 1",
            offset: Some(23),
        },
        Case {
            name: "string id 0",
            input: cat(&[H21, &batch(0, 1), &string(0, b"a")]),
            kind: f,
            message: "string has invalid id 0",
            offset: Some(19),
        },
        Case {
            name: "too many frames",
            input: cat(&[H21, &batch(0, 1), &ev(EV_STACK, &[1, 1001])]),
            kind: f,
            message: "EvStack has bad number of frames: 1001",
            offset: Some(19),
        },
        Case {
            name: "stack argument count",
            input: cat(&[H21, &batch(0, 1), &ev_long(EV_STACK, &[1, 2, 0, 0, 0, 0])]),
            kind: f,
            message: "EvStack has wrong number of arguments: want 10, got 6",
            offset: Some(19),
        },
        Case {
            name: "zero frequency",
            input: cat(&[H21, &batch(0, 1), &ev(EV_FREQUENCY, &[0])]),
            kind: f,
            message: "time stamps out of order",
            offset: Some(19),
        },
        Case {
            name: "no frequency",
            input: cat(&[H21, &batch(0, 1), &ev(EV_PROC_START, &[0, 1])]),
            kind: v,
            message: "no EvFrequency event",
            offset: None,
        },
        Case {
            name: "P stopped twice",
            input: cat(&[
                H21,
                &batch(0, 1),
                &ev(EV_FREQUENCY, &[1]),
                &ev(EV_PROC_START, &[0, 1]),
                &ev(EV_PROC_STOP, &[1]),
                &ev(EV_PROC_STOP, &[1]),
            ]),
            kind: v,
            message: "p 0 is not running before stop (time 2000000000)",
            offset: None,
        },
        Case {
            name: "unblock of a goroutine that is not waiting",
            input: cat(&[
                H21,
                &batch(0, 1),
                &ev(EV_FREQUENCY, &[1_000_000_000]),
                &ev(EV_GO_START, &[1, 5, 0]),
            ]),
            kind: v,
            message: "no consistent ordering of events possible",
            offset: None,
        },
    ];
    for c in cases {
        let t = crate::parse(&c.input);
        let e = t.error.unwrap_or_else(|| panic!("{}: no error", c.name));
        assert_eq!(e.message, c.message, "{}", c.name);
        assert_eq!(e.kind, c.kind, "{}", c.name);
        assert_eq!(e.offset, c.offset, "{}", c.name);
        // Go's v1 parser fails before yielding any event.
        assert_eq!(t.events.len(), 0, "{}", c.name);
    }
}

/// Go resolves stacks (and their frames' strings) only for events it emits: a bad frame
/// behind the dropped first Gomaxprocs is harmless, behind an emitted event it is Go's
/// panic, reported after the events before it.
#[test]
fn bad_frame_strings_only_matter_for_emitted_events() {
    let with_stack = |gomaxprocs_stk: u64, block_stk: u64| {
        cat(&[
            H21,
            &batch(0, 1000),
            &ev(EV_PROC_START, &[0, 7]),
            &ev_long(EV_GO_CREATE, &[1, 1, 0, 0]),
            &ev(EV_GOMAXPROCS, &[2, 4, gomaxprocs_stk]),
            &ev(EV_GO_START, &[3, 1, 1]),
            &ev(EV_GO_BLOCK_RECV, &[5, block_stk]),
            &ev(EV_FREQUENCY, &[1_000_000_000]),
            &ev_long(EV_STACK, &[1, 1, 0x1234, 1, 2, 42]),
            &ev_long(EV_STACK, &[2, 1, 0x5678, 99, 2, 43]),
            &string(1, b"main.f"),
            &string(2, b"main.go"),
        ])
    };
    let t = crate::parse(&with_stack(2, 1));
    assert!(t.error.is_none(), "{:?}", t.error);
    let t = crate::parse(&with_stack(1, 2));
    let e = t.error.expect("bad top frame of an emitted event");
    assert_eq!(
        e.message,
        "panic in trace parser: expected id 99 in string table"
    );
    // Sync, ProcStatus, GoStatus (pre-init), GoStart; the block is not emitted.
    assert_eq!(t.events.len(), 4);
}

/// A conversion that fails (or ends) far below the table's estimated size must not leave
/// the helper thread that faults in pages ahead of it waiting for rows that never come:
/// with two threads this parse used to hang. The parse runs on its own thread here so
/// that a regression fails the test instead of hanging it.
#[test]
fn early_conversion_error_with_a_helper_thread_ends() {
    let mut parts: Vec<Vec<u8>> = vec![
        H21.to_vec(),
        batch(0, 1000),
        ev(EV_PROC_START, &[0, 7]),
        ev_long(EV_GO_CREATE, &[1, 1, 0, 0]),
        ev(EV_GOMAXPROCS, &[2, 4, 1]),
        ev(EV_GO_START, &[3, 1, 1]),
        ev(EV_GO_BLOCK_RECV, &[5, 2]),
    ];
    // 1.5 M more events the conversion never reaches: the table is sized for them, and
    // the prefault job may run up to 1 M rows ahead of the writer.
    parts.extend(std::iter::repeat_n(ev(EV_HEAP_ALLOC, &[1, 5]), 1_500_000));
    parts.extend([
        ev(EV_FREQUENCY, &[1_000_000_000]),
        ev_long(EV_STACK, &[1, 1, 0x1234, 1, 2, 42]),
        ev_long(EV_STACK, &[2, 1, 0x5678, 99, 2, 43]),
        string(1, b"main.f"),
        string(2, b"main.go"),
    ]);
    let data = parts.concat();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opts = crate::ParseOptions::threads(Some(2));
        let t = crate::parse_with(&data, &opts, &mut |_, _| false);
        let _ = tx.send(t);
    });
    let t = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the parse with a helper thread did not end");
    let e = t.error.expect("bad top frame of an emitted event");
    assert_eq!(
        e.message,
        "panic in trace parser: expected id 99 in string table"
    );
    assert_eq!(t.events.len(), 4);
}

/// Go's parse, whose checks after the re-sort run while the events are replayed here,
/// fails before its converter counts the strings: with a string ID too large for the
/// converter's own strings and a P stopped twice, the error is the second stop's
/// (`tracecheck events` of this trace prints that line and no event).
#[test]
fn checks_after_the_resort_fail_before_the_string_count() {
    let data = small_trace_with(&ev(EV_PROC_STOP, &[7]), &string(u64::MAX - 3, b"x"));
    for threads in [1, 2] {
        let opts = crate::ParseOptions::threads(Some(threads));
        let t = crate::parse_with(&data, &opts, &mut |_, _| false);
        let e = t.error.expect("a failed check");
        assert_eq!(e.message, "p 0 is not running before stop (time 28)");
        assert_eq!(t.events.len(), 0);
    }
}
