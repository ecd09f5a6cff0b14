//! Per-key nanosecond sums (block time by reason, range time by name, ...): a list in
//! first-insertion order, as the outputs want, with a hash index once it grows, so that a
//! trace with thousands of distinct reasons or range names is not quadratic.

use rustc_hash::FxHashMap;

/// Entries before the index is built (real traces have a handful of keys).
const INDEX_AFTER: usize = 16;

/// Most goroutines block for one reason and spend range time in at most one range: one
/// entry is kept inline, and a list is allocated only for a second key. A trace has up
/// to millions of goroutines with a few of these each: an allocation per non-empty list
/// was about a million allocations (80 bytes each) on a 100 MB trace.
#[derive(Clone, Debug, Default)]
pub struct KeyedNs(Repr);

#[derive(Clone, Debug, Default)]
enum Repr {
    #[default]
    Empty,
    One((u32, i64)),
    Many(Box<Many>),
}

#[derive(Clone, Debug)]
struct Many {
    v: Vec<(u32, i64)>,
    index: Option<FxHashMap<u32, u32>>,
}

impl KeyedNs {
    /// No keys (what `default()` gives, in a `const`).
    pub const fn new() -> Self {
        KeyedNs(Repr::Empty)
    }

    pub fn position(&self, key: u32) -> Option<usize> {
        match &self.0 {
            Repr::Empty => None,
            Repr::One(e) => (e.0 == key).then_some(0),
            Repr::Many(m) => match &m.index {
                Some(ix) => ix.get(&key).map(|&i| i as usize),
                None => m.v.iter().position(|e| e.0 == key),
            },
        }
    }

    pub fn get(&self, key: u32) -> Option<i64> {
        self.position(key).map(|i| self[i].1)
    }

    /// Appends a key that is not present.
    pub fn push(&mut self, key: u32, ns: i64) {
        match &mut self.0 {
            Repr::Empty => self.0 = Repr::One((key, ns)),
            Repr::One(e) => {
                let v = vec![*e, (key, ns)];
                self.0 = Repr::Many(Box::new(Many { v, index: None }));
            }
            Repr::Many(m) => {
                m.v.push((key, ns));
                match &mut m.index {
                    Some(ix) => {
                        ix.insert(key, (m.v.len() - 1) as u32);
                    }
                    None if m.v.len() > INDEX_AFTER => {
                        let ix = m.v.iter().enumerate().map(|(i, e)| (e.0, i as u32));
                        m.index = Some(ix.collect());
                    }
                    None => {}
                }
            }
        }
    }

    /// Adds `ns` to `key` (appending it if new).
    pub fn add(&mut self, key: u32, ns: i64) {
        match self.position(key) {
            Some(i) => *self.value_at(i) += ns,
            None => self.push(key, ns),
        }
    }

    fn value_at(&mut self, i: usize) -> &mut i64 {
        match &mut self.0 {
            Repr::Empty => panic!("index {i} of an empty KeyedNs"),
            Repr::One(e) => {
                assert_eq!(i, 0, "index out of range");
                &mut e.1
            }
            Repr::Many(m) => &mut m.v[i].1,
        }
    }

    /// Sets the value of the entry at `i`.
    pub fn set_at(&mut self, i: usize, ns: i64) {
        *self.value_at(i) = ns;
    }

    /// Removes the entry at `i`: in order while the list is short, by swapping in the
    /// last entry once it is indexed.
    pub fn remove_at(&mut self, i: usize) {
        match &mut self.0 {
            Repr::Empty => panic!("index {i} of an empty KeyedNs"),
            Repr::One(_) => {
                assert_eq!(i, 0, "index out of range");
                self.0 = Repr::Empty;
            }
            Repr::Many(m) => match &mut m.index {
                None => {
                    m.v.remove(i);
                }
                Some(ix) => {
                    let gone = m.v.swap_remove(i);
                    ix.remove(&gone.0);
                    if let Some(moved) = m.v.get(i) {
                        ix.insert(moved.0, i as u32);
                    }
                }
            },
        }
    }

    pub fn to_vec(&self) -> Vec<(u32, i64)> {
        self[..].to_vec()
    }
}

impl std::ops::Deref for KeyedNs {
    type Target = [(u32, i64)];
    fn deref(&self) -> &[(u32, i64)] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(e) => std::slice::from_ref(e),
            Repr::Many(m) => &m.v,
        }
    }
}

impl PartialEq for KeyedNs {
    fn eq(&self, o: &KeyedNs) -> bool {
        self[..] == o[..]
    }
}

impl Eq for KeyedNs {}

impl PartialEq<Vec<(u32, i64)>> for KeyedNs {
    fn eq(&self, o: &Vec<(u32, i64)>) -> bool {
        self[..] == o[..]
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
        let mut one = KeyedNs::default();
        assert_eq!((one.len(), one.get(7)), (0, None));
        one.add(7, 5);
        one.add(7, 1);
        assert_eq!((one.position(7), one.position(8)), (Some(0), None));
        assert_eq!(one, vec![(7, 6)]);
        one.set_at(0, 9);
        assert_eq!(one.to_vec(), vec![(7, 9)]);
        one.remove_at(0);
        assert_eq!(one, vec![]);
        one.add(8, 1);
        one.add(9, 2);
        assert_eq!(one, vec![(8, 1), (9, 2)]);
    }
}
