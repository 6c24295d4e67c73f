//! One bindgen module per plugin API version the host loads, as each
//! released WIT folder is frozen. The host's own code is written against
//! the latest version, re-exported here; older versions are adapted to it
//! in [`v0_1_0`]'s conversions (`super::compat`).

pub mod v0_1_0;
pub mod v0_2_0;

pub use v0_2_0::{auth, image, sync, types};
