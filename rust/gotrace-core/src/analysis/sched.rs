//! Scheduling metrics from the state interval tables ([`super::intervals`]): scheduling
//! latency (Runnable -> Running waits), block durations (Waiting intervals) and per-bin
//! fairness of goroutines' execution time and procs' busy time.
//!
//! Everything takes plain column slices, so it runs on the tables as Python holds them.
//!
//! Definitions (also in the Python docstrings):
//!
//! * Percentiles are nearest-rank: of `n` durations sorted ascending `d[1] <= ... <= d[n]`,
//!   the `q`-th percentile (`0 < q <= 100`) is `d[ceil(q * n / 100)]` (numpy's
//!   `percentile(..., method="inverted_cdf")`).
//! * Histograms have log-spaced integer edges `0, 1, 2, 4, ..., 2^k` ns, the last being the
//!   first power of two greater than the maximum; bin `i` counts `edges[i] <= d <
//!   edges[i + 1]` (bin 0 holds the zero-length waits).

use crate::store::{gostate, procstate};

/// Count, sum, mean, nearest-rank percentiles and log2 histogram of durations (ns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DurationStats {
    pub count: u64,
    pub sum: i64,
    /// `sum / count` (NaN when empty).
    pub mean: f64,
    /// Nearest-rank p50, p90, p99 and min/max; 0 when empty.
    pub min: i64,
    pub p50: i64,
    pub p90: i64,
    pub p99: i64,
    pub max: i64,
    /// Histogram edges (`counts.len() + 1` of them; empty when there are no durations).
    pub edges: Vec<i64>,
    pub counts: Vec<u64>,
}

/// Nearest-rank percentile `q` (in percent, `0 < q <= 100`) of ascending `sorted` (non-empty).
pub fn nearest_rank(sorted: &[i64], q: u32) -> i64 {
    let n = sorted.len() as u64;
    let rank = (u64::from(q) * n).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// Statistics of `durs` (sorted in place; durations must be >= 0).
pub fn duration_stats(durs: &mut [i64]) -> DurationStats {
    if durs.is_empty() {
        return DurationStats {
            mean: f64::NAN,
            ..Default::default()
        };
    }
    durs.sort_unstable();
    let n = durs.len();
    let sum: i64 = durs.iter().sum();
    let max = durs[n - 1];
    // Edges 0, 1, 2, 4, ..., 2^k with 2^k > max.
    let mut edges = vec![0i64, 1];
    while let Some(&e) = edges.last().filter(|&&e| e <= max) {
        edges.push(e.checked_mul(2).unwrap_or(i64::MAX));
        if e > i64::MAX / 2 {
            break;
        }
    }
    let nbins = edges.len() - 1;
    let mut counts = vec![0u64; nbins];
    for &d in durs.iter() {
        // Bin 0 holds d == 0; bin i >= 1 holds 2^(i-1) <= d < 2^i.
        let b = if d <= 0 {
            0
        } else {
            (64 - d.leading_zeros()) as usize
        };
        counts[b.min(nbins - 1)] += 1;
    }
    DurationStats {
        count: n as u64,
        sum,
        mean: sum as f64 / n as f64,
        min: durs[0],
        p50: nearest_rank(durs, 50),
        p90: nearest_rank(durs, 90),
        p99: nearest_rank(durs, 99),
        max,
        edges,
        counts,
    }
}

/// Statistics of `durs` per key (`keys[i]` is the key of `durs[i]`), sorted by key.
pub fn grouped_stats<K: Ord + Copy>(durs: &[i64], keys: &[K]) -> Vec<(K, DurationStats)> {
    assert_eq!(durs.len(), keys.len());
    let mut pairs: Vec<(K, i64)> = keys.iter().copied().zip(durs.iter().copied()).collect();
    pairs.sort_unstable();
    let mut out = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let k = pairs[i].0;
        let j = i + pairs[i..].partition_point(|p| p.0 == k);
        let mut d: Vec<i64> = pairs[i..j].iter().map(|p| p.1).collect();
        out.push((k, duration_stats(&mut d)));
        i = j;
    }
    out
}

/// Indices of the goroutine intervals that are scheduling waits: Runnable intervals,
/// closed before the end, directly followed (same goroutine, starting when it ends) by a
/// Running interval. The table must list each goroutine's intervals in time order (as
/// [`super::intervals::Tracker`] makes it).
pub fn sched_wait_indices(id: &[i64], start: &[i64], end: &[i64], state: &[u8]) -> Vec<usize> {
    let n = id.len();
    assert!(start.len() == n && end.len() == n && state.len() == n);
    let mut prev: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for j in 0..n {
        if let Some(i) = prev.insert(id[j], j) {
            if state[i] == gostate::RUNNABLE && state[j] == gostate::RUNNING && start[j] == end[i] {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Indices of the Waiting goroutine intervals that ended before the end of the trace
/// (`open` false).
pub fn block_indices(state: &[u8], open: &[bool]) -> Vec<usize> {
    state
        .iter()
        .zip(open)
        .enumerate()
        .filter(|(_, (&s, &o))| s == gostate::WAITING && !o)
        .map(|(i, _)| i)
        .collect()
}

/// Per-bin fairness metrics (see [`fairness`]).
#[derive(Debug, Clone, Default)]
pub struct Fairness {
    pub edges: Vec<i64>,
    /// Total Running time of all goroutines in the bin (ns).
    pub exec_ns: Vec<i64>,
    /// Goroutines that ran in the bin.
    pub goroutines: Vec<u64>,
    pub entropy: Vec<f64>,
    pub gini: Vec<f64>,
    /// Procs that exist (are Running or Idle) in the bin.
    pub procs: Vec<u64>,
    /// Total Running time of the procs in the bin (ns).
    pub proc_busy_ns: Vec<i64>,
    pub proc_busy_var: Vec<f64>,
    pub proc_busy_cv: Vec<f64>,
}

/// Normalised Shannon entropy and Gini coefficient of positive values `x` (sorted
/// ascending): `H = -sum(s ln s) / ln n` with `s = x / sum(x)`, and
/// `G = sum_i (2i - n - 1) x_i / (n sum(x))` (i = 1..n). `n = 1` gives `(1, 0)`, `n = 0`
/// NaNs.
pub fn entropy_gini(sorted: &[i64]) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    if n == 1 {
        return (1.0, 0.0);
    }
    let total: f64 = sorted.iter().map(|&x| x as f64).sum();
    let mut h = 0.0;
    let mut g = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let s = x as f64 / total;
        if s > 0.0 {
            h -= s * s.ln();
        }
        g += (2.0 * (i + 1) as f64 - n as f64 - 1.0) * x as f64;
    }
    let h = (h / (n as f64).ln()).clamp(0.0, 1.0);
    let g = (g / (n as f64 * total)).clamp(0.0, 1.0);
    (h, g)
}

/// Column slices of one interval table.
#[derive(Clone, Copy, Debug)]
pub struct Cols<'a> {
    pub id: &'a [i64],
    pub start: &'a [i64],
    pub end: &'a [i64],
    pub state: &'a [u8],
}

/// Per bin of `edges`: with `x_g` the Running time of goroutine `g` in the bin (exact
/// overlap, ns) over the `n` goroutines with `x_g > 0`, the entropy and Gini of
/// [`entropy_gini`]; with `y_p` the Running time of proc `p` in the bin over the `P` procs
/// that are Running or Idle for some time in it, the population variance
/// `sum (y_p - mean)^2 / P` and coefficient of variation `sqrt(var) / mean` (NaN when
/// `P = 0` or `mean = 0`).
pub fn fairness(goroutines: Cols<'_>, procs: Cols<'_>, edges: &[i64]) -> Fairness {
    let nb = edges.len().saturating_sub(1);
    let mut f = Fairness {
        edges: edges.to_vec(),
        exec_ns: vec![0; nb],
        goroutines: vec![0; nb],
        entropy: vec![f64::NAN; nb],
        gini: vec![f64::NAN; nb],
        procs: vec![0; nb],
        proc_busy_ns: vec![0; nb],
        proc_busy_var: vec![f64::NAN; nb],
        proc_busy_cv: vec![f64::NAN; nb],
    };
    if nb == 0 {
        return f;
    }
    // (bin, id, ns) of every overlap, then summed per (bin, id).
    let per_bin = |c: Cols<'_>, keep: &dyn Fn(u8) -> Option<bool>| {
        let mut v: Vec<(u32, i64, i64, bool)> = Vec::new();
        for i in 0..c.id.len() {
            if let Some(busy) = keep(c.state[i]) {
                let id = c.id[i];
                crate::binning::for_each_overlap(edges, c.start[i], c.end[i], |b, ns| {
                    v.push((b as u32, id, ns, busy))
                });
            }
        }
        v.sort_unstable_by_key(|t| (t.0, t.1));
        // Merge to (bin, id, busy ns).
        let mut out: Vec<(u32, i64, i64)> = Vec::with_capacity(v.len());
        for (b, id, ns, busy) in v {
            let add = if busy { ns } else { 0 };
            match out.last_mut() {
                Some(l) if l.0 == b && l.1 == id => l.2 += add,
                _ => out.push((b, id, add)),
            }
        }
        out
    };
    let g = per_bin(goroutines, &|s| (s == gostate::RUNNING).then_some(true));
    let mut i = 0;
    let mut xs: Vec<i64> = Vec::new();
    while i < g.len() {
        let b = g[i].0;
        let j = i + g[i..].partition_point(|t| t.0 == b);
        xs.clear();
        xs.extend(g[i..j].iter().map(|t| t.2));
        xs.sort_unstable();
        let bi = b as usize;
        f.exec_ns[bi] = xs.iter().sum();
        f.goroutines[bi] = xs.len() as u64;
        let (h, gi) = entropy_gini(&xs);
        f.entropy[bi] = h;
        f.gini[bi] = gi;
        i = j;
    }
    let p = per_bin(procs, &|s| match s {
        procstate::RUNNING => Some(true),
        procstate::IDLE => Some(false),
        _ => None,
    });
    let mut i = 0;
    while i < p.len() {
        let b = p[i].0;
        let j = i + p[i..].partition_point(|t| t.0 == b);
        let ys = &p[i..j];
        let n = ys.len() as f64;
        let total: i64 = ys.iter().map(|t| t.2).sum();
        let mean = total as f64 / n;
        let var = ys.iter().map(|t| (t.2 as f64 - mean).powi(2)).sum::<f64>() / n;
        let bi = b as usize;
        f.procs[bi] = ys.len() as u64;
        f.proc_busy_ns[bi] = total;
        f.proc_busy_var[bi] = var;
        f.proc_busy_cv[bi] = if mean > 0.0 {
            var.sqrt() / mean
        } else {
            f64::NAN
        };
        i = j;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use gostate::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), 5);
        assert_eq!(nearest_rank(&v, 90), 9);
        assert_eq!(nearest_rank(&v, 99), 10);
        assert_eq!(nearest_rank(&v, 100), 10);
        assert_eq!(nearest_rank(&[7], 1), 7);
    }

    #[test]
    fn stats_and_histogram() {
        let mut d = vec![0, 1, 3, 4, 100];
        let s = duration_stats(&mut d);
        assert_eq!((s.count, s.sum, s.min, s.max), (5, 108, 0, 100));
        assert_eq!(s.edges, vec![0, 1, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(s.counts, vec![1, 1, 1, 1, 0, 0, 0, 1]);
        assert_eq!(s.counts.iter().sum::<u64>(), 5);
        assert_eq!(s.p50, 3);
        let e = duration_stats(&mut []);
        assert_eq!(e.count, 0);
        assert!(e.mean.is_nan());
    }

    #[test]
    fn grouped() {
        let g = grouped_stats(&[5, 1, 3, 2], &[7, 3, 7, 3]);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].0, g[0].1.count, g[0].1.sum, g[0].1.max), (3, 2, 3, 2));
        assert_eq!((g[1].0, g[1].1.count, g[1].1.sum, g[1].1.p50), (7, 2, 8, 3));
        assert!(grouped_stats::<i64>(&[], &[]).is_empty());
    }

    #[test]
    fn waits_are_runnable_then_running() {
        // g1: Runnable [0,5) -> Running [5,9) -> Runnable [9,12) -> Waiting [12,20) open.
        // g2: Runnable [1,4) -> (NotExist) -> Running [6,8); Runnable [8,20) open.
        let id = [1, 2, 1, 2, 1, 1, 2, 2];
        let start = [0, 1, 5, 6, 9, 12, 8, 8];
        let end = [5, 4, 9, 8, 12, 20, 20, 20];
        let state = [
            RUNNABLE, RUNNABLE, RUNNING, RUNNING, RUNNABLE, WAITING, RUNNABLE, WAITING,
        ];
        assert_eq!(sched_wait_indices(&id, &start, &end, &state), vec![0]);
        let open = [false, false, false, false, false, true, true, false];
        assert_eq!(block_indices(&state, &open), vec![7]);
    }

    #[test]
    fn entropy_and_gini() {
        let (h, g) = entropy_gini(&[5, 5, 5, 5]);
        assert!((h - 1.0).abs() < 1e-12 && g.abs() < 1e-12);
        let (h, g) = entropy_gini(&[1, 1_000_000]);
        assert!(h < 0.01 && (g - 0.5).abs() < 1e-5);
        assert_eq!(entropy_gini(&[3]), (1.0, 0.0));
    }

    #[test]
    fn fairness_bins() {
        let g = Cols {
            id: &[1, 2, 1],
            start: &[0, 0, 10],
            end: &[10, 20, 15],
            state: &[RUNNING, RUNNING, WAITING],
        };
        let p = Cols {
            id: &[0, 1, 1],
            start: &[0, 0, 10],
            end: &[20, 10, 20],
            state: &[procstate::RUNNING, procstate::RUNNING, procstate::IDLE],
        };
        let f = fairness(g, p, &[0, 10, 20]);
        assert_eq!(f.exec_ns, vec![20, 10]);
        assert_eq!(f.goroutines, vec![2, 1]);
        assert_eq!(f.gini, vec![0.0, 0.0]);
        assert_eq!(f.entropy, vec![1.0, 1.0]);
        assert_eq!(f.procs, vec![2, 2]);
        assert_eq!(f.proc_busy_ns, vec![20, 10]);
        assert_eq!(f.proc_busy_var, vec![0.0, 25.0]);
        assert_eq!(f.proc_busy_cv, vec![0.0, 1.0]);
    }
}
