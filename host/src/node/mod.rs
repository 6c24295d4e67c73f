//! Which build node to use ([`resolve`]) and how to reach it ([`connect`]).

mod api;
mod connect;
mod error;
mod resolve;

pub use connect::{connect, ReachSettings};
pub use resolve::{resolve, NodeTarget};
