//! Analyses computed from the ordered event table (no Python).

pub mod idmap;
pub mod intervals;
pub mod ranges;
pub mod summarizer;
pub mod summary;
