//! Exit codes: the documented contract between `ops` and scripts or CI.
//!
//! Each failing step has its own code so that CI can tell "the build
//! command failed" from "the registry refused the push" without reading
//! the output. `ops exec` is the exception: it exits with the remote
//! command's own status.

/// How a run of `ops` ended. The numeric values are documented in README.md
/// and must not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success,
    /// A bug or an unexpected local failure (I/O on the user's machine).
    Internal,
    /// Bad command line or config. Nothing remote was touched. Also
    /// `ops plugin new`/`build` refusing their input: a bad name, a
    /// non-empty folder, a folder that is not a plugin crate, no wasm
    /// toolchain installed.
    Usage,
    /// The build node could not be resolved, reached or authenticated to
    /// (including a refused host key).
    Connection,
    /// Syncing the code to the node failed.
    Sync,
    /// `build.command` failed on the node; for `ops plugin build`, cargo
    /// failed to build the plugin.
    BuildCommand,
    /// A `docker build` (or other image builder) failed.
    ImageBuild,
    /// Logging in to the registry or pushing an image failed.
    Push,
    /// A plugin misbehaved: trapped, hit a limit, or broke the contract;
    /// for `ops plugin build`, what cargo built is not a plugin this host
    /// loads.
    Plugin,
    /// A local hook of the project (`[hooks]`) failed. A failed
    /// `pre_build` stops the run before ops connects; a failed `post_*`
    /// hook undoes nothing that was done.
    Hook,
    /// Fetching `build.artifacts` failed: a pattern matched nothing, a
    /// match was not a regular file under `build.path`, the node reported
    /// a path ops refuses, or a file could not be read or written.
    Artifacts,
    /// `ops node prune` or `ops node df` failed: the image builder could
    /// not list, remove or measure what it keeps on the node, or the
    /// node's own cleanup failed. After a push (`[node]` policy) the same
    /// failure is only a warning.
    Housekeeping,
    /// Interrupted by Ctrl-C (SIGINT); remote work was stopped.
    Interrupted,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::Connection => 3,
            Exit::Sync => 4,
            Exit::BuildCommand => 5,
            Exit::ImageBuild => 6,
            Exit::Push => 7,
            Exit::Plugin => 8,
            Exit::Hook => 9,
            Exit::Artifacts => 10,
            Exit::Housekeeping => 11,
            Exit::Interrupted => 130,
        }
    }

    /// Every code with its meaning, for `--help` and the README table.
    pub const ALL: [Exit; 13] = [
        Exit::Success,
        Exit::Internal,
        Exit::Usage,
        Exit::Connection,
        Exit::Sync,
        Exit::BuildCommand,
        Exit::ImageBuild,
        Exit::Push,
        Exit::Plugin,
        Exit::Hook,
        Exit::Artifacts,
        Exit::Housekeeping,
        Exit::Interrupted,
    ];

    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Internal => "internal or local I/O error",
            Exit::Usage => "usage or config error; nothing remote was touched",
            Exit::Connection => "build node could not be resolved, reached or authenticated",
            Exit::Sync => "syncing the code to the build node failed",
            Exit::BuildCommand => "the build command failed",
            Exit::ImageBuild => "an image build failed; nothing was pushed",
            Exit::Push => "registry login or image push failed",
            Exit::Plugin => "a plugin trapped, hit a limit or broke the contract",
            Exit::Hook => "a local hook failed (pre_build: nothing remote was touched)",
            Exit::Artifacts => "fetching the build's artifacts failed",
            Exit::Housekeeping => "node housekeeping (ops node prune, ops node df) failed",
            Exit::Interrupted => "interrupted (Ctrl-C); remote work was stopped",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// An error that knows which exit code it deserves. Library errors implement
/// this so that the edge (`cli`) can pick the code without string matching.
pub trait ExitStatusOf {
    fn exit(&self) -> Exit;
}

/// A failed command at the edge: the error to print and the code to exit
/// with. Library errors become a `Failure` through [`ExitStatusOf`] (with
/// `?`).
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit,
            error: error.into(),
        }
    }
}

impl<E> From<E> for Failure
where
    E: ExitStatusOf + std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Failure {
            exit: error.exit(),
            error: error.into(),
        }
    }
}

/// Resolves when the user asks ops to stop: SIGINT (Ctrl-C) or SIGTERM.
/// Every command that reaches the node listens for the same signals, and
/// each then stops its remote work and exits with [`Exit::Interrupted`].
pub async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        // Without a SIGTERM handler Ctrl-C still works.
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
