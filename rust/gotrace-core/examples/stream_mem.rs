//! `cargo run --release --example stream_mem -- FILE [THREADS]`: peak heap bytes (a
//! counting allocator) of a streaming goroutine heatmap over FILE held in memory, the
//! input itself excluded, and the largest generation (bytes, events). With TRACE_MEM
//! set: the heap in use at each generation and the net growth of the heatmap's state.
//! With PIPELINED set: the heatmap's analysis on a thread of its own
//! (`drain_pipelined_to`), which also makes the rows (LATE=0: the reader makes them) and
//! takes them one at a time, never stored (BYROW=0: stored first, then taken).
//! SPEC=0/1 turns the reader's speculation off/on.
//! `stream_mem FILE THREADS summary`: the same for the streaming summary (no intervals).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use gotrace_core::analysis::heat::{By, HeatSpec, HeatStream, Sort, Value};
use gotrace_core::stream::{drain, Consumer, DRAINED};

struct Counting;
static CUR: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let n = CUR.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(n, Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CUR.fetch_sub(l.size(), Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let n = CUR.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(n, Relaxed);
        } else {
            CUR.fetch_sub(l.size() - new, Relaxed);
        }
        // SAFETY: forwarded as received.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: stream_mem FILE [THREADS]");
    let threads: Option<usize> = args.next().map(|s| s.parse().unwrap());
    let data = std::fs::read(&path).expect("read");
    match std::env::var("SPEC").as_deref() {
        Ok("0") => gotrace_core::reader::set_speculation(Some(false)),
        Ok("1") => gotrace_core::reader::set_speculation(Some(true)),
        _ => {}
    }
    if args.next().as_deref() == Some("summary") {
        return summary(&path, &data, threads);
    }
    let t = gotrace_core::parse_with(&data[..64.min(data.len())], &DRAINED, &mut |_, _| true);
    let (t0, t1) = gotrace_core::stream::v2_extent(&data).unwrap_or((0, 1));
    let edges: Vec<i64> = (0..=1000).map(|i| t0 + (t1 - t0) * i / 1000).collect();
    let spec = HeatSpec {
        by: By::Goroutine,
        states: vec![gotrace_core::store::gostate::RUNNING],
        value: Value::Time,
        edges,
        top: Some(30),
        sort: Sort::Total,
    };
    let base = CUR.load(Relaxed);
    PEAK.store(base, Relaxed);
    let pipelined = std::env::var_os("PIPELINED").is_some();
    let opts = gotrace_core::ParseOptions {
        threads,
        // As `drain_threads` asks: the rows made on the consumer's thread (LATE=0: not).
        unconverted: pipelined && std::env::var("LATE").map_or(true, |v| v != "0"),
        // CHUNK=n: rows per hook call (default `CHUNK_ROWS`).
        chunk_rows: std::env::var("CHUNK").map_or(0, |v| v.parse().unwrap()),
        ..DRAINED
    };
    let mut heat = HeatStream::new(t.version.max(22), spec);
    let (mut last, mut big_bytes, mut big_evs) = (0u64, 0u64, 0usize);
    let evs = std::cell::Cell::new(0usize);
    let heat_net = std::cell::Cell::new(0isize);
    let total = std::cell::Cell::new(0usize);
    let start = Instant::now();
    let trace = if pipelined {
        let mut n = 0usize;
        let mut feed_s = 0f64;
        let mut consumer_s = 0f64;
        let reader_start = gotrace_core::thread_cpu();
        // The heatmap takes the rows one at a time as they are made (BYROW=0: stored).
        struct Heat<'a, F> {
            heat: &'a mut HeatStream,
            by_row: bool,
            rows: F,
            n: usize,
            cpu: f64,
        }
        impl<F: FnMut(&mut HeatStream, &gotrace_core::store::Trace)> Consumer for Heat<'_, F> {
            fn rows(&mut self, t: &gotrace_core::store::Trace) {
                (self.rows)(self.heat, t)
            }
            fn by_row(&mut self, t: &gotrace_core::store::Trace) -> bool {
                self.by_row && self.heat.by_row(t)
            }
            fn row(&mut self, r: &gotrace_core::store::Row, t: &gotrace_core::store::Trace) {
                self.n += 1;
                if self.n.is_multiple_of(65536) {
                    // (Up to the last 64k rows.)
                    self.cpu = gotrace_core::thread_cpu();
                }
                self.heat.row(r, t)
            }
        }
        let mut c = Heat {
            heat: &mut heat,
            by_row: std::env::var("BYROW").map_or(true, |v| v != "0"),
            rows: |heat: &mut HeatStream, t: &gotrace_core::store::Trace| {
                n += t.events.len();
                let s = gotrace_core::thread_cpu();
                heat.feed(t);
                // The consumer's thread is new: its CPU time so far, conversion included.
                consumer_s = gotrace_core::thread_cpu();
                feed_s += consumer_s - s;
            },
            n: 0,
            cpu: 0.0,
        };
        let t = gotrace_core::stream::drain_pipelined_to(
            |h| gotrace_core::parse_with(&data, &opts, h),
            &mut c,
            &mut |_, _| false,
        );
        let by_rows = c.n;
        if by_rows > 0 {
            eprintln!("{by_rows} events taken one row at a time");
            consumer_s = c.cpu;
        }
        n += by_rows;
        total.set(n);
        let reader_s = gotrace_core::thread_cpu() - reader_start;
        eprintln!(
            "CPU: reader thread {reader_s:.3} s; consumer thread {:.3} s, of which \
             {feed_s:.3} s in HeatStream::feed",
            consumer_s
        );
        t
    } else {
        drain(
            |h| gotrace_core::parse_with(&data, &opts, h),
            &mut |t| {
                evs.set(evs.get() + t.events.len());
                total.set(total.get() + t.events.len());
                let b = CUR.load(Relaxed) as isize;
                heat.feed(t);
                heat_net.set(heat_net.get() + CUR.load(Relaxed) as isize - b);
            },
            &mut |_, done| {
                big_bytes = big_bytes.max(done - last);
                big_evs = big_evs.max(evs.get());
                last = done;
                if std::env::var_os("TRACE_MEM").is_some() {
                    eprintln!(
                        "{done} cur {:.1} MB heat {:.1} MB",
                        (CUR.load(Relaxed) - base) as f64 / 1e6,
                        heat_net.get() as f64 / 1e6
                    );
                }
                evs.set(0);
                false
            },
        )
    };
    let mb = |x: usize| (x - base) as f64 / 1e6;
    eprintln!("after drain: {:.1} MB", mb(CUR.load(Relaxed)));
    let h = heat.finish(&trace);
    eprintln!("after finish: {:.1} MB", mb(CUR.load(Relaxed)));
    let ev = trace.generations;
    let err = trace.error.clone();
    drop(trace);
    eprintln!(
        "after dropping the trace: {:.1} MB ({ev} generations)",
        mb(CUR.load(Relaxed))
    );
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{path}: {:.2} s, peak heap {:.1} MB over the input ({:.1} MB), largest generation {:.1} MB / {} events, {} events, error {:?}, rows {}",
        secs,
        (PEAK.load(Relaxed) - base) as f64 / 1e6,
        data.len() as f64 / 1e6,
        big_bytes as f64 / 1e6,
        big_evs,
        total.get(),
        err,
        h.matrix.row_ids.len()
    );
}

fn summary(path: &str, data: &[u8], threads: Option<usize>) {
    use gotrace_core::analysis::intervals::NoIntervals;
    use gotrace_core::analysis::summary::Analyzer;
    let base = CUR.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mb = |x: usize| (x - base) as f64 / 1e6;
    let opts = gotrace_core::ParseOptions { threads, ..DRAINED };
    let start = Instant::now();
    let mut an: Option<Analyzer<NoIntervals>> = None;
    let trace = drain(
        |h| gotrace_core::parse_with(data, &opts, h),
        &mut |t| {
            an.get_or_insert_with(|| Analyzer::new(t.version, NoIntervals))
                .feed(t)
        },
        &mut |_, done| {
            if std::env::var_os("TRACE_MEM").is_some() {
                eprintln!("{done} cur {:.1} MB", mb(CUR.load(Relaxed)));
            }
            false
        },
    );
    eprintln!("after drain: {:.1} MB", mb(CUR.load(Relaxed)));
    let a = an
        .unwrap_or_else(|| Analyzer::new(trace.version, NoIntervals))
        .finish_sink(&trace)
        .0;
    eprintln!("after finish: {:.1} MB", mb(CUR.load(Relaxed)));
    println!(
        "{path}: {:.2} s, peak heap {:.1} MB over the input ({:.1} MB), {} goroutines, error {:?}",
        start.elapsed().as_secs_f64(),
        mb(PEAK.load(Relaxed)),
        data.len() as f64 / 1e6,
        a.goroutines.len(),
        trace.error,
    );
}
