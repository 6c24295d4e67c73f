//! How plugins reach this machine, apart from how they run: fetching them
//! over `https://` and from OCI registries (with Docker's credentials),
//! the per-user store `ops plugin install` fills, the download cache,
//! `ops.lock`, and which plugin each name a project uses means
//! ([`Registry`], [`project`]). The runtime ([`crate::plugin`]) runs what
//! this module hands it and knows nothing of where it came from.

pub mod downloads;
pub mod fetch;
mod layout;
pub mod lockfile;
pub mod mirror;
pub mod notice;
mod pins;
pub mod project;
pub mod ranges;
mod registry;
mod signatures;
pub mod signing;
pub mod store;
pub mod versions;

pub use registry::Registry;
