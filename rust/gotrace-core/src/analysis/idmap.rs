//! A map from resource IDs (goroutine, proc, thread) to values: a vector indexed by ID for
//! the small non-negative IDs every runtime hands out, a hash map for anything else.
//! The analyses look a goroutine up at nearly every event; hashing was most of their time.
//!
//! The vector only grows to a few times the number of entries ever inserted (plus a
//! small floor), as `order::tables::GMap` does: a stray or hostile large ID costs one map
//! entry, never millions of empty slots.

use rustc_hash::FxHashMap as HashMap;

/// Slots the vector may always have, whatever the number of entries.
const DENSE_FLOOR: u64 = 1024;

#[derive(Debug, Clone)]
pub struct IdMap<V> {
    dense: Vec<Option<V>>,
    sparse: HashMap<i64, V>,
    len: usize,
    /// Insertions of new IDs so far (never decreases, so the dense bound only grows).
    inserted: u64,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            dense: Vec::new(),
            sparse: HashMap::default(),
            len: 0,
            inserted: 0,
        }
    }
}

impl<V> IdMap<V> {
    #[inline]
    fn dense_index(&self, id: i64) -> Option<usize> {
        (id >= 0 && (id as u64) < self.dense.len() as u64).then_some(id as usize)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots of the dense vector (for tests of the growth bound).
    pub fn dense_slots(&self) -> usize {
        self.dense.len()
    }

    #[inline]
    pub fn get(&self, id: i64) -> Option<&V> {
        if let Some(i) = self.dense_index(id) {
            if let Some(v) = &self.dense[i] {
                return Some(v);
            }
        }
        // An ID stored in the map before the vector grew past it stays in the map.
        if self.sparse.is_empty() {
            None
        } else {
            self.sparse.get(&id)
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: i64) -> Option<&mut V> {
        match self.dense_index(id) {
            Some(i) if self.dense[i].is_some() => self.dense[i].as_mut(),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get_mut(&id),
        }
    }

    #[inline]
    pub fn contains_key(&self, id: i64) -> bool {
        self.get(id).is_some()
    }

    /// Inserts, returning the previous value.
    #[inline]
    pub fn insert(&mut self, id: i64, v: V) -> Option<V> {
        if let Some(i) = self.dense_index(id) {
            if self.dense[i].is_some() {
                return self.dense[i].replace(v);
            }
        }
        if !self.sparse.is_empty() {
            if let Some(slot) = self.sparse.get_mut(&id) {
                return Some(std::mem::replace(slot, v));
            }
        }
        self.len += 1;
        self.inserted += 1;
        let limit = 4 * self.inserted + DENSE_FLOOR;
        if id >= 0 && (id as u64) < limit {
            let i = id as usize;
            if i >= self.dense.len() {
                // Only up to `i` (< `limit`): the Vec's own growth keeps this amortised, and
                // capacity past the length is never written, so it costs no resident memory.
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(v);
        } else {
            self.sparse.insert(id, v);
        }
        None
    }

    #[inline]
    pub fn remove(&mut self, id: i64) -> Option<V> {
        let mut old = self.dense_index(id).and_then(|i| self.dense[i].take());
        if old.is_none() && !self.sparse.is_empty() {
            old = self.sparse.remove(&id);
        }
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// The value of `id`, inserted by `make` if absent.
    #[inline]
    pub fn get_or_insert_with(&mut self, id: i64, make: impl FnOnce() -> V) -> &mut V {
        if !self.contains_key(id) {
            self.insert(id, make());
        }
        self.get_mut(id).expect("just inserted")
    }

    /// All entries, sorted by ID.
    pub fn into_sorted(self) -> Vec<(i64, V)> {
        let mut out: Vec<(i64, V)> = self
            .dense
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as i64, v)))
            .collect();
        out.extend(self.sparse);
        out.sort_unstable_by_key(|e| e.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;

    #[test]
    fn dense_and_sparse() {
        let mut m = IdMap::default();
        assert_eq!(m.insert(3, "a"), None);
        assert_eq!(m.insert(-1, "b"), None);
        assert_eq!(m.insert(1 << 40, "c"), None);
        assert_eq!(m.insert(3, "d"), Some("a"));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(3), Some(&"d"));
        assert_eq!(m.remove(-1), Some("b"));
        assert_eq!(m.remove(-1), None);
        assert_eq!(m.into_sorted(), vec![(3, "d"), (1 << 40, "c")]);
    }

    #[test]
    fn growth_is_bounded_by_the_number_of_entries() {
        let mut m: IdMap<[u64; 8]> = IdMap::default();
        // One ID just below the old fixed dense limit (2^22) must not allocate 4M slots.
        m.insert((1 << 22) - 1, [1; 8]);
        m.insert(5_000_000, [2; 8]);
        assert!(m.dense_slots() <= 2048, "{} slots", m.dense_slots());
        assert_eq!(m.get((1 << 22) - 1), Some(&[1; 8]));
        // Dense IDs still go to the vector, and it grows past IDs first stored in the map.
        for id in 0..100_000 {
            m.insert(id, [id as u64; 8]);
        }
        assert!(m.dense_slots() >= 100_000 && m.dense_slots() <= 4 * 100_002 + 1024);
        assert_eq!(m.len(), 100_002);
        assert_eq!(m.get(99_999), Some(&[99_999; 8]));
        assert_eq!(m.get((1 << 22) - 1), Some(&[1; 8]));
        // An ID in the map that the vector now covers: found, replaced and removed once.
        let mut m: IdMap<u32> = IdMap::default();
        m.insert(3000, 1);
        for id in (0..3500).filter(|&id| id != 3000) {
            m.insert(id, 0);
        }
        assert!(m.dense_slots() > 3000);
        assert_eq!(m.insert(3000, 2), Some(1));
        assert_eq!(m.get(3000), Some(&2));
        assert_eq!(m.remove(3000), Some(2));
        assert_eq!(m.get(3000), None);
        assert_eq!(m.len(), 3499);
        assert_eq!(m.into_sorted().len(), 3499);
    }
}
