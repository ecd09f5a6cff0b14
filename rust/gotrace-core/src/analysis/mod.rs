//! Analyses computed from the ordered event table (no Python): state intervals, Go's
//! goroutine Summarizer, ranges/GC/STW, and the minimum mutator utilization.

pub mod distinct;
pub mod heat;
pub mod idmap;
pub mod intervals;
pub mod keyed;
pub mod mmu;
pub mod ranges;
pub mod sched;
pub mod summarizer;
pub mod summary;
