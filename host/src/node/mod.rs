//! Which build node to use, and `ops exec`.
pub mod exec;
