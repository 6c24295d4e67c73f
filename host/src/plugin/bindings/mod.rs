//! One bindgen module per plugin API version the host loads, as each
//! released WIT folder is frozen. The host's own code is written against
//! the latest version ([`latest`]); older versions are adapted to it
//! (`super::compat`, `super::compat_v0_2`, `super::host::v0_1_0`,
//! `super::host::v0_2_0`).

pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

pub use v0_3_0 as latest;
pub use v0_3_0::ops::plugin::types;
