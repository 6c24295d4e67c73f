//! Errors from loading and calling plugins. Every one names the plugin.

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatusOf};

/// What the host asked a plugin to do, for messages and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Metadata,
    Validate,
    Sync,
    Credentials,
    Login,
    Build,
    Push,
    ListImages,
    RemoveImages,
    Storage,
    PruneCache,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Metadata => "describe itself",
            Operation::Validate => "validate its config",
            Operation::Sync => "sync",
            Operation::Credentials => "get registry credentials",
            Operation::Login => "log in to the registry",
            Operation::Build => "build the image",
            Operation::Push => "push the image",
            Operation::ListImages => "list the project's images",
            Operation::RemoveImages => "remove images",
            Operation::Storage => "report its storage",
            Operation::PruneCache => "prune the build cache",
        }
    }

    /// The exit code when the operation itself fails (the plugin reported
    /// an error, as opposed to misbehaving).
    pub fn exit(self) -> Exit {
        match self {
            Operation::Metadata => Exit::Plugin,
            Operation::Validate => Exit::Usage,
            Operation::Sync => Exit::Sync,
            Operation::Build => Exit::ImageBuild,
            Operation::Credentials | Operation::Login | Operation::Push => Exit::Push,
            Operation::ListImages
            | Operation::RemoveImages
            | Operation::Storage
            | Operation::PruneCache => Exit::Housekeeping,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of failure a plugin reported (plugin API 0.3.0's `error`).
/// Retries, exit codes and the run's message follow it; the plugin's text
/// is only shown. Plugins of API 0.1.0 and 0.2.0 report text, which counts
/// as [`Fault::Failed`] unless the host itself saw the node go away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Credentials or access refused: never retried.
    Refused,
    /// Worth another attempt.
    Transient,
    /// The connection to the build node is gone.
    NodeLost,
    /// A program or daemon the plugin needs is missing or down; what to do.
    ToolMissing {
        remedy: String,
    },
    /// A disk is full, at `location`.
    NoSpace {
        location: String,
    },
    Failed,
}

impl Fault {
    pub fn as_str(&self) -> &'static str {
        match self {
            Fault::Refused => "refused",
            Fault::Transient => "transient",
            Fault::NodeLost => "node-lost",
            Fault::ToolMissing { .. } => "tool-missing",
            Fault::NoSpace { .. } => "no-space",
            Fault::Failed => "failed",
        }
    }

    /// The exit code when `operation` fails this way: a lost node is the
    /// connection's (3) whatever the step; a builder that lacks its tool
    /// on the node fails the image step (6) even at login or push, as no
    /// image can be built there; everything else is the operation's own.
    pub fn exit(&self, operation: Operation) -> Exit {
        match (self, operation) {
            (Fault::NodeLost, _) => Exit::Connection,
            (Fault::ToolMissing { .. }, Operation::Login | Operation::Build | Operation::Push) => {
                Exit::ImageBuild
            }
            _ => operation.exit(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: cannot read {}: {source}", path.display())]
    Read {
        plugin: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not a component wasmtime can compile, or not shaped like a plugin.
    #[error("plugin {plugin} is not a valid ops plugin: {message}")]
    Invalid { plugin: String, message: String },
    #[error(
        "plugin {plugin} targets plugin API {target}, but this ops implements plugin API {host}; \
         rebuild the plugin against one of those (or use an ops release that implements {target})"
    )]
    IncompatibleApi {
        plugin: String,
        target: String,
        host: String,
    },
    /// The plugin returned something the contract forbids.
    #[error("plugin {plugin} broke the plugin contract: {message}")]
    Contract { plugin: String, message: String },
    #[error("plugin {plugin} exceeded its memory limit of {limit_mib} MiB and was stopped")]
    MemoryLimit { plugin: String, limit_mib: usize },
    /// Plugin code and WASI waits took longer than the guest-time limit.
    #[error(
        "plugin {plugin} ran for more than its time limit of {seconds:.1}s of plugin code \
         (waits included) during `{operation}` and was stopped"
    )]
    Deadline {
        plugin: String,
        operation: Operation,
        seconds: f64,
    },
    /// The whole call, host calls included, took longer than its
    /// wall-clock limit.
    #[error(
        "plugin {plugin} took more than its wall-clock limit of {seconds:.1}s during \
         `{operation}` and was stopped"
    )]
    CallDeadline {
        plugin: String,
        operation: Operation,
        seconds: f64,
    },
    #[error("plugin {plugin} crashed (trap) during `{operation}`: {message}")]
    Trap {
        plugin: String,
        operation: Operation,
        message: String,
    },
    /// The plugin did its job and reported a failure (git fetch failed,
    /// docker build failed, ...), of the kind `fault`.
    #[error("{plugin}: failed to {operation}: {message}")]
    Failed {
        plugin: String,
        operation: Operation,
        fault: Fault,
        message: String,
    },
    #[error("no plugin named `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("plugin {plugin} is a {actual} plugin, not a {expected} plugin")]
    WrongKind {
        plugin: String,
        expected: &'static str,
        actual: &'static str,
    },
    /// The file is not the one `[plugins.<name>] sha256` pins.
    #[error(
        "plugin {plugin}: {from} has sha256 {actual}, but {at} pins sha256 = \"{expected}\"; \
         nothing was run. If the new file is the one you want, put its digest in ops.toml"
    )]
    DigestMismatch {
        plugin: String,
        /// The file or URL the bytes came from.
        from: String,
        expected: String,
        actual: String,
        /// `ops.toml:LINE:COL` of the pin.
        at: String,
    },
    /// `[plugins.<name>]` without `path`, `url` or `oci`, and nothing of
    /// that name in the plugin store (or the store could not be read).
    #[error("plugin {plugin}: {message}")]
    NotInstalled { plugin: String, message: String },
    /// Getting the bytes from where they are published failed. The exit
    /// code is decided by whoever fetched them, so that the runtime need
    /// not know how plugins are distributed.
    #[error("plugin {plugin}: {source}")]
    Fetch {
        plugin: String,
        exit: Exit,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The wasmtime engine could not be set up.
    #[error("cannot start the plugin runtime: {0}")]
    Engine(String),
}

impl PluginError {
    /// The kind of failure the plugin reported, when it reported one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            PluginError::Failed { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The plugin's own message, when it reported a failure.
    pub fn message(&self) -> Option<&str> {
        match self {
            PluginError::Failed { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl ExitStatusOf for PluginError {
    fn exit(&self) -> Exit {
        match self {
            PluginError::Failed {
                operation, fault, ..
            } => fault.exit(*operation),
            PluginError::Read { .. }
            | PluginError::DigestMismatch { .. }
            | PluginError::NotInstalled { .. }
            | PluginError::Unknown { .. }
            | PluginError::WrongKind { .. } => Exit::Usage,
            PluginError::Engine(_) => Exit::Internal,
            PluginError::Fetch { exit, .. } => *exit,
            PluginError::Invalid { .. }
            | PluginError::IncompatibleApi { .. }
            | PluginError::Contract { .. }
            | PluginError::MemoryLimit { .. }
            | PluginError::Deadline { .. }
            | PluginError::CallDeadline { .. }
            | PluginError::Trap { .. } => Exit::Plugin,
        }
    }
}
