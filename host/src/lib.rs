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
//! Where things live, from the bottom layer up. Each module uses only
//! modules above it in this list; `tests/architecture.rs` holds that table.
//!
//! - [`domain`]: values with a grammar (image references, tags, registries,
//!   digests, plugin names, loopback hosts, URL authorities), each parsed
//!   once where it enters and passed typed from then on.
//! - [`exit`]: the documented exit codes, and the signals that end a run.
//! - [`text`]: small text helpers several layers need and none owns: a
//!   byte stream cut into lines, environment-variable names, random names.
//! - [`local_file`]: bounded reads of files on this machine (a project can
//!   name any path, `/dev/zero` included).
//! - [`remote`]: the build node as everyone sees it, the one road to it:
//!   [`remote::RemoteNode`] (run a command with streamed stdin and output,
//!   write a file, scratch directories, and the session-wide gate, settle,
//!   interrupt and close that every implementation must provide),
//!   processes held open until the session ends (the build lock and the
//!   scratch guardian share them), and a program in a pseudo-terminal
//!   there (`ops exec -t`).
//! - `terminal`: the local terminal while a program on the node owns it:
//!   raw mode (undone on every way out), size and resizes.
//! - [`output`]: the printer (human or JSON events), the live display on a
//!   terminal and plain lines for CI, the closing summary, colour, the run
//!   log kept in the XDG state dir, live output of running programs, secret
//!   redaction.
//! - [`config`]: `ops.toml` loading, `$ENV` interpolation, validation with
//!   file:line:column errors.
//! - `hooks`: the project's local hooks (`[hooks]`): one shell command
//!   run on this machine in the project's folder, with the run's `OPS_*`
//!   variables and without the variables ops.toml reads secrets from.
//! - [`ssh`]: the SSH transport behind `RemoteNode` (russh): ssh_config,
//!   auth, host key checks, one connection with many channels, remote
//!   process-group control.
//! - `relay`: lets local rsync reach the node over the run's own session
//!   (`ops __relay` is its remote-shell program).
//! - `keeper`: the opt-in connection keeper (`ops __keeper`), which holds
//!   authenticated connections between runs and leases each to one run at
//!   a time, and the run's side of it; built on `ssh`.
//! - [`plugin`]: the wasmtime runtime: one engine, the on-disk compile
//!   cache, capability checks, one host module per WIT interface, version
//!   adapters, loaded plugin handles, the embedded built-in plugins and
//!   which of them may hold an ssh-agent. It runs the bytes it is given
//!   and knows nothing of where they came from.
//! - [`distribution`]: how plugins reach this machine: fetching them
//!   (`https://`, OCI registries with Docker credentials), the per-user
//!   store, the download cache, `ops.lock`, and which plugin each name a
//!   project uses means ([`distribution::Registry`]).
//! - `author`: writing plugins: a crate with the SDK and the WIT this
//!   binary carries, and the wasm toolchain, componentising and a load
//!   check in the runtime.
//! - `node`: which build node to use (inventory, `target`, control-plane
//!   API) and connecting to it.
//! - `trust`: what a project file may only do with the user's trust
//!   (send a local key, send secrets to a node only its own pin vouches
//!   for, send the API token to an origin only it names, give a plugin
//!   local grants), the per-file record `ops trust` keeps, and the gate in
//!   front of every command that could send something.
//! - `housekeeping`: node disk hygiene (`ops node prune`, `ops node df`,
//!   the `[node]` policy): which of a project's images go, decided from
//!   the labels ops puts on every image, done by the image builder's
//!   housekeeping calls; stale scratch directories and free space.
//! - `pipeline`: the steps of `ops build` and their scheduling, on any
//!   `RemoteNode` (its unit tests use one in memory).
//! - `commands`: every subcommand's entry point, one file each
//!   (`build.rs`, `exec.rs`, `lock.rs`, `connection.rs`, `config_check.rs`, `plugin_*.rs`,
//!   `init.rs`, `trust.rs`, `completions.rs`), each taking its settings
//!   struct; commands never see clap.
//! - [`cli`]: clap definitions, their conversion into each command's
//!   settings (`cli/settings.rs`), and the edge that turns results into
//!   output and exit codes.
//!
//! The WIT contract is in `wit/`, the plugins' sources in `plugins/`, and the
//! compiled built-ins in `plugins/dist/`.

mod author;
pub mod cli;
mod commands;
pub mod config;
pub mod distribution;
pub mod domain;
pub mod exit;
mod hooks;
mod housekeeping;
mod keeper;
pub mod local_file;
mod node;
pub mod output;
mod pipeline;
pub mod plugin;
mod relay;
pub mod remote;
pub mod ssh;
mod terminal;
pub mod text;
mod trust;
