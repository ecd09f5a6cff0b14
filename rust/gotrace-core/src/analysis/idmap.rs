//! A map from resource IDs (goroutine, proc, thread) to values: a vector indexed by ID for
//! the small non-negative IDs every runtime hands out, a hash map for anything else.
//! The analyses look a goroutine up at nearly every event; hashing was most of their time.

use rustc_hash::FxHashMap as HashMap;

/// IDs below this are stored densely.
const DENSE_LIMIT: i64 = 1 << 22;

#[derive(Debug, Clone)]
pub struct IdMap<V> {
    dense: Vec<Option<V>>,
    sparse: HashMap<i64, V>,
    len: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            dense: Vec::new(),
            sparse: HashMap::default(),
            len: 0,
        }
    }
}

impl<V> IdMap<V> {
    #[inline]
    fn is_dense(id: i64) -> bool {
        (0..DENSE_LIMIT).contains(&id)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(&self, id: i64) -> Option<&V> {
        if Self::is_dense(id) {
            self.dense.get(id as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(&id)
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: i64) -> Option<&mut V> {
        if Self::is_dense(id) {
            self.dense.get_mut(id as usize).and_then(Option::as_mut)
        } else {
            self.sparse.get_mut(&id)
        }
    }

    #[inline]
    pub fn contains_key(&self, id: i64) -> bool {
        self.get(id).is_some()
    }

    /// Inserts, returning the previous value.
    #[inline]
    pub fn insert(&mut self, id: i64, v: V) -> Option<V> {
        let old = if Self::is_dense(id) {
            let i = id as usize;
            if i >= self.dense.len() {
                // Only up to `i`: the Vec's own growth keeps this amortised, and capacity
                // past the length is never written, so it costs no resident memory.
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].replace(v)
        } else {
            self.sparse.insert(id, v)
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    #[inline]
    pub fn remove(&mut self, id: i64) -> Option<V> {
        let old = if Self::is_dense(id) {
            self.dense.get_mut(id as usize).and_then(Option::take)
        } else {
            self.sparse.remove(&id)
        };
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
}
