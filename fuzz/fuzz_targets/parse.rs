//! Any input: the in-memory parse, both streamed parses (a reader that fills every
//! request, and one that hands out a few bytes at a time) and a parse with two threads
//! must agree event for event, on the string, stack and side tables and on the error (so
//! must a parse whose every frontier search, v2 or v1, goes through the frontier index,
//! and one whose generations are ordered speculatively and merged); a
//! parse interrupted after the k-th Sync must give a prefix of the events; a drained
//! parse (the streaming path: events handed to a sink every few rows, each M decoded a
//! piece at a time) must list the same event lines and end with the same error; the text
//! dump, and everything the Python layer computes from a parsed trace (analysis, MMU,
//! binning, fairness), must not panic.
#![no_main]

use gotrace_core::analysis::{mmu, sched, summary};
use gotrace_core::binning;
use gotrace_core::export::tsv;
use gotrace_core::stream::{drain, drain_pipelined, DRAINED};
use gotrace_core::{parse_with, ParseOptions, Trace, TraceError};
use libfuzzer_sys::fuzz_target;

/// Hands out at most `step` bytes per read, `step` cycling through small sizes, so the
/// streaming source meets every buffer boundary.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 13 + 1;
        let n = buf.len().min(self.data.len()).min(self.step);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn assert_same(a: &Trace, b: &Trace, what: &str) {
    assert_eq!(a.error, b.error, "{what}: error");
    assert_eq!(a.version, b.version, "{what}: version");
    assert_eq!(a.generations, b.generations, "{what}: generations");
    let (x, y) = (&a.events, &b.events);
    assert_eq!(x.len(), y.len(), "{what}: event count");
    assert_eq!(
        (&x.time, &x.kind, &x.g, &x.p, &x.m, &x.stack),
        (&y.time, &y.kind, &y.g, &y.p, &y.m, &y.stack),
        "{what}: common columns"
    );
    assert_eq!(
        (&x.res_kind, &x.from, &x.to, &x.arg, &x.name, &x.aux),
        (&y.res_kind, &y.from, &y.to, &y.arg, &y.name, &y.aux),
        "{what}: per-kind columns"
    );
    assert_eq!(
        (&a.strings.bytes, &a.strings.offsets),
        (&b.strings.bytes, &b.strings.offsets),
        "{what}: strings"
    );
    let (x, y) = (&a.stacks, &b.stacks);
    assert_eq!(
        (&x.frames, &x.stack_frames, &x.stack_offsets),
        (&y.frames, &y.stack_frames, &y.stack_offsets),
        "{what}: stacks"
    );
    assert_eq!(
        (&a.range_attrs, &a.u64s, &a.clock_snapshots, &a.experimental),
        (&b.range_attrs, &b.u64s, &b.clock_snapshots, &b.experimental),
        "{what}: side tables"
    );
}

fuzz_target!(|data: &[u8]| {
    let t = gotrace_core::parse(data);
    let s = gotrace_core::parse_read(std::io::Cursor::new(data), data.len());
    assert_same(&t, &s, "parse_read(Cursor)");
    // Small inputs parse on one thread by default: the helper-thread paths (v2's next
    // generation read ahead, v1's table faulted in ahead) must give the same trace.
    let s = parse_with(data, &ParseOptions::threads(Some(2)), &mut |_, _| false);
    assert_same(&t, &s, "parse_with(threads=2)");
    // Every frontier search (v2) and every v1 merge through the index (by default only
    // large frontiers are): the same trace as the plain search gives.
    gotrace_core::reader::set_frontier_index_from(Some(1));
    let s = parse_with(data, &ParseOptions::threads(Some(1)), &mut |_, _| false);
    gotrace_core::reader::set_frontier_index_from(None);
    assert_same(&t, &s, "indexed frontier search");
    // Every generation after the first ordered speculatively (without the state the
    // ones before leave) and merged, or ordered again: the same trace.
    gotrace_core::reader::set_speculation(Some(true));
    let s = parse_with(data, &ParseOptions::threads(Some(1)), &mut |_, _| false);
    gotrace_core::reader::set_speculation(None);
    assert_same(&t, &s, "speculative ordering");
    let s = gotrace_core::parse_read(
        Trickle {
            data,
            step: data.len(),
        },
        0,
    );
    assert_same(&t, &s, "parse_read(Trickle)");
    drop(s);

    // Stopped after the k-th Sync: the events so far are a prefix of the full parse's.
    let (k, mut asked) = (1 + data.len() % 3, 0);
    let i = gotrace_core::parse_interruptible(data, &mut || {
        asked += 1;
        asked == k
    });
    if asked < k {
        assert_same(&t, &i, "parse_interruptible (not stopped)");
    } else {
        assert_eq!(
            i.error,
            Some(TraceError::interrupted()),
            "interrupted: error"
        );
        let n = i.events.len();
        assert!(n <= t.events.len(), "interrupted: more events");
        let (x, y) = (&t.events, &i.events);
        assert_eq!(
            (
                &x.time[..n],
                &x.kind[..n],
                &x.g.to_vec()[..n],
                &x.arg.to_vec()[..n]
            ),
            (
                &y.time[..],
                &y.kind[..],
                &y.g.to_vec()[..],
                &y.arg.to_vec()[..]
            ),
            "interrupted: not a prefix"
        );
    }
    drop(i);

    // Drained: every event line (side tables resolved before the sink clears them, and
    // each event's whole stack) and the error equal the full parse's, in chunks of 1 to
    // 64 rows; for a third of the inputs, consumed on a thread of its own (the consumer
    // then reads a replica of the reader's strings and stacks); for half of them, with
    // the rows made on the consumer's side (`unconverted`, as the streaming API does).
    let mut want = Vec::new();
    lines(&t, &mut want);
    let opts = ParseOptions {
        threads: Some(1 + data.len() % 2),
        chunk_rows: 1 + data.len() % 64,
        unconverted: (data.len() / 2).is_multiple_of(2),
        ..DRAINED
    };
    let mut got = Vec::new();
    let parse = |h: &mut gotrace_core::Hook| parse_with(data, &opts, h);
    let mut consume = |d: &Trace| lines(d, &mut got);
    let d = if data.len().is_multiple_of(3) {
        drain_pipelined(parse, &mut consume, &mut |_, _| false)
    } else {
        drain(parse, &mut consume, &mut |_, _| false)
    };
    assert_eq!(d.error, t.error, "drained: error");
    assert_eq!(d.generations, t.generations, "drained: generations");
    assert!(got == want, "drained: event lines differ");
    drop(d);
    // The text dump formats every field, strings and stacks: it must not panic either.
    tsv::write_events(&t, &mut std::io::sink(), 0, usize::MAX).unwrap();

    // What the Python layer reaches from a parsed (possibly partial) trace.
    let a = summary::analyze(&t);
    // Its parts computed alone (what heatmaps and `Trace.goroutines` ask for first).
    let alone = summary::states_of(&t);
    assert_eq!(
        format!(
            "{:?}",
            (&a.states.go_stats, &a.states.proc_stats, &a.ranges)
        ),
        format!(
            "{:?}",
            (
                &alone.states.go_stats,
                &alone.states.proc_stats,
                &alone.ranges
            )
        ),
        "states alone"
    );
    assert!(
        a.states.goroutines.id == alone.states.goroutines.id,
        "intervals alone"
    );
    let (ids, names) = alone.names.into_sorted();
    let (gs, _) = summary::summaries_of(&t);
    assert_eq!(
        ids,
        gs.iter().map(|g| g.id).collect::<Vec<_>>(),
        "names alone: IDs"
    );
    assert_eq!(
        names,
        gs.iter().map(|g| g.name).collect::<Vec<_>>(),
        "names alone"
    );
    // The streaming heatmap's goroutine tracker against the general one, on whatever
    // the parse kept (a broken trace's transitions included). Its cells are i64 ns: a
    // span of centuries (hand-made times) would overflow them, in both.
    let span = t.events.time.first().zip(t.events.time.last());
    if let Some((&t0, &t1)) = span.filter(|(a, b)| b.checked_sub(**a).is_some_and(|d| d < 1 << 40))
    {
        use gotrace_core::analysis::heat::{By, HeatSpec, HeatStream, Sort, Value};
        let by = [By::Goroutine, By::Function, By::State, By::Reason][data.len() % 4];
        let spec = HeatSpec {
            by,
            states: vec![3, 2, 4, 5],
            value: Value::Time,
            edges: binning::uniform_edges(t0, t1.max(t0 + 1), 1 + data.len() % 40),
            top: Some(data.len() % 5),
            sort: Sort::Total,
        };
        let run = |general: bool| {
            let mut h = HeatStream::new(t.version, spec.clone()).without_pruning();
            if general {
                h = h.with_general_tracker(t.version);
            }
            h.feed(&t);
            h.finish(&t).matrix
        };
        let (a, b) = (run(false), run(true));
        assert!(
            a.values == b.values && a.row_ids == b.row_ids && a.names == b.names,
            "heatmap: goroutine tracker differs from the general one"
        );
    }
    let mut distinct = gotrace_core::analysis::distinct::DistinctIds::default();
    distinct.add(&t.events);
    let _ = distinct.into_sorted();
    for flags in [
        mmu::UTIL_DEFAULT,
        mmu::UTIL_DEFAULT | mmu::UTIL_SWEEP | mmu::UTIL_PER_PROC,
    ] {
        let _ = mmu::trace_mmu(&t, flags, &[1, 1_000, 1_000_000, i64::MAX]);
    }
    let _ = mmu::trace_worst_windows(&t, mmu::UTIL_DEFAULT, 1_000, 3);

    let time = &t.events.time;
    if let (Some(&t0), Some(&t1)) = (time.first(), time.last()) {
        // Python's heatmap(bins=N) and fairness(bins=N): uniform edges over the events.
        if t1 >= t0 {
            let edges = binning::uniform_edges(t0, t1, 16);
            for iv in [&a.states.goroutines, &a.states.procs, &a.states.threads] {
                let id = iv.id.to_vec();
                let mut ids = id.clone();
                ids.sort_unstable();
                ids.dedup();
                let rows: Vec<u32> = id
                    .iter()
                    .map(|id| ids.binary_search(id).unwrap() as u32)
                    .collect();
                let _ = binning::overlap(&iv.start, &iv.end, &rows, ids.len(), &edges);
                let _ = binning::count(&iv.start, &rows, ids.len(), &edges);
            }
            let (g, p) = (&a.states.goroutines, &a.states.procs);
            let (gid, pid) = (g.id.to_vec(), p.id.to_vec());
            let _ = sched::fairness(
                sched::Cols {
                    id: &gid,
                    start: &g.start,
                    end: &g.end,
                    state: &g.state,
                },
                sched::Cols {
                    id: &pid,
                    start: &p.start,
                    end: &p.end,
                    state: &p.state,
                },
                &edges,
            );
            let w = sched::sched_wait_indices(&gid, &g.start, &g.end, &g.state);
            // As numpy computes them in Python: wrapping.
            let mut d: Vec<i64> = w
                .iter()
                .map(|&i| g.end[i].wrapping_sub(g.start[i]))
                .collect();
            let _ = sched::duration_stats(&mut d);
        }
    }
});

/// Every event's line and the frames of its stack.
fn lines(t: &Trace, out: &mut Vec<u8>) {
    for i in 0..t.events.len() {
        tsv::event_line(t, i, out);
        for &f in t.stacks.frames_of(t.events.stack[i]) {
            let f = &t.stacks.frames[f as usize];
            out.extend_from_slice(t.strings.get(f.func));
            out.extend_from_slice(t.strings.get(f.file));
            out.extend_from_slice(&f.line.to_le_bytes());
            out.extend_from_slice(&f.pc.to_le_bytes());
        }
        out.push(b'\n');
    }
}
