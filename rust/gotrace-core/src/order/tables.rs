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
}

impl<T> Default for DenseMap<T> {
    fn default() -> Self {
        DenseMap {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
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
        if (0..DENSE_LIMIT).contains(id) {
            self.dense.get_mut(*id as usize)?.as_mut()
        } else {
            self.sparse.get_mut(id)
        }
    }

    pub fn insert(&mut self, id: i64, v: T) {
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
            s.seen = true;
            s.state = MState { g: -1, p: -1 };
        }
        s.state
    }

    #[inline]
    pub fn set(&mut self, slot: u32, st: MState) {
        self.slots[slot as usize].state = st;
    }

    pub fn get(&self, m: &i64) -> Option<&MState> {
        let s = &self.slots[*self.index.get(m)? as usize];
        s.seen.then_some(&s.state)
    }

    pub fn get_mut(&mut self, m: &i64) -> Option<&mut MState> {
        let s = &mut self.slots[*self.index.get(m)? as usize];
        if s.seen {
            Some(&mut s.state)
        } else {
            None
        }
    }

    pub fn insert(&mut self, m: i64, st: MState) {
        let slot = self.slot(m);
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
