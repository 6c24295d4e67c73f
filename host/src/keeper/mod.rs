//! The connection keeper: an `ops` process that holds authenticated SSH
//! connections between runs, so that a run made soon after another opens
//! no connection of its own (docs/ssh.md, "Keeping the connection between
//! runs"). Opt-in, never under `CI`.
//!
//! - [`persist`]: whether this run keeps its connection, and for how long.
//! - `place`: the keeper's private directory, socket and lock, and the id
//!   of this build of ops.
//! - `protocol`: the one JSON line a run sends and the one it gets back;
//!   after a lease both sides speak SSH on the same socket.
//! - [`client`]: the run's side: lease a kept connection (starting the
//!   keeper if need be) or fall back to a direct one; `status` and `stop`.
//! - `spawn`: starting the keeper with fork and exec in a session of its
//!   own.
//! - `server`: the keeper process itself: the socket, the uid check, the
//!   idle timeout.
//! - `pool`: the kept connections, keyed by everything that resolved them,
//!   each leased to one run at a time.
//! - `lease`, `bridge`: one run's lease: the host keys checked again, an
//!   SSH server for the run whose channels become channels on the kept
//!   connection, and what happens to the connection when the run ends.

mod bridge;
pub mod client;
mod error;
mod lease;
pub mod persist;
mod place;
mod pool;
mod protocol;
mod server;
mod spawn;

pub use client::{status, stop, KeeperStatus};
pub use error::PersistError;
pub use server::main as keeper_main;

/// The argument that makes `ops` the keeper (`ops __keeper DIR BUILD`).
/// Kept out of the clap definitions so that help and completions never
/// offer it.
pub const KEEPER_ARG: &str = "__keeper";
