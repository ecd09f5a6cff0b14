//! Go's `slices.SortFunc` (pattern-defeating quicksort, `slices/zsortanyfunc.go`), step
//! for step. It is not stable: elements that compare equal end up in an order that depends
//! on the algorithm's exact moves. The v2 reader sorts its frontier of per-thread cursors
//! with it, and when several threads have events at the same timestamp that order decides
//! which one is emitted first, so any other sort can emit a different (valid) order than Go.

/// Sorts `data` by `less` exactly as Go's `slices.SortFunc` with the matching `cmp` does.
pub fn sort_func<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len();
    let limit = (usize::BITS - n.leading_zeros()) as usize;
    let s = Sorter { less };
    s.pdqsort(data, 0, n, limit);
}

#[derive(PartialEq, Clone, Copy)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<F> {
    less: F,
}

impl<F> Sorter<F> {
    #[inline]
    fn lt<T>(&self, d: &[T], i: usize, j: usize) -> bool
    where
        F: Fn(&T, &T) -> bool,
    {
        (self.less)(&d[i], &d[j])
    }

    fn insertion_sort<T>(&self, d: &mut [T], a: usize, b: usize)
    where
        F: Fn(&T, &T) -> bool,
    {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.lt(d, j, j - 1) {
                d.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sift_down<T>(&self, d: &mut [T], lo: usize, hi: usize, first: usize)
    where
        F: Fn(&T, &T) -> bool,
    {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                break;
            }
            if child + 1 < hi && self.lt(d, first + child, first + child + 1) {
                child += 1;
            }
            if !self.lt(d, first + root, first + child) {
                return;
            }
            d.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort<T>(&self, d: &mut [T], a: usize, b: usize)
    where
        F: Fn(&T, &T) -> bool,
    {
        let first = a;
        let hi = b - a;
        for i in (0..=(hi as isize - 1) / 2).rev() {
            self.sift_down(d, i as usize, hi, first);
        }
        for i in (0..hi).rev() {
            d.swap(first, first + i);
            self.sift_down(d, 0, i, first);
        }
    }

    fn pdqsort<T>(&self, d: &mut [T], mut a: usize, mut b: usize, mut limit: usize)
    where
        F: Fn(&T, &T) -> bool,
    {
        const MAX_INSERTION: usize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(d, a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(d, a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(d, a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(d, a, b);
            if hint == Hint::Decreasing {
                d[a..b].reverse();
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(d, a, b)
            {
                return;
            }
            if a > 0 && !self.lt(d, a - 1, pivot) {
                a = self.partition_equal(d, a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(d, a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let threshold = length / 8;
            if left < right {
                was_balanced = left >= threshold;
                self.pdqsort(d, a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= threshold;
                self.pdqsort(d, mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn partition<T>(&self, d: &mut [T], a: usize, b: usize, pivot: usize) -> (usize, bool)
    where
        F: Fn(&T, &T) -> bool,
    {
        d.swap(a, pivot);
        let (mut i, mut j) = (a as isize + 1, b as isize - 1);
        while i <= j && self.lt(d, i as usize, a) {
            i += 1;
        }
        while i <= j && !self.lt(d, j as usize, a) {
            j -= 1;
        }
        if i > j {
            d.swap(j as usize, a);
            return (j as usize, true);
        }
        d.swap(i as usize, j as usize);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.lt(d, i as usize, a) {
                i += 1;
            }
            while i <= j && !self.lt(d, j as usize, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            d.swap(i as usize, j as usize);
            i += 1;
            j -= 1;
        }
        d.swap(j as usize, a);
        (j as usize, false)
    }

    fn partition_equal<T>(&self, d: &mut [T], a: usize, b: usize, pivot: usize) -> usize
    where
        F: Fn(&T, &T) -> bool,
    {
        d.swap(a, pivot);
        let (mut i, mut j) = (a as isize + 1, b as isize - 1);
        loop {
            while i <= j && !self.lt(d, a, i as usize) {
                i += 1;
            }
            while i <= j && self.lt(d, a, j as usize) {
                j -= 1;
            }
            if i > j {
                break;
            }
            d.swap(i as usize, j as usize);
            i += 1;
            j -= 1;
        }
        i as usize
    }

    fn partial_insertion_sort<T>(&self, d: &mut [T], a: usize, b: usize) -> bool
    where
        F: Fn(&T, &T) -> bool,
    {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.lt(d, i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            d.swap(i, i - 1);
            // Go shifts down to index 1 of the whole slice, not to `a`.
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 {
                    if !self.lt(d, j, j - 1) {
                        break;
                    }
                    d.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                for j in i + 1..b {
                    if !self.lt(d, j, j - 1) {
                        break;
                    }
                    d.swap(j, j - 1);
                }
            }
        }
        false
    }

    fn break_patterns<T>(&self, d: &mut [T], a: usize, b: usize) {
        let length = b - a;
        if length >= 8 {
            let mut random = length as u64;
            let modulus = 1u64 << (u64::BITS - (length as u64).leading_zeros());
            let mid = a + (length / 4) * 2;
            for idx in mid - 1..=mid + 1 {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let mut other = (random & (modulus - 1)) as usize;
                if other >= length {
                    other -= length;
                }
                d.swap(idx, a + other);
            }
        }
    }

    fn choose_pivot<T>(&self, d: &[T], a: usize, b: usize) -> (usize, Hint)
    where
        F: Fn(&T, &T) -> bool,
    {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0;
        let mut i = a + l / 4;
        let mut j = a + l / 4 * 2;
        let mut k = a + l / 4 * 3;
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(d, i - 1, i, i + 1, &mut swaps);
                j = self.median(d, j - 1, j, j + 1, &mut swaps);
                k = self.median(d, k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(d, i, j, k, &mut swaps);
        }
        match swaps {
            0 => (j, Hint::Increasing),
            MAX_SWAPS => (j, Hint::Decreasing),
            _ => (j, Hint::Unknown),
        }
    }

    fn order2<T>(&self, d: &[T], a: usize, b: usize, swaps: &mut usize) -> (usize, usize)
    where
        F: Fn(&T, &T) -> bool,
    {
        if self.lt(d, b, a) {
            *swaps += 1;
            return (b, a);
        }
        (a, b)
    }

    fn median<T>(&self, d: &[T], a: usize, b: usize, c: usize, swaps: &mut usize) -> usize
    where
        F: Fn(&T, &T) -> bool,
    {
        let (a, b) = self.order2(d, a, b, swaps);
        let (b, c) = self.order2(d, b, c, swaps);
        let _ = c;
        let (_, b) = self.order2(d, a, b, swaps);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::sort_func;

    #[test]
    fn sorts_like_a_sort() {
        let mut x: u64 = 12345;
        for n in [0usize, 1, 5, 12, 13, 40, 49, 50, 51, 200, 1000] {
            for modulo in [3u64, 50, 1 << 40] {
                let mut v: Vec<(u64, usize)> = (0..n)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % modulo, i)
                    })
                    .collect();
                let mut want: Vec<u64> = v.iter().map(|e| e.0).collect();
                want.sort_unstable();
                sort_func(&mut v, |a, b| a.0 < b.0);
                assert_eq!(v.iter().map(|e| e.0).collect::<Vec<_>>(), want, "n={n}");
                let mut ids: Vec<usize> = v.iter().map(|e| e.1).collect();
                ids.sort_unstable();
                assert_eq!(ids, (0..n).collect::<Vec<_>>(), "a permutation");
            }
        }
        // Reversed and already sorted inputs take the hint paths.
        let mut v: Vec<(u64, usize)> = (0..300).map(|i| (300 - i as u64, i)).collect();
        sort_func(&mut v, |a, b| a.0 < b.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
