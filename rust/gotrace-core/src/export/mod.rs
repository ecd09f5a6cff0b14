//! Writers that need no Python.

pub mod tsv;
