//! Which build node to use ([`resolve`]), and `ops exec`.

mod api;
mod error;
pub mod exec;
mod resolve;

pub use api::{ApiClient, ApiNode, ApiProject, API_TIMEOUT};
pub use error::ResolveError;
pub use resolve::{resolve, resolve_with, NodeTarget};
