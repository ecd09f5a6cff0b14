//! Time binning of intervals and instants into `rows × bins` matrices (the heatmap kernel).
//!
//! Plain slices in, a row-major `Vec<i64>` out; no allocation per interval. Bins are given
//! by increasing edges `e[0] <= e[1] <= ... <= e[n]`: bin `i` holds `e[i] <= t < e[i+1]`,
//! and the last bin also holds `t == e[n]` (an event at the end falls in the last bin).
//! [`uniform_edges`] makes the edges the oracle uses: `start + floor((end - start) * i / n)`
//! computed exactly in 128-bit integers.
//!
//! Cost: O(intervals + rows × bins). Each interval touches at most its first and last bin
//! plus two entries of a difference array that counts the bins it covers whole (intervals
//! are grouped by row first, so one such array of `bins + 1` serves all rows);
//! one prefix sum per row turns those counts into ns. Finding an interval's bins is O(1)
//! for uniform edges (arithmetic, then at most a few steps over empty bins) and a binary
//! search otherwise.

/// `n + 1` edges `start + floor((end - start) * i / n)`, exactly (i128). `n` must be >= 1
/// and `end >= start`.
pub fn uniform_edges(start: i64, end: i64, n: usize) -> Vec<i64> {
    assert!(n >= 1, "at least one bin");
    assert!(end >= start, "end before start");
    let span = end as i128 - start as i128;
    (0..=n)
        .map(|i| (start as i128 + span * i as i128 / n as i128) as i64)
        .collect()
}

/// Finds the bin of a time for one set of edges.
#[derive(Debug, Clone)]
pub struct BinIndex<'a> {
    edges: &'a [i64],
    /// Set when `edges == uniform_edges(edges[0], edges[n], n)`.
    uniform: bool,
}

impl<'a> BinIndex<'a> {
    /// `edges` must have at least 2 values and never decrease (checked: panics otherwise).
    pub fn new(edges: &'a [i64]) -> Self {
        assert!(edges.len() >= 2, "at least one bin (two edges)");
        assert!(
            edges.windows(2).all(|w| w[0] <= w[1]),
            "edges must not decrease"
        );
        let n = edges.len() - 1;
        let (lo, hi) = (edges[0], edges[n]);
        let span = hi as i128 - lo as i128;
        let uniform = edges
            .iter()
            .enumerate()
            .all(|(i, &e)| e as i128 == lo as i128 + span * i as i128 / n as i128);
        BinIndex { edges, uniform }
    }

    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    pub fn edges(&self) -> &'a [i64] {
        self.edges
    }

    /// The part of `[start, end)` inside `[edges[0], edges[n]]`, by bin: None when it is
    /// empty. See [`Split`].
    #[inline]
    pub fn split(&self, start: i64, end: i64) -> Option<Split> {
        let n = self.bins();
        let e = self.edges;
        let a = start.max(e[0]);
        let b = end.min(e[n]);
        if b <= a {
            return None;
        }
        // a in [lo, hi), b - 1 in [lo, hi): both have bins.
        let i = self.bin_of(a).expect("clipped start in range");
        let j = self.bin_of(b - 1).expect("clipped end in range");
        Some(if i == j {
            Split {
                i,
                j,
                head: b - a,
                tail: 0,
            }
        } else {
            Split {
                i,
                j,
                head: e[i + 1] - a,
                tail: b - e[j],
            }
        })
    }

    /// The bin `i` with `edges[i] <= t < edges[i+1]` (the last bin also takes
    /// `t == edges[n]`), or None when `t` is outside `[edges[0], edges[n]]`.
    pub fn bin_of(&self, t: i64) -> Option<usize> {
        let e = self.edges;
        let n = self.bins();
        if t < e[0] || t > e[n] {
            return None;
        }
        if t == e[n] {
            return Some(n - 1);
        }
        // Largest i < n with e[i] <= t.
        let mut i = if self.uniform {
            // span > 0 here: e[0] <= t < e[n]. In u64 when (t - e[0]) * n cannot overflow
            // (any trace shorter than 2^64 / n ns), else in i128: the same quotient.
            let span = e[n].wrapping_sub(e[0]) as u64;
            let off = t.wrapping_sub(e[0]) as u64;
            match span.checked_mul(n as u64) {
                Some(_) => (off * n as u64 / span) as usize,
                None => (off as u128 * n as u128 / span as u128) as usize,
            }
            .min(n - 1)
        } else {
            e.partition_point(|&x| x <= t) - 1
        };
        // For uniform edges, e[i] <= t holds; step over later edges equal to or below t
        // (consecutive empty bins when span < n).
        while i + 1 < n && e[i + 1] <= t {
            i += 1;
        }
        Some(i)
    }
}

/// A clipped interval by bin ([`BinIndex::split`]): `head` ns in bin `i`; if `j > i`,
/// `tail` ns in bin `j` and bins `i + 1..j` wholly covered (else `tail` is 0).
#[derive(Clone, Copy, Debug)]
pub struct Split {
    pub i: usize,
    pub j: usize,
    pub head: i64,
    pub tail: i64,
}

/// Row given to [`overlap_f64`] for an interval to leave out.
pub const SKIP: u32 = u32::MAX;

/// Groups the item indices by row (a counting sort, O(items + rows)): row `r`'s items are
/// `by_row[first[r]..first[r + 1]]`, in input order. Rows [`SKIP`] are left out.
fn group_by_row(rows: &[u32], nrows: usize) -> (Vec<usize>, Vec<u32>) {
    let mut first = vec![0usize; nrows + 1];
    for &r in rows {
        if r != SKIP {
            let r = r as usize;
            assert!(r < nrows, "row {r} out of range (nrows {nrows})");
            first[r + 1] += 1;
        }
    }
    for r in 0..nrows {
        first[r + 1] += first[r];
    }
    let mut next = first.clone();
    let mut by_row = vec![0u32; first[nrows]];
    for (k, &r) in rows.iter().enumerate() {
        if r != SKIP {
            by_row[next[r as usize]] = k as u32;
            next[r as usize] += 1;
        }
    }
    (first, by_row)
}

/// The kernel of [`overlap`]: bins each row's intervals in turn into one scratch row of
/// `bins` i64 and calls `emit(r, b0, values)`, `values` the exact ns of bins
/// `b0..b0 + values.len()` (every bin outside that span is 0; rows without overlap are
/// not emitted). One difference array of `bins + 1` counts the wholly covered bins.
fn overlap_rows(
    starts: &[i64],
    ends: &[i64],
    rows: &[u32],
    nrows: usize,
    edges: &[i64],
    mut emit: impl FnMut(usize, usize, &[i64]),
) {
    assert_eq!(starts.len(), ends.len());
    assert_eq!(starts.len(), rows.len());
    assert!(rows.len() <= u32::MAX as usize, "too many intervals");
    let idx = BinIndex::new(edges);
    let n = idx.bins();
    let (first, by_row) = group_by_row(rows, nrows);
    let mut row = vec![0i64; n];
    // full[i]: +1 where a run of whole covered bins begins, -1 after it ends.
    let mut full = vec![0i64; n + 1];
    for r in 0..nrows {
        let (mut b0, mut b1) = (n, 0usize);
        let mut any_full = false;
        for &k in &by_row[first[r]..first[r + 1]] {
            let k = k as usize;
            let Some(Split { i, j, head, tail }) = idx.split(starts[k], ends[k]) else {
                continue;
            };
            b0 = b0.min(i);
            b1 = b1.max(j + 1);
            row[i] += head;
            row[j] += tail;
            if j > i + 1 {
                full[i + 1] += 1;
                full[j] -= 1;
                any_full = true;
            }
        }
        if b0 >= b1 {
            continue;
        }
        if any_full {
            let mut c = 0i64;
            for i in b0..b1 {
                c += full[i];
                full[i] = 0;
                if c != 0 {
                    row[i] += c * (edges[i + 1] - edges[i]);
                }
            }
            full[b1] = 0;
        }
        emit(r, b0, &row[b0..b1]);
        row[b0..b1].fill(0);
    }
}

/// Exact overlap in ns of intervals `[starts[k], ends[k])` with each bin, summed per row
/// `rows[k]` (`0 <= rows[k] < nrows`): a row-major `nrows × bins` matrix. Intervals are
/// clipped to `[edges[0], edges[n]]`; empty ones (`end <= start` after clipping) add nothing.
///
/// Panics if the slices differ in length or a row is out of range.
pub fn overlap(
    starts: &[i64],
    ends: &[i64],
    rows: &[u32],
    nrows: usize,
    edges: &[i64],
) -> Vec<i64> {
    assert!(
        rows.iter().all(|&r| (r as usize) < nrows),
        "row out of range"
    );
    let n = edges.len().saturating_sub(1);
    let mut out = vec![0i64; nrows * n];
    overlap_rows(starts, ends, rows, nrows, edges, |r, b0, v| {
        out[r * n + b0..r * n + b0 + v.len()].copy_from_slice(v);
    });
    out
}

/// Writes the exact i64 values of bins `b0..b0 + src.len()` into `dst` (the same bins) as
/// float64, divided by the bin width when `fraction` (0 for a bin of width 0). Each cell is
/// the rounding of its exact integer, bit for bit what numpy gives for
/// `m.astype(float64) / where(width > 0, width, inf)`; a cell's integer is exact in
/// float64 up to 2^53 ns (104 days of one bin's summed overlap).
pub fn store_f64(src: &[i64], b0: usize, edges: &[i64], fraction: bool, dst: &mut [f64]) {
    if fraction {
        let e = &edges[b0..b0 + src.len() + 1];
        for ((d, &v), w) in dst.iter_mut().zip(src).zip(e.windows(2)) {
            let w = w[1].wrapping_sub(w[0]);
            *d = v as f64 / if w > 0 { w as f64 } else { f64::INFINITY };
        }
    } else {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v as f64;
        }
    }
}

/// [`overlap`] as the float64 matrix a heatmap returns (see [`store_f64`]), written
/// directly: peak memory is this matrix plus one row, and only the bins a row's intervals
/// reach are written (the rest stay the allocator's zeroed pages). Rows [`SKIP`] are left
/// out.
pub fn overlap_f64(
    starts: &[i64],
    ends: &[i64],
    rows: &[u32],
    nrows: usize,
    edges: &[i64],
    fraction: bool,
) -> Vec<f64> {
    let n = edges.len().saturating_sub(1);
    let mut out = vec![0f64; nrows * n];
    overlap_rows(starts, ends, rows, nrows, edges, |r, b0, v| {
        let dst = &mut out[r * n + b0..r * n + b0 + v.len()];
        store_f64(v, b0, edges, fraction, dst);
    });
    out
}

/// Calls `f(bin, ns)` for every bin that `[s, e)` overlaps by `ns > 0` (edges
/// non-decreasing; a bin between equal edges is empty): the per-interval form of
/// [`overlap`], for callers that aggregate per (bin, id) instead of a dense matrix.
#[inline]
pub fn for_each_overlap(edges: &[i64], s: i64, e: i64, mut f: impl FnMut(usize, i64)) {
    if edges.len() < 2 || e <= s {
        return;
    }
    // First bin whose upper edge is > s.
    let mut b = edges[1..].partition_point(|&x| x <= s);
    let nb = edges.len() - 1;
    while b < nb && edges[b] < e {
        let ns = e.min(edges[b + 1]) - s.max(edges[b]);
        if ns > 0 {
            f(b, ns);
        }
        b += 1;
    }
}

/// Number of instants `times[k]` per bin and row (`rows[k] < nrows`): a row-major
/// `nrows × bins` matrix. Instants outside `[edges[0], edges[n]]` are not counted; one at
/// `edges[n]` counts in the last bin.
pub fn count(times: &[i64], rows: &[u32], nrows: usize, edges: &[i64]) -> Vec<i64> {
    assert_eq!(times.len(), rows.len());
    count_items(
        rows.iter().copied().zip(times.iter().copied()),
        nrows,
        edges,
    )
}

/// [`count`] as float64 (exact: counts stay far below 2^53), of the instants `(row, t)`.
pub fn count_f64(
    items: impl IntoIterator<Item = (u32, i64)>,
    nrows: usize,
    edges: &[i64],
) -> Vec<f64> {
    count_items(items, nrows, edges)
}

fn count_items<T: Copy + Default + std::ops::AddAssign + From<u8>>(
    items: impl IntoIterator<Item = (u32, i64)>,
    nrows: usize,
    edges: &[i64],
) -> Vec<T> {
    let idx = BinIndex::new(edges);
    let n = idx.bins();
    let mut out = vec![T::default(); nrows * n];
    for (r, t) in items {
        let r = r as usize;
        assert!(r < nrows, "row {r} out of range (nrows {nrows})");
        if let Some(i) = idx.bin_of(t) {
            out[r * n + i] += T::from(1);
        }
    }
    out
}

/// [`overlap_f64`] of the intervals `(row, start, end)` for a small `nrows × bins`: they
/// are binned in the order given into dense matrices of partial overlaps and difference
/// counts (no grouping pass), then converted. Memory: about three times the result.
pub fn overlap_dense_f64(
    items: impl IntoIterator<Item = (u32, i64, i64)>,
    nrows: usize,
    edges: &[i64],
    fraction: bool,
) -> Vec<f64> {
    let idx = BinIndex::new(edges);
    let n = idx.bins();
    let mut part = vec![0i64; nrows * n];
    let mut full = vec![0i64; nrows * (n + 1)];
    for (r, s, e) in items {
        let r = r as usize;
        assert!(r < nrows, "row {r} out of range (nrows {nrows})");
        let Some(Split { i, j, head, tail }) = idx.split(s, e) else {
            continue;
        };
        part[r * n + i] += head;
        part[r * n + j] += tail;
        if j > i + 1 {
            full[r * (n + 1) + i + 1] += 1;
            full[r * (n + 1) + j] -= 1;
        }
    }
    let mut out = vec![0f64; nrows * n];
    for r in 0..nrows {
        let row = &mut part[r * n..(r + 1) * n];
        let mut c = 0i64;
        for (i, &f) in full[r * (n + 1)..(r + 1) * (n + 1) - 1].iter().enumerate() {
            c += f;
            if c != 0 {
                row[i] += c * (edges[i + 1] - edges[i]);
            }
        }
        store_f64(row, 0, edges, fraction, &mut out[r * n..(r + 1) * n]);
    }
    out
}

/// Incremental form of [`overlap`] and [`count`]: intervals and instants are added one at a
/// time, in any order, as a streaming reader produces them (nothing per event is kept);
/// rows are created on first use. Memory: O(rows × bins).
#[derive(Debug, Clone)]
pub struct Binner {
    edges: Vec<i64>,
    uniform: bool,
    /// Row-major `rows × bins` overlap (ns) of partly covered bins, then of all after
    /// [`Binner::finish`].
    time: Vec<i64>,
    /// Row-major `rows × (bins + 1)` difference counts of wholly covered bins.
    full: Vec<i64>,
    /// Row-major `rows × bins` instant counts.
    counts: Vec<i64>,
    rows: usize,
}

impl Binner {
    /// `edges` as for [`BinIndex::new`] (panics if they decrease or are fewer than 2).
    pub fn new(edges: Vec<i64>) -> Self {
        let uniform = BinIndex::new(&edges).uniform;
        Binner {
            edges,
            uniform,
            time: vec![],
            full: vec![],
            counts: vec![],
            rows: 0,
        }
    }

    fn index(&self) -> BinIndex<'_> {
        BinIndex {
            edges: &self.edges,
            uniform: self.uniform,
        }
    }

    fn grow(&mut self, row: usize) {
        if row >= self.rows {
            let n = self.edges.len() - 1;
            self.rows = row + 1;
            self.time.resize(self.rows * n, 0);
            self.full.resize(self.rows * (n + 1), 0);
            self.counts.resize(self.rows * n, 0);
        }
    }

    /// Adds the interval `[start, end)` to `row` (clipped to the edges).
    pub fn add_interval(&mut self, row: usize, start: i64, end: i64) {
        self.grow(row);
        let n = self.edges.len() - 1;
        let Some(Split { i, j, head, tail }) = self.index().split(start, end) else {
            return;
        };
        self.time[row * n + i] += head;
        self.time[row * n + j] += tail;
        if j > i + 1 {
            self.full[row * (n + 1) + i + 1] += 1;
            self.full[row * (n + 1) + j] -= 1;
        }
    }

    /// Counts the instant `t` in `row` (if inside the edges).
    pub fn add_instant(&mut self, row: usize, t: i64) {
        self.grow(row);
        let n = self.edges.len() - 1;
        if let Some(i) = self.index().bin_of(t) {
            self.counts[row * n + i] += 1;
        }
    }

    /// `(rows, overlap matrix, count matrix)`, both row-major `rows × bins`.
    pub fn finish(mut self) -> (usize, Vec<i64>, Vec<i64>) {
        let n = self.edges.len() - 1;
        for r in 0..self.rows {
            let f = &self.full[r * (n + 1)..(r + 1) * (n + 1)];
            let row = &mut self.time[r * n..(r + 1) * n];
            let mut c = 0i64;
            for i in 0..n {
                c += f[i];
                if c != 0 {
                    row[i] += c * (self.edges[i + 1] - self.edges[i]);
                }
            }
        }
        (self.rows, self.time, self.counts)
    }
}

/// One entry of a [`SparseBinner`]: `v` added to `row` at `code` = `2 * bin` (ns of
/// overlap, or instants), or `2 * bin + 1` (the difference count of wholly covered bins
/// starting at `bin`, as in [`overlap`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cell {
    row: u32,
    code: u32,
    v: i64,
}

/// Like [`Binner`], for many sparse rows (e.g. one per goroutine, most of which live in a
/// few bins): memory is O(non-empty cells) instead of O(rows × bins). Entries are logged
/// (a row's next entry in the same bin is merged into its last one, so a row fed in time
/// order logs about one entry per bin it touches) and the log is sorted and merged
/// whenever it has doubled. Use it for intervals or for instants, not both.
#[derive(Debug, Clone)]
pub struct SparseBinner {
    edges: Vec<i64>,
    uniform: bool,
    log: Vec<Cell>,
    /// Log length that triggers the next compaction.
    compact_at: usize,
    /// Per row: index in `log` of its latest overlap/instant entry.
    last: Vec<u32>,
    /// Per bin: the sum of the rows removed by [`SparseBinner::remove_rows`] (empty
    /// until a row is removed).
    removed: Vec<i64>,
    /// `log[..sorted]` is sorted and merged (what the last compaction left).
    sorted: usize,
}

/// A row's new number in [`SparseBinner::remove_rows`]: removed.
pub const REMOVED: u32 = u32::MAX;

/// Entries kept before the first compaction.
const SPARSE_MIN_LOG: usize = 1 << 16;

impl SparseBinner {
    /// `edges` as for [`BinIndex::new`] (panics if they decrease or are fewer than 2).
    pub fn new(edges: Vec<i64>) -> Self {
        let uniform = BinIndex::new(&edges).uniform;
        assert!(edges.len() <= (u32::MAX / 2) as usize, "too many bins");
        SparseBinner {
            edges,
            uniform,
            log: Vec::new(),
            compact_at: SPARSE_MIN_LOG,
            last: Vec::new(),
            removed: Vec::new(),
            sorted: 0,
        }
    }

    fn index(&self) -> BinIndex<'_> {
        BinIndex {
            edges: &self.edges,
            uniform: self.uniform,
        }
    }

    #[inline]
    fn put(&mut self, row: u32, code: u32, v: i64) {
        let r = row as usize;
        if r >= self.last.len() {
            self.last.resize(r + 1, u32::MAX);
        }
        if code & 1 == 0 {
            // After a compaction the index may point elsewhere: then the entry it names is
            // either another key (no match) or this key's only entry (a correct match).
            if let Some(c) = self.log.get_mut(self.last[r] as usize) {
                if c.row == row && c.code == code {
                    c.v += v;
                    return;
                }
            }
            self.last[r] = self.log.len() as u32;
        }
        self.log.push(Cell { row, code, v });
        if self.log.len() >= self.compact_at {
            self.compact();
            self.compact_at = (2 * self.log.len()).max(SPARSE_MIN_LOG);
        }
    }

    /// Sorts the log by (row, code) and merges equal keys, dropping zero sums.
    fn compact(&mut self) {
        let s = self.sorted;
        if s == self.log.len() {
            return;
        }
        let key = |c: &Cell| (c.row, c.code);
        // Sort what came since the last compaction and merge it into the sorted rest
        // (from the back, with a copy of the new part only).
        self.log[s..].sort_unstable_by_key(key);
        if s > 0 {
            let tail = self.log[s..].to_vec();
            let (mut i, mut j, mut w) = (s, tail.len(), self.log.len());
            while j > 0 {
                w -= 1;
                if i > 0 && key(&self.log[i - 1]) > key(&tail[j - 1]) {
                    self.log[w] = self.log[i - 1];
                    i -= 1;
                } else {
                    self.log[w] = tail[j - 1];
                    j -= 1;
                }
            }
        }
        let mut w = 0usize;
        for i in 0..self.log.len() {
            let c = self.log[i];
            if w > 0 && self.log[w - 1].row == c.row && self.log[w - 1].code == c.code {
                self.log[w - 1].v += c.v;
                if self.log[w - 1].v == 0 {
                    w -= 1;
                }
            } else if c.v != 0 {
                self.log[w] = c;
                w += 1;
            }
        }
        self.log.truncate(w);
        self.sorted = w;
        assert!(
            self.log.len() < u32::MAX as usize,
            "sparse binner log too long"
        );
    }

    /// Adds the interval `[start, end)` to `row` (clipped to the edges).
    pub fn add_interval(&mut self, row: u32, start: i64, end: i64) {
        let Some(Split { i, j, head, tail }) = self.index().split(start, end) else {
            return;
        };
        self.put(row, 2 * i as u32, head);
        if j > i {
            if j > i + 1 {
                self.put(row, 2 * (i + 1) as u32 + 1, 1);
                self.put(row, 2 * j as u32 + 1, -1);
            }
            self.put(row, 2 * j as u32, tail);
        }
    }

    /// Counts the instant `t` in `row` (if inside the edges).
    pub fn add_instant(&mut self, row: u32, t: i64) {
        if let Some(i) = self.index().bin_of(t) {
            self.put(row, 2 * i as u32, 1);
        }
    }

    /// Each of rows `0..rows`'s sum over the bins so far (as [`SparseRows::total`]).
    pub fn totals(&mut self, rows: usize) -> Vec<i64> {
        self.compact();
        let mut out = vec![0i64; rows];
        for run in self.log.chunk_by(|a, b| a.row == b.row) {
            if let Some(t) = out.get_mut(run[0].row as usize) {
                *t = row_total(&self.edges, run);
            }
        }
        out
    }

    /// Renumbers row `r` to `new[r]` (rows past `new` keep their number), except the
    /// rows with `new[r] == REMOVED`: their cells are added to the removed rows' sum
    /// ([`SparseRows::removed`]) and forgotten. Frees the memory they took, so that a
    /// stream over millions of short-lived rows keeps only the ones still wanted.
    pub fn remove_rows(&mut self, new: &[u32]) {
        self.compact();
        let bins = self.edges.len() - 1;
        let mut w = 0usize;
        let mut i = 0usize;
        while i < self.log.len() {
            let row = self.log[i].row;
            let mut j = i + 1;
            while j < self.log.len() && self.log[j].row == row {
                j += 1;
            }
            match new.get(row as usize) {
                Some(&REMOVED) => {
                    if self.removed.is_empty() {
                        self.removed = vec![0; bins];
                    }
                    add_cells(&self.edges, &self.log[i..j], &mut self.removed);
                }
                to => {
                    let to = to.copied().unwrap_or(row);
                    for k in i..j {
                        let mut c = self.log[k];
                        c.row = to;
                        self.log[w] = c;
                        w += 1;
                    }
                }
            }
            i = j;
        }
        self.log.truncate(w);
        self.sorted = w;
        // Renumbering keeps rows in order (`new` increases over the rows kept), so the
        // log stays sorted; the merge hints are simply dropped.
        self.log.shrink_to(2 * w.max(SPARSE_MIN_LOG / 2));
        self.compact_at = (2 * w).max(SPARSE_MIN_LOG);
        self.last.clear();
    }

    /// The merged cells, by row.
    pub fn finish(mut self) -> SparseRows {
        self.compact();
        let rows = self.log.last().map_or(0, |c| c.row as usize + 1);
        let mut first = vec![0usize; rows + 1];
        for c in &self.log {
            first[c.row as usize + 1] += 1;
        }
        for r in 0..rows {
            first[r + 1] += first[r];
        }
        SparseRows {
            edges: self.edges,
            cells: self.log,
            first,
            removed: self.removed,
        }
    }
}

/// The sum over the bins of one row's (merged, bin-ordered) cells.
fn row_total(edges: &[i64], cells: &[Cell]) -> i64 {
    let mut sum = 0i64;
    let mut runs = 0i64;
    let mut since = 0usize;
    for c in cells {
        let bin = (c.code / 2) as usize;
        if c.code & 1 == 0 {
            sum += c.v;
        } else {
            if runs != 0 {
                sum += runs * (edges[bin] - edges[since]);
            }
            runs += c.v;
            since = bin;
        }
    }
    sum
}

/// Adds one row's (merged, bin-ordered) cells to `out` (one value per bin).
fn add_cells(edges: &[i64], cells: &[Cell], out: &mut [i64]) {
    let mut runs = 0i64;
    let mut since = 0usize;
    for c in cells {
        let bin = (c.code / 2) as usize;
        if c.code & 1 == 0 {
            out[bin] += c.v;
        } else {
            if runs != 0 {
                for (k, o) in out.iter_mut().enumerate().take(bin).skip(since) {
                    *o += runs * (edges[k + 1] - edges[k]);
                }
            }
            runs += c.v;
            since = bin;
        }
    }
}

/// The result of a [`SparseBinner`]: row `r`'s cells are `cells[first[r]..first[r + 1]]`,
/// in bin order. Rows past the last non-empty one are empty.
#[derive(Debug, Clone)]
pub struct SparseRows {
    edges: Vec<i64>,
    cells: Vec<Cell>,
    first: Vec<usize>,
    /// Per bin, the sum of the rows removed while binning (empty: none were).
    pub removed: Vec<i64>,
}

impl SparseRows {
    fn cells(&self, row: usize) -> &[Cell] {
        if row + 1 < self.first.len() {
            &self.cells[self.first[row]..self.first[row + 1]]
        } else {
            &[]
        }
    }

    /// Sum over the bins of `row`: its clipped overlap (ns) or its instants in range.
    pub fn total(&self, row: usize) -> i64 {
        row_total(&self.edges, self.cells(row))
    }

    /// Adds row `row` to `out` (one value per bin).
    pub fn add_to(&self, row: usize, out: &mut [i64]) {
        add_cells(&self.edges, self.cells(row), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bin by bin, interval by interval: the obvious O(intervals × bins) definition.
    fn naive_overlap(s: &[i64], e: &[i64], rows: &[u32], nrows: usize, edges: &[i64]) -> Vec<i64> {
        let n = edges.len() - 1;
        let mut out = vec![0; nrows * n];
        for k in 0..s.len() {
            for i in 0..n {
                let lo = s[k].max(edges[i]);
                let hi = e[k].min(edges[i + 1]);
                if hi > lo {
                    out[rows[k] as usize * n + i] += hi - lo;
                }
            }
        }
        out
    }

    fn naive_bin(edges: &[i64], t: i64) -> Option<usize> {
        let n = edges.len() - 1;
        if t == edges[n] {
            return Some(n - 1);
        }
        (0..n).find(|&i| edges[i] <= t && t < edges[i + 1])
    }

    /// A small deterministic generator (xorshift), so the tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }
    }

    #[test]
    fn overlaps() {
        let edges = [0, 10, 20, 30];
        let mut got = Vec::new();
        for_each_overlap(&edges, 5, 25, |b, ns| got.push((b, ns)));
        assert_eq!(got, vec![(0, 5), (1, 10), (2, 5)]);
        got.clear();
        for_each_overlap(&edges, -5, 10, |b, ns| got.push((b, ns)));
        assert_eq!(got, vec![(0, 10)]);
        got.clear();
        for_each_overlap(&edges, 30, 40, |b, ns| got.push((b, ns)));
        assert!(got.is_empty());
        // Repeated edges (a span shorter than the bins) make empty bins.
        assert_eq!(uniform_edges(0, 2, 4), vec![0, 0, 1, 1, 2]);
        got.clear();
        for_each_overlap(&[0, 0, 1, 1, 2], 0, 2, |b, ns| got.push((b, ns)));
        assert_eq!(got, vec![(1, 1), (3, 1)]);
    }

    #[test]
    fn uniform_edges_exact() {
        assert_eq!(uniform_edges(10, 20, 3), vec![10, 13, 16, 20]);
        assert_eq!(uniform_edges(0, 2, 4), vec![0, 0, 1, 1, 2]);
        assert_eq!(uniform_edges(5, 5, 2), vec![5, 5, 5]);
        // Would overflow i64 in (end - start) * i.
        let e = uniform_edges(0, i64::MAX / 2, 1000);
        assert_eq!(e[1000], i64::MAX / 2);
        assert_eq!(e[500], (i64::MAX / 2) / 2);
    }

    #[test]
    fn bin_of_matches_definition() {
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for _ in 0..300 {
            let n = rng.range(1, 12) as usize;
            let lo = rng.range(-50, 50);
            let hi = lo + rng.range(0, 40);
            let uni = uniform_edges(lo, hi, n);
            let mut irregular: Vec<i64> = (0..=n).map(|_| rng.range(lo, hi)).collect();
            irregular.sort();
            for edges in [uni, irregular] {
                let idx = BinIndex::new(&edges);
                for t in lo - 3..=hi + 3 {
                    assert_eq!(idx.bin_of(t), naive_bin(&edges, t), "edges {edges:?} t {t}");
                }
            }
        }
    }

    #[test]
    fn overlap_matches_naive() {
        let mut rng = Rng(12345);
        for _ in 0..500 {
            let n = rng.range(1, 10) as usize;
            let lo = rng.range(-100, 100);
            let hi = lo + rng.range(0, 200);
            let edges = if rng.next() & 1 == 0 {
                uniform_edges(lo, hi, n)
            } else {
                let mut e: Vec<i64> = (0..=n).map(|_| rng.range(lo, hi)).collect();
                e.sort();
                e
            };
            let nrows = rng.range(1, 4) as usize;
            let m = rng.range(0, 30) as usize;
            let (mut s, mut e, mut r) = (vec![], vec![], vec![]);
            for _ in 0..m {
                let a = rng.range(lo - 50, hi + 50);
                s.push(a);
                e.push(a + rng.range(-5, 150));
                r.push(rng.range(0, nrows as i64 - 1) as u32);
            }
            assert_eq!(
                overlap(&s, &e, &r, nrows, &edges),
                naive_overlap(&s, &e, &r, nrows, &edges),
                "edges {edges:?}"
            );
        }
    }

    /// The float64 kernels are the i64 ones converted (and divided by the bin width for a
    /// fraction), with rows [`SKIP`] left out.
    #[test]
    fn float_kernels_match_integer_ones() {
        let mut rng = Rng(2718);
        for round in 0..400 {
            let n = rng.range(1, 10) as usize;
            let lo = rng.range(-100, 100);
            let hi = lo + rng.range(0, 200);
            let edges = if round % 2 == 0 {
                uniform_edges(lo, hi, n)
            } else {
                let mut e: Vec<i64> = (0..=n).map(|_| rng.range(lo, hi)).collect();
                e.sort();
                e
            };
            let nrows = rng.range(1, 4) as usize;
            let m = rng.range(0, 30) as usize;
            let (mut s, mut e, mut r) = (vec![], vec![], vec![]);
            for _ in 0..m {
                let a = rng.range(lo - 50, hi + 50);
                s.push(a);
                e.push(a + rng.range(-5, 150));
                r.push(rng.range(0, nrows as i64) as u32); // nrows: skipped
            }
            let kept: Vec<usize> = (0..m).filter(|&k| (r[k] as usize) < nrows).collect();
            let pick = |v: &[i64]| kept.iter().map(|&k| v[k]).collect::<Vec<_>>();
            let (ks, ke) = (pick(&s), pick(&e));
            let kr: Vec<u32> = kept.iter().map(|&k| r[k]).collect();
            let want = overlap(&ks, &ke, &kr, nrows, &edges);
            let wc = count(&ks, &kr, nrows, &edges);
            let rows: Vec<u32> = r
                .iter()
                .map(|&x| if x as usize == nrows { SKIP } else { x })
                .collect();
            for fraction in [false, true] {
                let conv: Vec<f64> = want
                    .iter()
                    .enumerate()
                    .map(|(c, &v)| {
                        let w = edges[c % n + 1] - edges[c % n];
                        if fraction {
                            v as f64 / if w > 0 { w as f64 } else { f64::INFINITY }
                        } else {
                            v as f64
                        }
                    })
                    .collect();
                let got = overlap_f64(&s, &e, &rows, nrows, &edges, fraction);
                assert_eq!(got, conv, "edges {edges:?}");
                let items = (0..kr.len()).map(|k| (kr[k], ks[k], ke[k]));
                assert_eq!(overlap_dense_f64(items, nrows, &edges, fraction), conv);
            }
            let items = (0..kr.len()).map(|k| (kr[k], ks[k]));
            let wc: Vec<f64> = wc.iter().map(|&v| v as f64).collect();
            assert_eq!(count_f64(items, nrows, &edges), wc);
        }
    }

    #[test]
    fn bin_of_large_spans() {
        // (t - e[0]) * n overflows u64 here: the i128 path.
        let edges = uniform_edges(i64::MIN / 2, i64::MAX / 2, 1000);
        let idx = BinIndex::new(&edges);
        for t in [
            edges[0],
            edges[1] - 1,
            edges[1],
            edges[500] + 7,
            edges[1000] - 1,
        ] {
            assert_eq!(idx.bin_of(t), naive_bin(&edges, t), "t {t}");
        }
    }

    #[test]
    fn overlap_totals_are_clipped_lengths() {
        let edges = uniform_edges(0, 1000, 7);
        let s = [-10, 0, 999, 500];
        let e = [2000, 1, 1000, 500];
        let m = overlap(&s, &e, &[0, 1, 1, 1], 2, &edges);
        assert_eq!(m[..7].iter().sum::<i64>(), 1000);
        assert_eq!(m[7..].iter().sum::<i64>(), 2);
        assert_eq!(m[7], 1);
        assert_eq!(m[13], 1);
    }

    #[test]
    fn count_end_in_last_bin() {
        let edges = uniform_edges(0, 100, 4);
        let c = count(&[0, 24, 25, 99, 100, 101, -1], &[0; 7], 1, &edges);
        assert_eq!(c, vec![2, 1, 0, 2]);
    }

    #[test]
    fn binner_matches_batch() {
        let mut rng = Rng(777);
        for _ in 0..200 {
            let n = rng.range(1, 9) as usize;
            let lo = rng.range(-100, 100);
            let edges = uniform_edges(lo, lo + rng.range(0, 300), n);
            let nrows = rng.range(1, 4) as usize;
            let m = rng.range(0, 25) as usize;
            let (mut s, mut e, mut r) = (vec![], vec![], vec![]);
            for _ in 0..m {
                let a = rng.range(lo - 50, lo + 350);
                s.push(a);
                e.push(a + rng.range(0, 200));
                r.push(rng.range(0, nrows as i64 - 1) as u32);
            }
            let mut b = Binner::new(edges.clone());
            b.add_interval(nrows - 1, 0, 0); // creates every row
            for k in 0..m {
                b.add_interval(r[k] as usize, s[k], e[k]);
                b.add_instant(r[k] as usize, s[k]);
            }
            let (rows, time, counts) = b.finish();
            assert_eq!(rows, nrows);
            assert_eq!(time, overlap(&s, &e, &r, nrows, &edges));
            assert_eq!(counts, count(&s, &r, nrows, &edges));
        }
    }

    #[test]
    fn sparse_binner_matches_batch() {
        let mut rng = Rng(4242);
        for round in 0..300 {
            let n = rng.range(1, 9) as usize;
            let lo = rng.range(-100, 100);
            let edges = if round % 3 == 0 {
                let mut e: Vec<i64> = (0..=n).map(|_| rng.range(lo, lo + 200)).collect();
                e.sort();
                e
            } else {
                uniform_edges(lo, lo + rng.range(0, 300), n)
            };
            let nrows = rng.range(1, 5) as usize;
            let m = rng.range(0, 40) as usize;
            let (mut s, mut e, mut r) = (vec![], vec![], vec![]);
            for _ in 0..m {
                let a = rng.range(lo - 50, lo + 350);
                s.push(a);
                e.push(a + rng.range(0, 200));
                r.push(rng.range(0, nrows as i64 - 1) as u32);
            }
            let mut bt = SparseBinner::new(edges.clone());
            let mut bc = SparseBinner::new(edges.clone());
            // Tiny logs compact often: force that path too.
            if round % 2 == 0 {
                bt.compact_at = 3;
                bc.compact_at = 3;
            }
            for k in 0..m {
                bt.add_interval(r[k], s[k], e[k]);
                bc.add_instant(r[k], s[k]);
            }
            let (tt, cc) = (bt.finish(), bc.finish());
            let want_t = overlap(&s, &e, &r, nrows, &edges);
            let want_c = count(&s, &r, nrows, &edges);
            for row in 0..nrows {
                let mut got = vec![0i64; n];
                tt.add_to(row, &mut got);
                assert_eq!(
                    got,
                    want_t[row * n..(row + 1) * n],
                    "edges {edges:?} row {row}"
                );
                assert_eq!(tt.total(row), got.iter().sum::<i64>());
                let mut got = vec![0i64; n];
                cc.add_to(row, &mut got);
                assert_eq!(got, want_c[row * n..(row + 1) * n]);
                assert_eq!(cc.total(row), got.iter().sum::<i64>());
            }
        }
    }
}
