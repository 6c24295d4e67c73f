//! The relay: local programs (rsync) reaching the build node over ops's own
//! SSH connection.
//!
//! rsync wants a remote-shell program (`-e`) that it runs as
//! `PROG [-l USER] HOST COMMAND...` and talks to over stdin/stdout. ops
//! gives it `ops __relay SOCKET`: that small process connects to a Unix
//! socket in a private directory, where the running `ops build` accepts the
//! connection and runs COMMAND on the node it already reached and verified.
//! So host-key checks, authentication, ProxyJump and "one login per run"
//! hold for rsync exactly as for every other step, and there is no second
//! SSH stack to configure.
//!
//! The socket speaks [`frame`]s so that stdout, stderr and the exit status
//! stay apart.

pub mod client;
mod frame;
mod server;

pub use server::Relay;

/// The argument that makes `ops` rsync's remote-shell program
/// (`ops __relay SOCKET [-l USER] HOST COMMAND...`). Kept out of the clap
/// definitions so that help and shell completions never offer it.
pub const RELAY_ARG: &str = "__relay";
