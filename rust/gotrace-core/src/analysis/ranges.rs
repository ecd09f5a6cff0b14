//! Ranges (GC phases, STW, sweep, mark assist) paired Begin/Active -> End, and the oracle's
//! `ranges`, `gc` and `stw` sums.

use rustc_hash::FxHashMap as HashMap;

use crate::store::EventKind;

/// One range, columnar: `name` (string ID), scope kind/id, begin/end time (`end` = last
/// event time and `open` set when it did not end), whether it began before the trace
/// (opened by a `RangeActive`).
#[derive(Default, Debug, Clone)]
pub struct RangeTable {
    pub name: Vec<u32>,
    pub scope_kind: Vec<u8>,
    pub scope_id: Vec<i64>,
    pub begin: Vec<i64>,
    pub end: Vec<i64>,
    pub active_at_start: Vec<bool>,
    pub open: Vec<bool>,
}

/// Per range name (string ID).
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeCounts {
    pub begin: i64,
    pub active: i64,
    pub end: i64,
    pub time_ns: i64,
    pub completed: i64,
    pub open_at_end: i64,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcStats {
    pub count: i64,
    pub active_at_start: i64,
    pub completed: i64,
    pub mark_total_ns: i64,
    pub sweep_bytes_swept: u64,
    pub sweep_bytes_reclaimed: u64,
}

#[derive(Default, Debug, Clone)]
pub struct StwStats {
    pub count: i64,
    pub total_ns: i64,
    /// (reason, count, ns), sorted by reason.
    pub by_reason: Vec<(Vec<u8>, i64, i64)>,
}

#[derive(Default, Debug, Clone)]
pub struct RangeSummary {
    pub table: RangeTable,
    /// (name string ID, counts), sorted by the name's bytes.
    pub by_name: Vec<(u32, RangeCounts)>,
    pub gc: GcStats,
    pub stw: StwStats,
}

const GC_MARK: &[u8] = b"GC concurrent mark phase";
const STW_PREFIX: &[u8] = b"stop-the-world (";

#[derive(Default, Debug)]
pub struct RangeTracker {
    open: HashMap<(u32, u8, i64), usize>,
    table: RangeTable,
    by_name: HashMap<u32, RangeCounts>,
    gc: GcStats,
    stw: HashMap<Vec<u8>, (i64, i64)>,
    stw_count: i64,
    stw_total: i64,
}

impl RangeTracker {
    /// One Range event. `name_bytes` is the name's string; `attrs` the RangeEnd attributes
    /// (bytes swept, bytes reclaimed) if any.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        kind: u8,
        t: i64,
        name: u32,
        name_bytes: &[u8],
        scope_kind: u8,
        scope_id: i64,
        attrs: Option<[u64; 2]>,
    ) {
        let key = (name, scope_kind, scope_id);
        let is_gc = name_bytes == GC_MARK;
        let c = self.by_name.entry(name).or_default();
        let open_new = |tb: &mut RangeTable, active: bool| {
            tb.name.push(name);
            tb.scope_kind.push(scope_kind);
            tb.scope_id.push(scope_id);
            tb.begin.push(t);
            tb.end.push(t);
            tb.active_at_start.push(active);
            tb.open.push(true);
            tb.name.len() - 1
        };
        if kind == EventKind::RangeBegin as u8 {
            c.begin += 1;
            // A Begin on an open key replaces it (the earlier one never ends).
            let i = open_new(&mut self.table, false);
            self.open.insert(key, i);
            if is_gc {
                self.gc.count += 1;
            }
        } else if kind == EventKind::RangeActive as u8 {
            c.active += 1;
            if !self.open.contains_key(&key) {
                let i = open_new(&mut self.table, true);
                self.open.insert(key, i);
                if is_gc {
                    self.gc.active_at_start += 1;
                }
            }
        } else {
            c.end += 1;
            if let Some([swept, reclaimed]) = attrs {
                self.gc.sweep_bytes_swept = self.gc.sweep_bytes_swept.wrapping_add(swept);
                self.gc.sweep_bytes_reclaimed =
                    self.gc.sweep_bytes_reclaimed.wrapping_add(reclaimed);
            }
            if let Some(i) = self.open.remove(&key) {
                let d = t - self.table.begin[i];
                self.table.end[i] = t;
                self.table.open[i] = false;
                c.time_ns += d;
                c.completed += 1;
                if is_gc {
                    self.gc.completed += 1;
                    self.gc.mark_total_ns += d;
                }
                if let Some(rest) = name_bytes.strip_prefix(STW_PREFIX) {
                    let reason = rest.strip_suffix(b")").unwrap_or(rest);
                    self.stw_count += 1;
                    self.stw_total += d;
                    let e = self.stw.entry(reason.to_vec()).or_default();
                    e.0 += 1;
                    e.1 += d;
                }
            }
        }
    }

    pub fn finish(mut self, end: i64, name_of: impl Fn(u32) -> Vec<u8>) -> RangeSummary {
        for (&(name, _, _), &i) in &self.open {
            self.table.end[i] = end;
            self.by_name.entry(name).or_default().open_at_end += 1;
        }
        // Ranges replaced by a later Begin on the same key never ended either; they keep
        // `open` set and end at the last event.
        for i in 0..self.table.name.len() {
            if self.table.open[i] {
                self.table.end[i] = end;
            }
        }
        let mut by_name: Vec<(u32, RangeCounts)> = self.by_name.into_iter().collect();
        by_name.sort_by_cached_key(|(n, _)| name_of(*n));
        let mut by_reason: Vec<(Vec<u8>, i64, i64)> = self
            .stw
            .into_iter()
            .map(|(r, (c, ns))| (r, c, ns))
            .collect();
        by_reason.sort();
        RangeSummary {
            table: self.table,
            by_name,
            gc: self.gc,
            stw: StwStats {
                count: self.stw_count,
                total_ns: self.stw_total,
                by_reason,
            },
        }
    }
}
