//! Per-key nanosecond sums (block time by reason, range time by name, ...): a list in
//! first-insertion order, as the outputs want, with a hash index once it grows, so that a
//! trace with thousands of distinct reasons or range names is not quadratic.

use rustc_hash::FxHashMap;

/// Entries before the index is built (real traces have a handful of keys).
const INDEX_AFTER: usize = 16;

#[derive(Clone, Debug, Default)]
pub struct KeyedNs {
    v: Vec<(u32, i64)>,
    index: Option<Box<FxHashMap<u32, u32>>>,
}

impl KeyedNs {
    pub fn position(&self, key: u32) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(&key).map(|&i| i as usize),
            None => self.v.iter().position(|e| e.0 == key),
        }
    }

    pub fn get(&self, key: u32) -> Option<i64> {
        self.position(key).map(|i| self.v[i].1)
    }

    /// Appends a key that is not present.
    pub fn push(&mut self, key: u32, ns: i64) {
        self.v.push((key, ns));
        match &mut self.index {
            Some(ix) => {
                ix.insert(key, (self.v.len() - 1) as u32);
            }
            None if self.v.len() > INDEX_AFTER => {
                let ix = self.v.iter().enumerate().map(|(i, e)| (e.0, i as u32));
                self.index = Some(Box::new(ix.collect()));
            }
            None => {}
        }
    }

    /// Adds `ns` to `key` (appending it if new).
    pub fn add(&mut self, key: u32, ns: i64) {
        match self.position(key) {
            Some(i) => self.v[i].1 += ns,
            None => self.push(key, ns),
        }
    }

    /// Sets the value of the entry at `i`.
    pub fn set_at(&mut self, i: usize, ns: i64) {
        self.v[i].1 = ns;
    }

    /// Removes the entry at `i`: in order while the list is short, by swapping in the
    /// last entry once it is indexed.
    pub fn remove_at(&mut self, i: usize) {
        match &mut self.index {
            None => {
                self.v.remove(i);
            }
            Some(ix) => {
                let gone = self.v.swap_remove(i);
                ix.remove(&gone.0);
                if let Some(moved) = self.v.get(i) {
                    ix.insert(moved.0, i as u32);
                }
            }
        }
    }

    pub fn to_vec(&self) -> Vec<(u32, i64)> {
        self.v.clone()
    }
}

impl std::ops::Deref for KeyedNs {
    type Target = [(u32, i64)];
    fn deref(&self) -> &[(u32, i64)] {
        &self.v
    }
}

impl PartialEq for KeyedNs {
    fn eq(&self, o: &KeyedNs) -> bool {
        self.v == o.v
    }
}

impl Eq for KeyedNs {}

impl PartialEq<Vec<(u32, i64)>> for KeyedNs {
    fn eq(&self, o: &Vec<(u32, i64)>) -> bool {
        &self.v == o
    }
}

#[cfg(test)]
mod tests {
    use super::KeyedNs;

    #[test]
    fn keeps_order_and_sums_with_and_without_index() {
        let mut k = KeyedNs::default();
        for round in 0..2 {
            for key in (0..40u32).rev() {
                k.add(key, key as i64 + round);
            }
        }
        assert_eq!(k.len(), 40);
        assert_eq!(k[0], (39, 39 + 40));
        assert_eq!(k.get(5), Some(11));
        k.remove_at(k.position(39).unwrap());
        assert_eq!(k.get(39), None);
        assert_eq!(k.get(0), Some(1));
        assert_eq!(k.len(), 39);
        k.add(39, 1);
        assert_eq!(k.get(39), Some(1));
        let mut small = KeyedNs::default();
        small.add(3, 1);
        small.add(4, 2);
        small.add(5, 3);
        small.remove_at(0);
        assert_eq!(small, vec![(4, 2), (5, 3)]);
    }
}
