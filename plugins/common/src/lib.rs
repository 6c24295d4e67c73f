//! Helpers shared by the built-in plugins. Plain functions over strings, so
//! that they do not depend on any one world's generated bindings.

mod base64;
mod keys;
mod quote;

pub use base64::encode as base64_encode;
pub use keys::{suggest, unknown_key_message};
pub use quote::sh_quote;
