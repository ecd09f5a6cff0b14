//! Resource-state containers for the ordering, shaped like `HashMap` but faster for the
//! ID distributions real traces have: P IDs are small and dense (a vector), and each
//! cursor resolves its own M to a slot once per generation instead of once per event.

use rustc_hash::FxHashMap;

/// IDs below this go to the dense vector.
const DENSE_LIMIT: i64 = 4096;

#[derive(Debug)]
pub struct DenseMap<T> {
    dense: Vec<Option<T>>,
    sparse: FxHashMap<i64, T>,
    /// IDs written since the log was last drained, kept only while `log.on` (see
    /// [`crate::frontier`]).
    pub log: Log<i64>,
}

/// A log of the keys written (`get_mut`, `insert`, `remove`) while `on`: what the
/// frontier index needs to know which blocked events may have become possible.
#[derive(Debug)]
pub struct Log<K> {
    pub on: bool,
    pub keys: Vec<K>,
}

impl<K> Default for Log<K> {
    fn default() -> Self {
        Log {
            on: false,
            keys: Vec::new(),
        }
    }
}

impl<K> Log<K> {
    #[inline(always)]
    fn note(&mut self, k: K) {
        if self.on {
            self.keys.push(k);
        }
    }
}

impl<T> Default for DenseMap<T> {
    fn default() -> Self {
        DenseMap {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
            log: Log::default(),
        }
    }
}

impl<T> DenseMap<T> {
    #[inline]
    pub fn get(&self, id: &i64) -> Option<&T> {
        if (0..DENSE_LIMIT).contains(id) {
            self.dense.get(*id as usize)?.as_ref()
        } else {
            self.sparse.get(id)
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: &i64) -> Option<&mut T> {
        self.log.note(*id);
        if (0..DENSE_LIMIT).contains(id) {
            self.dense.get_mut(*id as usize)?.as_mut()
        } else {
            self.sparse.get_mut(id)
        }
    }

    pub fn insert(&mut self, id: i64, v: T) {
        self.log.note(id);
        if (0..DENSE_LIMIT).contains(&id) {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(v);
        } else {
            self.sparse.insert(id, v);
        }
    }

    pub fn remove(&mut self, id: &i64) -> Option<T> {
        self.log.note(*id);
        if (0..DENSE_LIMIT).contains(id) {
            self.dense.get_mut(*id as usize)?.take()
        } else {
            self.sparse.remove(id)
        }
    }

    /// Every entry, moved out (the map is left empty).
    pub fn drain(&mut self) -> impl Iterator<Item = (i64, T)> + '_ {
        let dense = std::mem::take(&mut self.dense);
        let sparse = std::mem::take(&mut self.sparse);
        dense
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as i64, v)))
            .chain(sparse)
    }
}

/// Per-M scheduling state: the goroutine and proc bound to the thread.
#[derive(Clone, Copy, Debug)]
pub struct MState {
    pub g: i64,
    pub p: i64,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    id: i64,
    state: MState,
    /// Whether Go's `mStates` map would hold this M (slots are made ahead of time).
    seen: bool,
}

#[derive(Default, Debug)]
pub struct MMap {
    index: FxHashMap<i64, u32>,
    slots: Vec<Slot>,
    /// Slots written while `log.on` (see [`DenseMap::log`]).
    pub log: Log<u32>,
    /// Speculative ordering: an M first touched in the generation starts from its
    /// unknown state (see [`super::speculate::unknown`]) rather than from none.
    pub unknown_start: bool,
}

impl MMap {
    /// The slot of thread `m`, made (not yet "seen") if new.
    pub fn slot(&mut self, m: i64) -> u32 {
        if let Some(&s) = self.index.get(&m) {
            return s;
        }
        let s = self.slots.len() as u32;
        self.slots.push(Slot {
            id: m,
            state: MState { g: -1, p: -1 },
            seen: false,
        });
        self.index.insert(m, s);
        s
    }

    /// Go's `mStates[m]` lookup-or-create, by slot.
    #[inline]
    pub fn touch(&mut self, slot: u32) -> MState {
        let s = &mut self.slots[slot as usize];
        if !s.seen {
            self.log.note(slot);
            s.seen = true;
            s.state = if self.unknown_start {
                super::speculate::unknown_m(slot)
            } else {
                MState { g: -1, p: -1 }
            };
        }
        s.state
    }

    /// The thread in `slot`: its ID, whether touched, and its state.
    pub fn slot_info(&self, slot: u32) -> (i64, bool, MState) {
        let s = &self.slots[slot as usize];
        (s.id, s.seen, s.state)
    }

    /// Number of slots made.
    pub fn slots(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The state in `slot` without making it "seen" (an unseen M has none yet).
    pub fn peek(&self, slot: u32) -> MState {
        let s = &self.slots[slot as usize];
        if s.seen {
            s.state
        } else {
            MState { g: -1, p: -1 }
        }
    }

    #[inline]
    pub fn set(&mut self, slot: u32, st: MState) {
        self.log.note(slot);
        self.slots[slot as usize].state = st;
    }

    pub fn get(&self, m: &i64) -> Option<&MState> {
        let s = &self.slots[*self.index.get(m)? as usize];
        s.seen.then_some(&s.state)
    }

    pub fn get_mut(&mut self, m: &i64) -> Option<&mut MState> {
        let slot = *self.index.get(m)?;
        self.log.note(slot);
        let s = &mut self.slots[slot as usize];
        if s.seen {
            Some(&mut s.state)
        } else {
            None
        }
    }

    pub fn insert(&mut self, m: i64, st: MState) {
        let slot = self.slot(m);
        self.log.note(slot);
        let s = &mut self.slots[slot as usize];
        s.seen = true;
        s.state = st;
    }

    pub fn iter(&self) -> impl Iterator<Item = (i64, &MState)> {
        self.slots
            .iter()
            .filter(|s| s.seen)
            .map(|s| (s.id, &s.state))
    }
}

/// Goroutine states. Goroutine IDs are handed out densely by the runtime (a 100 MB
/// trace had 457,050 goroutines with IDs up to 457,089), so a vector indexed by ID beats
/// a hash map; the vector only grows to a few times the number of goroutines it holds,
/// so that a stray large ID (a goroutine older than the trace, or hostile input) goes
/// to the map instead of allocating.
///
/// The vector is a window of IDs `base..base + dense.len()`: goroutines come and go, and
/// a long trace hands out millions of IDs of which a few thousand are alive at a time.
/// When the window has to grow while at most an eighth of it is alive, its lower half
/// slides out (the few goroutines still alive there move to the map), so memory follows
/// the goroutines alive, not all those ever created. The window stays large (lookups of
/// the goroutines moved to the map cost a hash probe).
#[derive(Debug)]
pub struct GMap<T> {
    dense: Vec<Option<T>>,
    /// ID of `dense[0]`.
    base: i64,
    /// `Some` entries of `dense`.
    live: usize,
    sparse: FxHashMap<i64, T>,
    inserted: usize,
    /// IDs written while `log.on` (see [`DenseMap::log`]).
    pub log: Log<i64>,
}

/// A window this small is never slid.
const MIN_SLIDE: usize = 1 << 16;

impl<T> Default for GMap<T> {
    fn default() -> Self {
        GMap {
            dense: Vec::new(),
            base: 0,
            live: 0,
            sparse: FxHashMap::default(),
            inserted: 0,
            log: Log::default(),
        }
    }
}

impl<T> GMap<T> {
    #[inline]
    fn dense_index(&self, id: i64) -> Option<usize> {
        let i = id.wrapping_sub(self.base);
        if id >= self.base && (i as u64) < self.dense.len() as u64 {
            Some(i as usize)
        } else {
            None
        }
    }

    #[inline]
    pub fn get(&self, id: &i64) -> Option<&T> {
        match self.dense_index(*id) {
            Some(i) => match &self.dense[i] {
                Some(v) => Some(v),
                None if self.sparse.is_empty() => None,
                None => self.sparse.get(id),
            },
            None if self.sparse.is_empty() => None,
            None => self.sparse.get(id),
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: &i64) -> Option<&mut T> {
        self.log.note(*id);
        match self.dense_index(*id) {
            Some(i) if self.dense[i].is_some() => self.dense[i].as_mut(),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get_mut(id),
        }
    }

    /// Asks the CPU to bring the state of `id` into cache: a lookup follows soon, and
    /// with hundreds of thousands of goroutines most lookups miss the cache.
    #[inline]
    pub fn prefetch(&self, id: i64) {
        #[cfg(target_arch = "x86_64")]
        if let Some(i) = self.dense_index(id) {
            // SAFETY: `i` is in bounds; a prefetch reads nothing and cannot fault.
            unsafe {
                use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(self.dense.as_ptr().add(i) as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }

    #[inline]
    pub fn contains_key(&self, id: &i64) -> bool {
        self.get(id).is_some()
    }

    /// Inserts (or replaces) the state of goroutine `id`.
    pub fn insert(&mut self, id: i64, v: T) {
        self.log.note(id);
        self.inserted += 1;
        if let Some(slot) = self.sparse.get_mut(&id) {
            *slot = v;
            return;
        }
        if let Some(i) = self.dense_index(id) {
            if self.dense[i].is_none() {
                self.live += 1;
            }
            self.dense[i] = Some(v);
            return;
        }
        if self.dense.is_empty() && self.sparse.is_empty() && id >= 0 {
            // The first goroutine places the window (a trace, or a speculatively ordered
            // generation, may start with IDs far from 0).
            self.base = id;
        }
        let limit = 4 * self.inserted as u64 + 65536;
        if id >= self.base && (id.wrapping_sub(self.base) as u64) < limit {
            while self.dense.len() >= MIN_SLIDE && self.live * 8 <= self.dense.len() {
                self.slide();
            }
            let i = (id - self.base) as usize;
            if i >= self.dense.len() {
                let want = (i + 1).max(self.dense.len() * 2).min(limit as usize);
                self.dense.resize_with(want.max(i + 1), || None);
            }
            self.dense[i] = Some(v);
            self.live += 1;
        } else {
            self.sparse.insert(id, v);
        }
    }

    /// Moves the window up by half its length (keeping its allocation).
    fn slide(&mut self) {
        let half = self.dense.len() / 2;
        for (j, v) in self.dense.drain(..half).enumerate() {
            if let Some(v) = v {
                self.live -= 1;
                self.sparse.insert(self.base + j as i64, v);
            }
        }
        self.base += half as i64;
    }

    /// Every value, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.dense
            .iter_mut()
            .flatten()
            .chain(self.sparse.values_mut())
    }

    /// Every entry, moved out (the map is left empty).
    pub fn drain(&mut self) -> impl Iterator<Item = (i64, T)> + '_ {
        let dense = std::mem::take(&mut self.dense);
        let sparse = std::mem::take(&mut self.sparse);
        let base = self.base;
        self.live = 0;
        dense
            .into_iter()
            .enumerate()
            .filter_map(move |(i, v)| v.map(|v| (base + i as i64, v)))
            .chain(sparse)
    }

    pub fn remove(&mut self, id: &i64) -> Option<T> {
        self.log.note(*id);
        if let Some(i) = self.dense_index(*id) {
            if self.dense[i].is_some() {
                self.live -= 1;
                return self.dense[i].take();
            }
        }
        self.sparse.remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmap_dense_sparse_remove() {
        let mut m: GMap<u32> = GMap::default();
        m.insert(1 << 40, 1); // far beyond the dense limit: map
        m.insert(-5, 2); // negative: map
        for id in 0..100_000 {
            m.insert(id, id as u32);
        }
        assert_eq!(m.get(&(1 << 40)), Some(&1));
        assert_eq!(m.get(&-5), Some(&2));
        assert_eq!(m.get(&99_999), Some(&99_999));
        assert!(
            m.dense.len() < 1 << 20,
            "dense grows with the count, not the IDs"
        );
        assert_eq!(m.remove(&7), Some(7));
        assert!(!m.contains_key(&7));
        assert_eq!(m.remove(&(1 << 40)), Some(1));
        assert_eq!(m.get(&(1 << 40)), None);
        *m.get_mut(&8).unwrap() = 80;
        assert_eq!(m.get(&8), Some(&80));
        // An ID first stored in the map stays reachable after the vector grows past it.
        let mut m: GMap<u32> = GMap::default();
        m.insert(70_000, 1);
        for id in 0..20_000 {
            m.insert(id, 0);
        }
        assert_eq!(m.get(&70_000), Some(&1));
        m.insert(70_000, 3);
        assert_eq!(m.get(&70_000), Some(&3));
    }

    #[test]
    fn gmap_window_follows_the_live_goroutines() {
        // Goroutines that live a short while, plus a few that live on: the vector stays
        // near the count alive, and every state stays reachable.
        let mut m: GMap<u64> = GMap::default();
        for id in 0..5_000_000i64 {
            m.insert(id, id as u64);
            if id >= 1000 && (id - 1000) % 100_000 != 3 {
                assert_eq!(m.remove(&(id - 1000)), Some((id - 1000) as u64));
            }
        }
        assert!(m.dense.len() <= 1 << 19, "window {}", m.dense.len());
        for id in (0..5_000_000i64).filter(|id| id % 100_000 == 3) {
            assert_eq!(m.get(&id), Some(&(id as u64)), "{id}");
        }
        for id in 4_999_000..5_000_000i64 {
            assert_eq!(m.get(&id), Some(&(id as u64)));
        }
        assert_eq!(m.get(&1234), None);
        assert_eq!(m.remove(&100_003), Some(100_003));
        assert_eq!(m.get(&100_003), None);
        // An ID below the window, new: goes to the map.
        m.insert(7, 70);
        assert_eq!(m.get(&7), Some(&70));
        *m.get_mut(&4_999_999).unwrap() = 1;
        assert_eq!(m.get(&4_999_999), Some(&1));
    }
}
