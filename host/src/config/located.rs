//! A value read from `ops.toml` together with where it was written, so
//! that a check made later (by the pipeline, long after parsing) points at
//! the value's own line and column, not at a key path looked up again.

use std::ops::Deref;

use super::section::Location;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    /// Where the value starts.
    pub at: Location,
}

impl<T> Deref for Located<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Located<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl Located<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}
