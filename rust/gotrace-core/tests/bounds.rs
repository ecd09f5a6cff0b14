//! Memory bombs: tiny inputs whose length and count fields claim gigabytes (a 4 GB batch,
//! a stack of 2^32 frames, a 4 GB string, IDs near 2^32) fail fast with a format error,
//! and the peak heap use of parsing them — and of analysing a valid trace with huge
//! goroutine, proc and thread IDs — stays under 10 MB, measured by a counting allocator.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use gotrace_core::wire::spec::*;
use gotrace_core::{parse, ErrorKind};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` was allocated by `alloc` above with layout `l`.
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: as for `alloc`/`dealloc`; the system allocator does the move.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = CURRENT.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                CURRENT.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Tests in this file run one at a time, so the counters see only one of them.
static SERIAL: Mutex<()> = Mutex::new(());

const LIMIT: usize = 10 << 20;

/// Peak heap growth (bytes) while `f` runs, and its result.
fn peak_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (PEAK.load(Relaxed) - base, out)
}

fn bomb(name: &str, input: &[u8], kind: ErrorKind, message: &str) {
    assert!(input.len() <= 200, "{name}: {} bytes", input.len());
    let t0 = Instant::now();
    let (peak, t) = peak_of(|| parse(input));
    let e = t.error.as_ref().unwrap_or_else(|| panic!("{name}: parses"));
    assert_eq!(e.kind, kind, "{name}: {e:?}");
    assert!(e.message.contains(message), "{name}: {e:?}");
    assert!(e.offset.is_some(), "{name}: {e:?}");
    assert!(peak < LIMIT, "{name}: peak heap {peak} bytes");
    // The streaming reader has a 1 MiB buffer of its own.
    let (peak, s) = peak_of(|| gotrace_core::parse_read(input, input.len()));
    assert_eq!(
        s.error.as_ref().map(|e| &e.message),
        Some(&e.message),
        "{name}"
    );
    assert!(peak < LIMIT, "{name}: streamed, peak heap {peak} bytes");
    assert!(t0.elapsed() < Duration::from_secs(1), "{name}: slow");
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn v(x: u64) -> Vec<u8> {
    let mut b = Vec::new();
    uv(&mut b, x);
    b
}

#[test]
fn v2_bombs_fail_fast_in_little_memory() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for ver in [22, 26] {
        let h = header(ver);
        // A batch claiming 4 GB of data.
        let mut b = vec![EV_EVENT_BATCH, 1, 1, 1];
        b.extend(v(4 << 30));
        b.extend([0u8; 80]);
        bomb(
            "4 GB batch",
            &cat(&[&h, &b]),
            ErrorKind::Format,
            "invalid batch size",
        );
        // A stack of 2^32 frames.
        let d = cat(&[&[EV_STACKS, EV_STACK], &v(1), &v(1 << 32), &[0u8; 40]]);
        bomb(
            "2^32 frames",
            &cat(&[&h, &batch(1, NONE, 1, &d)]),
            ErrorKind::Format,
            "invalid stack size",
        );
        // A 4 GB string.
        let d = cat(&[&[EV_STRINGS, EV_STRING], &v(1), &v(4 << 30), b"abc"]);
        bomb(
            "4 GB string",
            &cat(&[&h, &batch(1, NONE, 1, &d)]),
            ErrorKind::Format,
            "invalid string size",
        );
        // Strings and stacks with IDs near 2^32 and 10^9, a CPU sample with huge values,
        // then no frequency: the tables hold a few entries, not billions of slots.
        let mut d = vec![EV_STRINGS];
        for id in [1_000_000_000u64, (1 << 32) - 1, u64::MAX] {
            d.push(EV_STRING);
            d.extend(v(id));
            d.extend(v(1));
            d.push(b'x');
        }
        let mut s = vec![EV_STACKS, EV_STACK];
        s.extend(cat(&[
            &v(1_000_000_000),
            &v(1),
            &v(u64::MAX),
            &v(u64::MAX),
            &v(1 << 32),
            &v(9),
        ]));
        let c = cat(&[
            &[EV_CPU_SAMPLES, EV_CPU_SAMPLE],
            &v(1 << 60),
            &v(1 << 40),
            &v(1 << 40),
            &v(1 << 40),
            &v(1_000_000_000),
        ]);
        let input = cat(&[
            &h,
            &batch(1, NONE, 1, &d),
            &batch(1, NONE, 1, &s),
            &batch(1, NONE, 1, &c),
        ]);
        let (peak, t) = peak_of(|| parse(&input));
        assert!(peak < LIMIT, "huge table IDs: peak heap {peak} bytes");
        // Go: before 1.26 a generation needs a frequency; from 1.26 a generation without
        // event batches ends the trace cleanly (one Sync).
        assert_eq!(t.events.len(), 1);
        if ver < 26 {
            let e = t.error.expect("no frequency");
            assert_eq!(e.message, "no frequency event found");
            assert_eq!(e.generation, Some(1));
        } else {
            assert!(t.error.is_none(), "{:?}", t.error);
        }
    }
}

/// A v1 event batch header for P 0 at tick 1, and a frequency event.
fn v1_start() -> Vec<u8> {
    let mut b = b"go 1.21 trace\0\0\0".to_vec();
    b.extend([0x40 | 1, 0, 1]); // EvBatch p=0 ticks=1
    b.extend([2]); // EvFrequency
    b.extend(v(1_000_000_000));
    b
}

#[test]
fn v1_bombs_fail_fast_in_little_memory() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A 1 GB string (Go's limit is 1e6 bytes; the input has 3).
    let input = cat(&[&v1_start(), &[37], &v(1), &v(1_000_000_000), b"abc"]);
    bomb(
        "1 GB v1 string",
        &input,
        ErrorKind::Format,
        "failed to read trace",
    );
    // A stack claiming 2^32 frames (args are length-prefixed: 3 << 6 | type).
    let args = cat(&[&v(1), &v(1 << 32), &v(0)]);
    let input = cat(&[&v1_start(), &[0xc0 | 3], &v(args.len() as u64), &args]);
    bomb(
        "2^32 v1 frames",
        &input,
        ErrorKind::Format,
        "EvStack has bad number of frames",
    );
    // A length-prefixed argument list of 4 GB.
    let input = cat(&[&v1_start(), &[0xc0 | 3], &v(4 << 30), &[0u8; 30]]);
    bomb(
        "4 GB v1 args",
        &input,
        ErrorKind::Format,
        "length-prefixed argument too big",
    );
    // A user log message of 1 GB.
    let args = cat(&[&v(0), &v(1), &v(0), &v(0)]);
    let input = cat(&[
        &v1_start(),
        &[0xc0 | 48],
        &v(args.len() as u64),
        &args,
        &v(1_000_000_000),
        b"ab",
    ]);
    bomb(
        "1 GB v1 log message",
        &input,
        ErrorKind::Format,
        "string is too large",
    );
}

#[test]
fn huge_ids_in_a_valid_trace_stay_small_through_the_analyses() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Goroutine IDs just under 2^22 and 2^32 and at 2^40, a proc ID near 2^31, an OS
    // thread ID of 4 million: every table keyed by them must stay small.
    let (g1, g2, g3) = ((1u64 << 22) - 1, (1u64 << 32) - 1, 1u64 << 40);
    let p = (1u64 << 31) - 5;
    let m = 4_000_000u64;
    let evs = vec![
        ev(100, EV_PROC_STATUS, &[p, 1]),
        ev(101, EV_GO_STATUS, &[g1, NONE, 2]), // Running on this M
        ev(102, EV_GO_STATUS, &[g2, NONE, 1]), // Runnable
        ev(103, EV_GO_STATUS, &[g3, NONE, 4]), // Waiting
        ev(110, EV_GO_UNBLOCK, &[g3, 1, 0]),
        ev(120, EV_GO_STOP, &[1, 0]),
        ev(130, EV_GO_START, &[g2, 1]),
        ev(140, EV_GO_DESTROY, &[]),
        ev(150, EV_GO_START, &[g3, 2]),
        ev(160, EV_GO_BLOCK, &[1, 0]),
        ev(170, EV_PROC_STOP, &[]),
    ];
    let input = one_gen_trace(26, &[(1, b"sleep")], &[], &[(m, evs)]);
    let (peak, t) = peak_of(|| parse(&input));
    assert!(t.error.is_none(), "{:?}", t.error);
    let mut dump = Vec::new();
    gotrace_core::export::tsv::write_events(&t, &mut dump, 0, t.events.len()).unwrap();
    assert_eq!(String::from_utf8(dump).unwrap(), HUGE_IDS_GO);
    assert!(peak < LIMIT, "parse: peak heap {peak} bytes");
    let (peak, a) = peak_of(|| gotrace_core::analysis::summary::analyze(&t));
    assert!(peak < LIMIT, "analysis: peak heap {peak} bytes");
    assert_eq!(a.goroutines.len(), 3);
    let (peak, u) =
        peak_of(|| gotrace_core::analysis::mmu::mutator_utilization(&t, 1 | 2 | 4 | 16));
    assert!(peak < LIMIT, "mutator utilization: peak heap {peak} bytes");
    assert!(u.is_ok());
}

/// `tracecheck events` (Go's parser) on the trace of the test above.
const HUGE_IDS_GO: &str = "\
100\tSync\t-1\t-1\t-1\t-\t1\t100\t1\t2000000003\n\
101\tStateTransition\t-1\t-1\t4000000\t-\tProc\t2147483643\tUndetermined\tRunning\t\t-\n\
102\tStateTransition\t-1\t2147483643\t4000000\t-\tGoroutine\t4194303\tUndetermined\tRunning\t\t-\n\
103\tStateTransition\t4194303\t2147483643\t4000000\t-\tGoroutine\t4294967295\tUndetermined\tRunnable\t\t-\n\
104\tStateTransition\t4194303\t2147483643\t4000000\t-\tGoroutine\t1099511627776\tUndetermined\tWaiting\t\t-\n\
110\tStateTransition\t4194303\t2147483643\t4000000\t-\tGoroutine\t1099511627776\tWaiting\tRunnable\t\t-\n\
120\tStateTransition\t4194303\t2147483643\t4000000\t-\tGoroutine\t4194303\tRunning\tRunnable\tsleep\t-\n\
130\tStateTransition\t-1\t2147483643\t4000000\t-\tGoroutine\t4294967295\tRunnable\tRunning\t\t-\n\
140\tStateTransition\t4294967295\t2147483643\t4000000\t-\tGoroutine\t4294967295\tRunning\tNotExist\t\t-\n\
150\tStateTransition\t-1\t2147483643\t4000000\t-\tGoroutine\t1099511627776\tRunnable\tRunning\t\t-\n\
160\tStateTransition\t1099511627776\t2147483643\t4000000\t-\tGoroutine\t1099511627776\tRunning\tWaiting\tsleep\t-\n\
170\tStateTransition\t-1\t2147483643\t4000000\t-\tProc\t2147483643\tRunning\tIdle\t\t-\n\
171\tSync\t-1\t-1\t-1\t-\t2\t-\t-\t-\n\
";
