//! Go's frontier: a binary min-heap of per-M cursors keyed by the time of each cursor's
//! next event (Go's `heapInsert`/`heapUpdate`/`heapRemove` in `internal/trace`), and an
//! index over it that keeps the reader's search for the next event from going quadratic.
//!
//! When the heap's top cannot advance, Go sorts the whole frontier by time (an unstable
//! sort: among equal times the order is whatever its pdqsort leaves) and tries every
//! other cursor in array order until one advances. With K threads that is O(K) per event
//! however few of them could move, so a trace with many threads whose events wait on
//! each other (thousands of Ms at one timestamp passing a goroutine along) is quadratic.
//! The order that search produces among equal timestamps is part of Go's output, so a
//! faster search must visit the same array, in the same layout, and pick the same entry.
//!
//! [`Index`] does that for frontiers of at least [`INDEX_MIN`] entries, exactly:
//! * It observes every move of the heap operations ([`Track`]), keeping each cursor's
//!   position, and counts the adjacent pairs that are out of order. When there are none,
//!   Go's sort leaves the array as it is (its pdqsort only moves an element that is
//!   strictly less than one before it; see `gosort`), so the sort is skipped.
//! * It keeps a bit per position: set unless that entry is known to be blocked. An entry
//!   whose try answered "not yet" is blocked on the keys [`crate::order::Ordering::wait_keys`]
//!   gives (the state its handler read), and is only tried again once a write to that
//!   state wakes it. Trying the set bits in array order from position 1 then gives the
//!   first entry that advances, as Go's loop does, because every skipped entry would
//!   have answered "not yet" again with no side effect.
//!
//! The reader makes the index when a frontier of at least [`INDEX_MIN`] entries first
//! blocks, and drops it after four times the frontier's size events in a row advance
//! from the top. A sort of an unsorted frontier still costs O(K): a heap operation that
//! moves an entry past others leaves the array unsorted, and the layout Go's sort makes
//! of it decides later choices among equal times, so it has to run.
//!
//! The v1 merge (`v1::parse`) has the same problem in another shape (every P without an
//! event in its heap is tried for every event) and uses [`Bits`] the same way.

use rustc_hash::FxHashMap;

use crate::order::Wait;

/// A frontier entry: the time of a cursor's next event and the cursor's index. Go's heap
/// holds cursor pointers; holding (time, index) pairs moves 16 bytes per swap instead of
/// a whole cursor and keeps the comparisons in one cache line, with identical ordering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeapEnt {
    pub time: i64,
    pub c: u32,
}

/// Smallest frontier the reader indexes: below it, trying every entry is cheap.
pub(crate) const INDEX_MIN: usize = 64;

/// The element moves of the heap operations, observed ([`Index`]) or not ([`Plain`]).
pub(crate) trait Track {
    fn swap(&mut self, h: &mut [HeapEnt], i: usize, j: usize);
    fn set_time(&mut self, h: &mut [HeapEnt], i: usize, t: i64);
    fn push(&mut self, h: &mut Vec<HeapEnt>, e: HeapEnt);
    fn pop(&mut self, h: &mut Vec<HeapEnt>);
}

/// The heap operations as they are.
pub(crate) struct Plain;

impl Track for Plain {
    #[inline(always)]
    fn swap(&mut self, h: &mut [HeapEnt], i: usize, j: usize) {
        h.swap(i, j);
    }
    #[inline(always)]
    fn set_time(&mut self, h: &mut [HeapEnt], i: usize, t: i64) {
        h[i].time = t;
    }
    #[inline(always)]
    fn push(&mut self, h: &mut Vec<HeapEnt>, e: HeapEnt) {
        h.push(e);
    }
    #[inline(always)]
    fn pop(&mut self, h: &mut Vec<HeapEnt>) {
        h.pop();
    }
}

// Go's heap over []*batchCursor, keyed by the next event's time.
#[inline]
fn sift_up<T: Track>(t: &mut T, h: &mut [HeapEnt], mut i: usize) -> usize {
    while i > 0 && h[(i - 1) / 2].time > h[i].time {
        t.swap(h, (i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    i
}

#[inline]
fn sift_down<T: Track>(t: &mut T, h: &mut [HeapEnt], mut i: usize) {
    loop {
        let m = min3(h, i, 2 * i + 1, 2 * i + 2);
        if m == i {
            break;
        }
        t.swap(h, i, m);
        i = m;
    }
}

#[inline]
fn min3(b: &[HeapEnt], i0: usize, i1: usize, i2: usize) -> usize {
    let mut min_idx = i0;
    let mut min_t = i64::MAX;
    if i0 < b.len() {
        min_t = b[i0].time;
    }
    if i1 < b.len() && b[i1].time < min_t {
        min_t = b[i1].time;
        min_idx = i1;
    }
    if i2 < b.len() && b[i2].time < min_t {
        min_idx = i2;
    }
    min_idx
}

pub(crate) fn insert<T: Track>(t: &mut T, h: &mut Vec<HeapEnt>, e: HeapEnt) {
    t.push(h, e);
    let n = h.len() - 1;
    sift_up(t, h, n);
}

/// Entry `i` now has time `time`: restore the heap.
#[inline]
pub(crate) fn update<T: Track>(t: &mut T, h: &mut [HeapEnt], i: usize, time: i64) {
    t.set_time(h, i, time);
    if sift_up(t, h, i) != i {
        return;
    }
    sift_down(t, h, i);
}

pub(crate) fn remove<T: Track>(t: &mut T, h: &mut Vec<HeapEnt>, mut i: usize) {
    while i > 0 {
        t.swap(h, (i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    let last = h.len() - 1;
    t.swap(h, 0, last);
    t.pop(h);
    sift_down(t, h, 0);
}

/// A set of positions with "next set position from `i`" in O(log64 n): 64-bit words,
/// and above them levels of summary words whose bit `w` says word `w` below is not 0.
#[derive(Debug, Default)]
pub(crate) struct Bits {
    levels: Vec<Vec<u64>>,
}

impl Bits {
    pub(crate) fn new(n: usize) -> Self {
        let mut levels = Vec::new();
        let mut len = n.max(1);
        loop {
            let words = len.div_ceil(64);
            levels.push(vec![0u64; words]);
            if words == 1 {
                break;
            }
            len = words;
        }
        Bits { levels }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.levels[0].len() * 64
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.levels[0][i / 64] >> (i % 64) & 1 != 0
    }

    pub(crate) fn set(&mut self, mut i: usize) {
        for l in &mut self.levels {
            let w = &mut l[i / 64];
            let was = *w;
            *w |= 1 << (i % 64);
            if was != 0 {
                break;
            }
            i /= 64;
        }
    }

    pub(crate) fn clear(&mut self, mut i: usize) {
        for l in &mut self.levels {
            let w = &mut l[i / 64];
            *w &= !(1 << (i % 64));
            if *w != 0 {
                break;
            }
            i /= 64;
        }
    }

    pub(crate) fn put(&mut self, i: usize, on: bool) {
        if on {
            self.set(i);
        } else {
            self.clear(i);
        }
    }

    /// The first set position at or after `from`.
    pub(crate) fn next(&self, from: usize) -> Option<usize> {
        let mut l = 0;
        let mut i = from;
        loop {
            let level = self.levels.get(l)?;
            let w = i / 64;
            let word = *level.get(w)?;
            let m = word & (!0u64 << (i % 64));
            if m != 0 {
                i = w * 64 + m.trailing_zeros() as usize;
                break;
            }
            i = w + 1;
            l += 1;
        }
        while l > 0 {
            l -= 1;
            i = i * 64 + self.levels[l][i].trailing_zeros() as usize;
        }
        Some(i)
    }
}

pub(crate) const NONE: u32 = u32::MAX;

/// Entries (numbered `0..ids`) at positions of a list, and which of them wait: a bit per
/// position, clear only if the entry there is registered under wait keys `K` with its
/// current epoch and none of those keys was woken since. Both the v2 frontier index and
/// the v1 merge's list of Ps use it; the owner moves positions and bits along with the
/// list. An entry's epoch is bumped when its registrations go stale (it advanced, or
/// one of its keys woke it), so the other registrations of that wait are ignored.
#[derive(Debug)]
pub(crate) struct Waiting<K> {
    pub bits: Bits,
    pub pos: Vec<u32>,
    epoch: Vec<u32>,
    waits: FxHashMap<K, Vec<(u32, u32)>>,
}

impl<K: std::hash::Hash + Eq + Copy> Waiting<K> {
    /// `ids` entries, none placed, room for `positions` positions.
    pub fn new(ids: usize, positions: usize) -> Self {
        Waiting {
            bits: Bits::new(positions),
            pos: vec![NONE; ids],
            epoch: vec![0; ids],
            waits: FxHashMap::default(),
        }
    }

    /// Entry `id`, at position `i`, waits for `keys` (none: it stays to be tried).
    pub fn block(&mut self, i: usize, id: usize, keys: &[K]) {
        if keys.is_empty() {
            return;
        }
        let ep = self.epoch[id];
        for &k in keys {
            self.waits.entry(k).or_default().push((id as u32, ep));
        }
        self.bits.clear(i);
    }

    /// Entry `id` moved on (or left the list): its registrations are stale.
    pub fn advanced(&mut self, id: usize) {
        self.epoch[id] = self.epoch[id].wrapping_add(1);
    }

    /// What waited for `k` may go now.
    pub fn wake(&mut self, k: &K) {
        if self.waits.is_empty() {
            return;
        }
        let Some(list) = self.waits.remove(k) else {
            return;
        };
        for (id, ep) in list {
            let id = id as usize;
            if self.epoch[id] == ep {
                self.epoch[id] = ep.wrapping_add(1);
                if self.pos[id] != NONE {
                    self.bits.set(self.pos[id] as usize);
                }
            }
        }
    }
}

/// The index over a frontier of one generation (see the module documentation): entries
/// are cursors, positions those of the heap array. Its invariants, kept by the [`Track`]
/// methods: `pos[h[i].c] == i`; `inv` is the number of `i` with `h[i].time <
/// h[i - 1].time`; the bits as [`Waiting`] says.
#[derive(Debug)]
pub(crate) struct Index {
    w: Waiting<Wait>,
    inv: usize,
}

impl Index {
    /// An index over `h`, a frontier of cursors numbered below `cursors`, every entry
    /// still to be tried.
    pub fn new(h: &[HeapEnt], cursors: usize) -> Self {
        let mut ix = Index {
            w: Waiting::new(cursors, h.len()),
            inv: 0,
        };
        ix.rebuild(h, |_| true);
        ix
    }

    /// Recomputes positions, bits and order after `h` was rearranged (sorted); `on(c)`
    /// says whether cursor `c`'s bit is set.
    fn rebuild(&mut self, h: &[HeapEnt], on: impl Fn(u32) -> bool) {
        for l in &mut self.w.bits.levels {
            l.fill(0);
        }
        self.inv = 0;
        for (i, e) in h.iter().enumerate() {
            self.w.pos[e.c as usize] = i as u32;
            if on(e.c) {
                self.w.bits.set(i);
            }
            if i > 0 && e.time < h[i - 1].time {
                self.inv += 1;
            }
        }
    }

    /// Whether the frontier is in non-decreasing time order (then Go's sort keeps it as
    /// it is).
    pub fn sorted(&self) -> bool {
        self.inv == 0
    }

    /// Go's sort of the frontier, the index following it.
    pub fn sort(&mut self, h: &mut [HeapEnt]) {
        let mut was = vec![false; self.w.pos.len()];
        for (i, e) in h.iter().enumerate() {
            was[e.c as usize] = self.w.bits.get(i);
        }
        crate::gosort::sort_func(h, |a, b| a.time < b.time);
        self.rebuild(h, |c| was[c as usize]);
    }

    /// Whether the entry at position `i` may advance (is not known to be blocked).
    pub fn maybe(&self, i: usize) -> bool {
        self.w.bits.get(i)
    }

    /// The first position at or after `i` that may advance.
    pub fn next(&self, i: usize) -> Option<usize> {
        self.w.bits.next(i)
    }

    /// The entry at `i`, cursor `c`, answered "not yet" and waits for `keys` (none: it
    /// stays to be tried).
    pub fn block(&mut self, i: usize, c: u32, keys: &[Wait]) {
        self.w.block(i, c as usize, keys);
    }

    /// Cursor `c` advanced: its registrations are stale, its next event is untried.
    pub fn advanced(&mut self, c: u32) {
        self.w.advanced(c as usize);
    }

    /// What waited for `k` may advance now.
    pub fn wake(&mut self, k: &Wait) {
        self.w.wake(k);
    }

    /// Counts (`add`) or uncounts the pair ending at position `i` in `inv`.
    #[inline]
    fn pair(&mut self, h: &[HeapEnt], i: usize, add: bool) {
        if i > 0 && i < h.len() && h[i].time < h[i - 1].time {
            if add {
                self.inv += 1;
            } else {
                self.inv -= 1;
            }
        }
    }

    /// The pairs whose order may change when positions `i` and `j` change.
    fn pairs(i: usize, j: usize) -> [usize; 4] {
        let mut p = [i, i + 1, j, j + 1];
        // Adjacent positions share a pair: count it once.
        if j == i + 1 {
            p[2] = usize::MAX;
        } else if i == j + 1 {
            p[0] = usize::MAX;
        }
        p
    }
}

impl Track for Index {
    fn swap(&mut self, h: &mut [HeapEnt], i: usize, j: usize) {
        if i == j {
            return;
        }
        let ps = Self::pairs(i, j);
        for &p in &ps {
            self.pair(h, p, false);
        }
        h.swap(i, j);
        for &p in &ps {
            self.pair(h, p, true);
        }
        self.w.pos[h[i].c as usize] = i as u32;
        self.w.pos[h[j].c as usize] = j as u32;
        let (bi, bj) = (self.w.bits.get(i), self.w.bits.get(j));
        if bi != bj {
            self.w.bits.put(i, bj);
            self.w.bits.put(j, bi);
        }
    }

    fn set_time(&mut self, h: &mut [HeapEnt], i: usize, t: i64) {
        self.pair(h, i, false);
        self.pair(h, i + 1, false);
        h[i].time = t;
        self.pair(h, i, true);
        self.pair(h, i + 1, true);
    }

    fn push(&mut self, h: &mut Vec<HeapEnt>, e: HeapEnt) {
        h.push(e);
        let i = h.len() - 1;
        self.pair(h, i, true);
        let c = e.c as usize;
        if c >= self.w.pos.len() {
            self.w.pos.resize(c + 1, NONE);
            self.w.epoch.resize(c + 1, 0);
        }
        self.w.pos[c] = i as u32;
        if i >= self.w.bits.capacity() {
            let mut b = Bits::new(2 * i + 1);
            for j in 0..i {
                if self.w.bits.get(j) {
                    b.set(j);
                }
            }
            self.w.bits = b;
        }
        self.w.bits.set(i);
    }

    fn pop(&mut self, h: &mut Vec<HeapEnt>) {
        let i = h.len() - 1;
        self.pair(h, i, false);
        self.w.bits.clear(i);
        let e = h.pop().expect("pop of an empty frontier");
        self.w.pos[e.c as usize] = NONE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnd(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn bits_find_the_next_set_position() {
        let mut x = 7u64;
        for n in [1usize, 63, 64, 65, 4095, 4096, 4097, 300_000] {
            let mut b = Bits::new(n);
            let mut naive = vec![false; n];
            for _ in 0..2000 {
                let i = (rnd(&mut x) % n as u64) as usize;
                let on = !rnd(&mut x).is_multiple_of(3);
                b.put(i, on);
                naive[i] = on;
                let from = (rnd(&mut x) % n as u64) as usize;
                let want = (from..n).find(|&j| naive[j]);
                assert_eq!(b.next(from), want, "n={n} from={from}");
                assert_eq!(b.get(i), on);
            }
        }
    }

    /// The tracked heap operations move entries as the plain ones do, and keep the
    /// index's positions and order count right.
    #[test]
    fn tracked_heap_matches_plain() {
        let mut x = 99u64;
        for n in [1usize, 2, 3, 10, 100, 1000] {
            for modulo in [1u64, 3, 1000] {
                let mut a: Vec<HeapEnt> = Vec::new();
                let mut b: Vec<HeapEnt> = Vec::new();
                let mut ix = Index::new(&[], n);
                for c in 0..n as u32 {
                    let e = HeapEnt {
                        time: (rnd(&mut x) % modulo) as i64,
                        c,
                    };
                    insert(&mut Plain, &mut a, e);
                    insert(&mut ix, &mut b, e);
                }
                for _ in 0..3 * n {
                    if a.is_empty() {
                        break;
                    }
                    let i = (rnd(&mut x) % a.len() as u64) as usize;
                    if rnd(&mut x).is_multiple_of(4) {
                        remove(&mut Plain, &mut a, i);
                        remove(&mut ix, &mut b, i);
                    } else {
                        let t = a[i].time + (rnd(&mut x) % modulo) as i64;
                        update(&mut Plain, &mut a, i, t);
                        update(&mut ix, &mut b, i, t);
                    }
                    if rnd(&mut x).is_multiple_of(8) {
                        crate::gosort::sort_func(&mut a, |p, q| p.time < q.time);
                        ix.sort(&mut b);
                    }
                    let got: Vec<(i64, u32)> = b.iter().map(|e| (e.time, e.c)).collect();
                    let want: Vec<(i64, u32)> = a.iter().map(|e| (e.time, e.c)).collect();
                    assert_eq!(got, want);
                    for (p, e) in b.iter().enumerate() {
                        assert_eq!(ix.w.pos[e.c as usize], p as u32);
                    }
                    let inv = b.windows(2).filter(|w| w[1].time < w[0].time).count();
                    assert_eq!(ix.inv, inv);
                }
            }
        }
    }

    /// Go's sort leaves a non-decreasing array (ties included) as it is, which is what
    /// lets a sorted frontier skip it.
    #[test]
    fn go_sort_keeps_a_sorted_array() {
        let mut x = 5u64;
        for n in [0usize, 2, 12, 13, 49, 50, 51, 64, 200, 1000, 5000] {
            for modulo in [1u64, 2, 5, 1 << 30] {
                let mut times: Vec<i64> = (0..n).map(|_| (rnd(&mut x) % modulo) as i64).collect();
                times.sort_unstable();
                let mut v: Vec<HeapEnt> = times
                    .iter()
                    .enumerate()
                    .map(|(c, &time)| HeapEnt { time, c: c as u32 })
                    .collect();
                crate::gosort::sort_func(&mut v, |p, q| p.time < q.time);
                assert!(v.iter().enumerate().all(|(i, e)| e.c == i as u32), "n={n}");
            }
        }
    }
}
