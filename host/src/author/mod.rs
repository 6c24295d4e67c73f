//! Writing plugins, for `ops plugin new` and `ops plugin build`, with
//! nothing but the `ops` binary and cargo.
//!
//! - `embedded`: the SDK's sources, the WIT and the plugins' lock file,
//!   carried in the binary and written into every new crate.
//! - `scaffold`: `new`, a crate per kind that does something real and
//!   tests natively.
//! - `build`: `build`, through the toolchain `ops-wasm-toolchain` finds
//!   (shared with `cargo xtask plugins`), `componentize` where the target
//!   makes core modules, then a load in this host's runtime.
//! - `build_dirs`: the cargo target folder every plugin crate of a user
//!   shares (one std, one set of common dependencies), and where the
//!   component lands.

mod build;
mod build_dirs;
mod componentize;
mod embedded;
mod error;
mod scaffold;

pub use build::build;
pub use scaffold::{write, NewKind};
