//! Analyses over a parsed [`crate::Trace`].

pub mod mmu;
