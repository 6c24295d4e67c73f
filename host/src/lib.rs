//! `ops`: remote builds on a persistent build node.
//!
//! `ops build` reads `ops.toml`, resolves the build node, opens one SSH
//! connection to it, syncs the code, runs the build command, builds one
//! Docker image per service in parallel and pushes them. The host owns
//! everything that needs trust (config, secrets, SSH, scheduling, output);
//! the parts that vary between teams (how code is synced, how a registry
//! authenticates, how an image is built) are WebAssembly components that
//! can only act through host calls the host checks.
//!
//! Where things live:
//!
//! - [`cli`]: command-line definitions (`cli::args`) and the thin edge that
//!   turns results into output and exit codes.
//! - [`config`]: `ops.toml` loading, `$ENV` interpolation, validation with
//!   file:line:column errors.
//! - [`node`]: which build node to use (inventory, `target`, control-plane
//!   API) and `ops exec`.
//! - [`ssh`]: the SSH client (russh): ssh_config, auth, host key checks,
//!   one connection with many channels, remote process-group control.
//! - [`relay`]: lets local rsync reach the node over ops's own SSH
//!   session (`ops __relay` is its remote-shell program).
//! - [`remote`]: the small trait through which plugins and the pipeline use
//!   the node, so that neither depends on SSH.
//! - [`plugin`]: the wasmtime runtime: one engine, the on-disk compile
//!   cache, capability checks, one host module per WIT interface, the
//!   embedded built-in plugins.
//! - [`pipeline`]: the steps of `ops build` and their scheduling.
//! - [`output`]: the printer (human or JSON events) and secret redaction.
//! - [`exit`]: the documented exit codes.
//!
//! The WIT contract is in `wit/`, the plugins' sources in `plugins/`, and the
//! compiled built-ins in `plugins/dist/`.

pub mod cli;
pub mod config;
pub mod exit;
pub mod node;
pub mod output;
pub mod pipeline;
pub mod plugin;
pub mod relay;
pub mod remote;
pub mod ssh;
