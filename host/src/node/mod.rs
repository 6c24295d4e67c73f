//! Which build node to use ([`resolve`]), how to reach it ([`connect`]),
//! and `ops exec`.

mod api;
mod connect;
mod error;
pub mod exec;
mod resolve;

pub use connect::{connect, ReachSettings};
pub use resolve::{resolve, NodeTarget};
