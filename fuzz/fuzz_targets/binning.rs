//! The heatmap kernels on edges, intervals and rows sliced out of the input: no panic,
//! `bin_of` as defined, every row's sum equal to its intervals' clipped lengths, cells
//! within `[0, width × intervals]`, `overlap` equal to the per-interval
//! `for_each_overlap` and to the naive definition (small cases), and the incremental
//! `Binner` and `SparseBinner` (fed the intervals up to ~1000 times over, so that its log
//! is compacted) equal to the batch `overlap` and `count`, and the heatmaps' float64
//! kernels (`overlap_f64`, `overlap_dense_f64`, `count_f64`, rows `SKIP` left out) equal
//! to those converted, bit for bit.
#![no_main]

use gotrace_core::binning::{
    count, count_f64, for_each_overlap, overlap, overlap_dense_f64, overlap_f64, uniform_edges,
    BinIndex, Binner, SparseBinner, REMOVED, SKIP,
};
use libfuzzer_sys::fuzz_target;

/// Reads integers off the input; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn le(&mut self, n: usize) -> u64 {
        (0..n).fold(0u64, |v, i| v | (self.u8() as u64) << (8 * i))
    }

    /// A tag byte picks the width, so small values (shared edges, empty bins) are as
    /// likely as extreme ones.
    fn i64(&mut self) -> i64 {
        match self.u8() % 5 {
            0 => self.le(1) as i8 as i64,
            1 => self.le(2) as i16 as i64,
            2 => self.le(4) as i32 as i64,
            3 => self.le(8) as i64,
            _ => [0, 1, -1, i64::MIN, i64::MAX][self.u8() as usize % 5],
        }
    }
}

fn clip(s: i64, e: i64, lo: i64, hi: i64) -> i128 {
    (e.min(hi) as i128 - s.max(lo) as i128).max(0)
}

fn naive_bin(edges: &[i64], t: i64) -> Option<usize> {
    let n = edges.len() - 1;
    if t == edges[n] {
        return Some(n - 1);
    }
    (0..n).find(|&i| edges[i] <= t && t < edges[i + 1])
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mode = b.u8();
    let n = 1 + b.u8() as usize % 64;
    let nrows = 1 + b.u8() as usize % 8;
    let m = b.u8() as usize % 128;
    // How often the sparse binner is fed the intervals (its log compacts at 2^16 entries).
    let reps = if mode & 2 != 0 {
        1 + 4 * b.u8() as usize
    } else {
        1
    };

    // Edges spanning at most i64::MAX / ((m + 1) reps), so that a row's total (at most
    // m reps whole spans) fits in the i64 cells: beyond that the output itself cannot be
    // represented.
    let lo = b.i64();
    let max_span = i64::MAX / ((m as i64 + 1) * reps as i64);
    let span = (b.i64().unsigned_abs().min(max_span as u64)) as i64;
    let hi = lo.saturating_add(span);
    let edges = if mode & 1 == 0 {
        uniform_edges(lo, hi, n)
    } else {
        let mut e: Vec<i64> = (0..=n)
            .map(|_| lo.saturating_add((b.le(8) % (span as u64 + 1)) as i64))
            .collect();
        e.sort_unstable();
        e
    };
    let (lo, hi) = (edges[0], edges[n]);

    let (mut s, mut e, mut r) = (vec![], vec![], vec![]);
    for _ in 0..m {
        let a = if b.u8() & 1 == 0 {
            lo.saturating_add(b.i64() % (span.max(1) * 2))
        } else {
            b.i64()
        };
        s.push(a);
        e.push(if b.u8() & 1 == 0 {
            a.saturating_add(b.i64())
        } else {
            b.i64()
        });
        r.push((b.u8() as usize % nrows) as u32);
    }

    let idx = BinIndex::new(&edges);
    for &t in s.iter().chain(&e).chain(&edges) {
        for d in [-1, 0, 1] {
            let t = t.saturating_add(d);
            assert_eq!(
                idx.bin_of(t),
                naive_bin(&edges, t),
                "bin_of({t}) edges {edges:?}"
            );
        }
    }

    let time = overlap(&s, &e, &r, nrows, &edges);
    let counts = count(&s, &r, nrows, &edges);
    assert_eq!(time.len(), nrows * n);
    assert_eq!(counts.len(), nrows * n);

    let mut per_row = vec![(0i128, 0usize); nrows];
    let mut by_cb = vec![0i64; nrows * n];
    for k in 0..m {
        let row = r[k] as usize;
        per_row[row].0 += clip(s[k], e[k], lo, hi);
        per_row[row].1 += 1;
        for_each_overlap(&edges, s[k], e[k], |bin, ns| by_cb[row * n + bin] += ns);
    }
    for row in 0..nrows {
        let cells = &time[row * n..(row + 1) * n];
        let sum: i128 = cells.iter().map(|&x| x as i128).sum();
        assert_eq!(sum, per_row[row].0, "row {row} total");
        for (i, &x) in cells.iter().enumerate() {
            let w = (edges[i + 1] - edges[i]) as i128;
            assert!(
                x >= 0 && x as i128 <= w * per_row[row].1 as i128,
                "cell {row},{i}"
            );
        }
    }
    assert_eq!(time, by_cb, "overlap vs for_each_overlap");

    if n * m <= 4096 {
        let mut naive = vec![0i64; nrows * n];
        for k in 0..m {
            for i in 0..n {
                let v = clip(s[k], e[k], edges[i], edges[i + 1]);
                naive[r[k] as usize * n + i] += v as i64;
            }
        }
        assert_eq!(time, naive, "overlap vs naive");
        let mut naive = vec![0i64; nrows * n];
        for k in 0..m {
            if let Some(i) = naive_bin(&edges, s[k]) {
                naive[r[k] as usize * n + i] += 1;
            }
        }
        assert_eq!(counts, naive, "count vs naive");
    }

    // The float64 kernels of the heatmaps: the integer cells converted (divided by the bin
    // width for a fraction); a row SKIP (here: every interval of the last row) is left out.
    let fraction = mode & 4 != 0;
    let skip = nrows - 1;
    let want: Vec<f64> = (0..nrows * n)
        .map(|c| {
            let v = if c / n == skip { 0 } else { time[c] };
            let w = edges[c % n + 1].wrapping_sub(edges[c % n]);
            match fraction {
                true => v as f64 / if w > 0 { w as f64 } else { f64::INFINITY },
                false => v as f64,
            }
        })
        .collect();
    let rs: Vec<u32> = r
        .iter()
        .map(|&x| if x as usize == skip { SKIP } else { x })
        .collect();
    let same = |got: &[f64], what: &str| {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(&want), "{what}");
    };
    same(
        &overlap_f64(&s, &e, &rs, nrows, &edges, fraction),
        "overlap_f64",
    );
    let kept = || (0..m).filter(|&k| r[k] as usize != skip);
    let items = kept().map(|k| (r[k], s[k], e[k]));
    same(
        &overlap_dense_f64(items, nrows, &edges, fraction),
        "overlap_dense_f64",
    );
    let cf = count_f64(kept().map(|k| (r[k], s[k])), nrows, &edges);
    for (c, &v) in cf.iter().enumerate() {
        let w = if c / n == skip { 0 } else { counts[c] };
        assert_eq!(v, w as f64, "count_f64");
    }

    // Incremental: the same intervals in the input's order, rows created on first use.
    let mut bn = Binner::new(edges.clone());
    for k in 0..m {
        bn.add_interval(r[k] as usize, s[k], e[k]);
        bn.add_instant(r[k] as usize, s[k]);
    }
    let (rows, btime, bcounts) = bn.finish();
    let used = r.iter().map(|&x| x as usize + 1).max().unwrap_or(0);
    assert_eq!(rows, used);
    assert_eq!(btime, time[..used * n], "Binner time");
    assert_eq!(bcounts, counts[..used * n], "Binner counts");

    let mut st = SparseBinner::new(edges.clone());
    let mut sc = SparseBinner::new(edges.clone());
    for _ in 0..reps {
        for k in 0..m {
            st.add_interval(r[k], s[k], e[k]);
            sc.add_instant(r[k], s[k]);
        }
    }
    let (st, sc) = (st.finish(), sc.finish());
    let times = |x: i64| x * reps as i64;
    for row in 0..nrows {
        let (t, c) = (
            &time[row * n..(row + 1) * n],
            &counts[row * n..(row + 1) * n],
        );
        let mut out = vec![0i64; n];
        st.add_to(row, &mut out);
        assert_eq!(
            out,
            t.iter().copied().map(times).collect::<Vec<_>>(),
            "sparse time"
        );
        assert_eq!(st.total(row), times(t.iter().sum()), "sparse time total");
        let mut out = vec![0i64; n];
        sc.add_to(row, &mut out);
        assert_eq!(
            out,
            c.iter().copied().map(times).collect::<Vec<_>>(),
            "sparse counts"
        );
        assert_eq!(sc.total(row), times(c.iter().sum()), "sparse count total");
    }

    // Rows removed half-way (as the streaming heatmap drops rows that cannot reach its
    // top): the totals before, then the kept rows renumbered, fed once more (when the
    // edges leave room for two rounds in the cells: `reps` >= 2), and the removed rows'
    // sum.
    let mask = data.last().copied().unwrap_or(0);
    let mut sp = SparseBinner::new(edges.clone());
    for k in 0..m {
        sp.add_interval(r[k], s[k], e[k]);
    }
    let tot = sp.totals(nrows);
    for (row, &t) in tot.iter().enumerate() {
        assert_eq!(
            t,
            time[row * n..(row + 1) * n].iter().sum::<i64>(),
            "totals"
        );
    }
    let mut new = vec![0u32; nrows];
    let mut kept_rows = 0u32;
    for (row, to) in new.iter_mut().enumerate() {
        if mask >> (row % 8) & 1 == 1 {
            *to = REMOVED;
        } else {
            *to = kept_rows;
            kept_rows += 1;
        }
    }
    sp.remove_rows(&new);
    let rounds = if reps >= 2 { 2 } else { 1 };
    for k in 0..m {
        if rounds == 2 && new[r[k] as usize] != REMOVED {
            sp.add_interval(new[r[k] as usize], s[k], e[k]);
        }
    }
    let sp = sp.finish();
    let mut removed = vec![0i64; n];
    for row in 0..nrows {
        let t = &time[row * n..(row + 1) * n];
        if new[row] == REMOVED {
            for (x, &v) in removed.iter_mut().zip(t) {
                *x += v;
            }
            continue;
        }
        let mut out = vec![0i64; n];
        sp.add_to(new[row] as usize, &mut out);
        assert_eq!(
            out,
            t.iter().map(|&v| rounds * v).collect::<Vec<_>>(),
            "kept row"
        );
    }
    if removed.iter().all(|&v| v == 0) {
        assert!(sp.removed.iter().all(|&v| v == 0), "removed: none");
    } else {
        assert_eq!(sp.removed, removed, "removed rows' sum");
    }
});
