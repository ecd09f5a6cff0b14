//! Integer columns stored in the narrowest type that holds every value.

/// A column of IDs (goroutines, procs, threads) or kind-specific arguments: `i32` while
/// every value fits, `i64` from the first value that does not. IDs written by the Go
/// runtime fit in 32 bits in practice (goroutine IDs count goroutines, proc IDs are
/// below GOMAXPROCS, thread IDs are OS thread IDs), and half the bytes per row matter:
/// the event table is most of a parse's memory and its page faults a good part of its
/// time. A value that does not fit (a long-lived service's goroutine IDs, a large
/// metric, a hostile trace) widens the whole column once, so no value is ever lost.
#[derive(Debug, Clone)]
pub enum IdCol {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

impl Default for IdCol {
    fn default() -> Self {
        IdCol::Narrow(Vec::new())
    }
}

/// Whether `v` is stored in a narrow column as it is.
#[inline]
pub(crate) fn fits(v: i64) -> bool {
    v as i32 as i64 == v
}

impl IdCol {
    pub fn with_capacity(n: usize) -> Self {
        IdCol::Narrow(Vec::with_capacity(n))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            IdCol::Narrow(v) => v.len(),
            IdCol::Wide(v) => v.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s value. Panics if `i` is out of range, like indexing a `Vec`.
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        match self {
            IdCol::Narrow(v) => v[i] as i64,
            IdCol::Wide(v) => v[i],
        }
    }

    /// Every value, in row order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let (n, w) = match self {
            IdCol::Narrow(v) => (&v[..], &[][..]),
            IdCol::Wide(v) => (&[][..], &v[..]),
        };
        n.iter().map(|&x| x as i64).chain(w.iter().copied())
    }

    /// The values as `i64`s (a copy).
    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }

    pub fn is_narrow(&self) -> bool {
        matches!(self, IdCol::Narrow(_))
    }

    pub fn capacity(&self) -> usize {
        match self {
            IdCol::Narrow(v) => v.capacity(),
            IdCol::Wide(v) => v.capacity(),
        }
    }

    /// Address of row 0 and bytes per row (for faulting pages in ahead of the writer).
    pub(crate) fn layout(&self) -> (usize, usize) {
        match self {
            IdCol::Narrow(v) => (v.as_ptr() as usize, 4),
            IdCol::Wide(v) => (v.as_ptr() as usize, 8),
        }
    }

    /// Faults in the pages of rows `from..to` (bounded by the capacity) ahead of writing.
    pub(crate) fn prefault(&self, from: usize, to: usize) {
        let (base, size) = self.layout();
        super::populate_rows(base, size, from, to.min(self.capacity()));
    }

    pub(crate) fn reserve(&mut self, n: usize) {
        match self {
            IdCol::Narrow(v) => v.reserve(n),
            IdCol::Wide(v) => v.reserve(n),
        }
    }

    pub(crate) fn truncate(&mut self, n: usize) {
        match self {
            IdCol::Narrow(v) => v.truncate(n),
            IdCol::Wide(v) => v.truncate(n),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    /// Releases spare capacity; a wide column whose values all fit (rows that needed
    /// the width were truncated away) becomes narrow again, so that the type depends
    /// on the rows kept alone.
    pub(crate) fn shrink_to_fit(&mut self) {
        match self {
            IdCol::Narrow(v) => v.shrink_to_fit(),
            IdCol::Wide(v) if v.iter().all(|&x| fits(x)) => {
                *self = IdCol::Narrow(v.iter().map(|&x| x as i32).collect());
            }
            IdCol::Wide(v) => v.shrink_to_fit(),
        }
    }

    /// Makes the column wide, keeping its values and at least its capacity.
    #[cold]
    pub(crate) fn widen(&mut self) {
        if let IdCol::Narrow(v) = self {
            let mut w = Vec::with_capacity(v.capacity());
            w.extend(v.iter().map(|&x| x as i64));
            *self = IdCol::Wide(w);
        }
    }

    /// Appends rows `from..to` of `src` (widening if they need it).
    pub(crate) fn extend_from(&mut self, src: &IdCol, from: usize, to: usize) {
        match (&mut *self, src) {
            (IdCol::Narrow(d), IdCol::Narrow(s)) => d.extend_from_slice(&s[from..to]),
            (IdCol::Wide(d), IdCol::Narrow(s)) => d.extend(s[from..to].iter().map(|&x| x as i64)),
            (IdCol::Wide(d), IdCol::Wide(s)) => d.extend_from_slice(&s[from..to]),
            (IdCol::Narrow(_), IdCol::Wide(s)) => {
                for &x in &s[from..to] {
                    self.push(x);
                }
            }
        }
    }

    /// Sets row `i` to `x` (widening the column first if `x` does not fit).
    pub fn set(&mut self, i: usize, x: i64) {
        match self {
            IdCol::Narrow(v) if fits(x) => v[i] = x as i32,
            IdCol::Narrow(_) => {
                self.widen();
                self.set(i, x)
            }
            IdCol::Wide(v) => v[i] = x,
        }
    }

    /// Appends `x` (widening the column first if `x` does not fit).
    #[inline]
    pub fn push(&mut self, x: i64) {
        match self {
            IdCol::Narrow(v) if fits(x) => v.push(x as i32),
            IdCol::Narrow(_) => {
                self.widen();
                self.push(x)
            }
            IdCol::Wide(v) => v.push(x),
        }
    }
}

impl From<Vec<i64>> for IdCol {
    /// The narrowest column holding `v`.
    fn from(v: Vec<i64>) -> Self {
        let mut c = IdCol::Wide(v);
        c.shrink_to_fit();
        c
    }
}

/// Columns are equal when their values are (whatever their widths).
impl PartialEq for IdCol {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (IdCol::Narrow(a), IdCol::Narrow(b)) => a == b,
            (IdCol::Wide(a), IdCol::Wide(b)) => a == b,
            _ => self.len() == other.len() && self.iter().eq(other.iter()),
        }
    }
}

impl Eq for IdCol {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_until_a_value_does_not_fit() {
        let mut c = IdCol::with_capacity(4);
        for x in [-1, 0, i32::MAX as i64, i32::MIN as i64] {
            c.push(x);
        }
        assert!(c.is_narrow());
        c.push(i32::MAX as i64 + 1);
        assert!(!c.is_narrow());
        c.push(i64::MIN);
        assert_eq!(
            c.to_vec(),
            [
                -1,
                0,
                i32::MAX as i64,
                i32::MIN as i64,
                i32::MAX as i64 + 1,
                i64::MIN
            ]
        );
        assert_eq!(c.get(4), 1 << 31);
        c.truncate(4);
        c.shrink_to_fit();
        assert!(c.is_narrow());
        assert_eq!(
            c,
            IdCol::Wide(vec![-1, 0, i32::MAX as i64, i32::MIN as i64])
        );
        assert_ne!(c, IdCol::Wide(vec![-1, 0, i32::MAX as i64, 7]));
        assert!(!IdCol::from(vec![i64::MAX]).is_narrow());
        assert!(IdCol::from(vec![-1, 5]).is_narrow());
    }
}
