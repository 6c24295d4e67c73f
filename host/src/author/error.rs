//! What can go wrong writing or building a plugin crate, and the exit code
//! each deserves.

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatusOf};
use crate::plugin::PluginError;

#[derive(Debug, thiserror::Error)]
pub enum AuthorError {
    #[error(
        "invalid plugin name {0:?}: use lowercase letters, digits and `-`, starting with a \
         letter (at most 64), e.g. acme-sync"
    )]
    BadName(String),
    #[error("invalid plugin name {0:?}: it is a Rust keyword or a standard crate's name")]
    ReservedName(String),
    #[error("{} exists and is not empty; pick another --path or remove it", .0.display())]
    NotEmpty(PathBuf),
    #[error("{}: not a plugin crate: {reason}", path.display())]
    NotAPlugin { path: PathBuf, reason: String },
    #[error("{}", .0)]
    NoToolchain(ops_wasm_toolchain::Error),
    #[error("building {name} failed ({status}); cargo's errors are above")]
    BuildFailed { name: String, status: String },
    #[error("{}: {message}", path.display())]
    NotAModule { path: PathBuf, message: String },
    #[error("the component built from {name} does not load: {source}")]
    DoesNotLoad {
        name: String,
        // Boxed: a plugin error is large, and every other variant small.
        #[source]
        source: Box<PluginError>,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ExitStatusOf for AuthorError {
    fn exit(&self) -> Exit {
        match self {
            AuthorError::BadName(_)
            | AuthorError::ReservedName(_)
            | AuthorError::NotEmpty(_)
            | AuthorError::NotAPlugin { .. }
            | AuthorError::NoToolchain(_) => Exit::Usage,
            AuthorError::BuildFailed { .. } => Exit::BuildCommand,
            AuthorError::NotAModule { .. } | AuthorError::DoesNotLoad { .. } => Exit::Plugin,
            AuthorError::Io { .. } => Exit::Internal,
        }
    }
}

pub(super) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AuthorError {
    let path = path.into();
    move |source| AuthorError::Io { path, source }
}
