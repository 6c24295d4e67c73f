//! Why no build node could be chosen.
//!
//! Exit codes: problems with what the config says (nothing configured, an
//! id that is neither in the inventory nor lookup-able, a malformed
//! destination) are usage errors (2): nothing remote was touched. Problems
//! talking to the API (unreachable, timeout, non-2xx, bad JSON, a project
//! without a build node) are connection errors (3).

use crate::config::Location;
use crate::exit::{Exit, ExitStatusOf};
use crate::ssh::SshError;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "{location}: no build node configured. Tell ops which node to use in one of three ways:\n  \
         1. build.node = <id or name> in [build], with a [nodes.<id>] entry or an [api] to look it up\n  \
         2. target = <node id, node name, or SSH destination like user@host:port>\n  \
         3. project = \"<name>\" with [api] url (or OPS_API_URL) to look up its build node"
    )]
    NothingConfigured { location: Location },

    #[error(
        "{location}: {key} = {node}: no [nodes] entry has this id or name, and no [api] url (or \
         OPS_API_URL) is set to look it up"
    )]
    UnknownNode {
        key: String,
        node: String,
        location: Location,
    },

    #[error(
        "{location}: project = {project:?} needs [api] url (or OPS_API_URL) to find its build node"
    )]
    ProjectWithoutApi { project: String, location: Location },

    #[error("{location}: {key} = {value:?} is not a valid SSH destination: {message}")]
    BadDestination {
        key: String,
        value: String,
        message: String,
        location: Location,
    },

    /// ops.toml's `[api] url` is checked at its line; this is the
    /// environment's.
    #[error("OPS_API_URL = {url:?}: {message}")]
    InsecureApi { url: String, message: String },

    #[error("API request GET {url} failed: {message}")]
    Api { url: String, message: String },

    #[error("API request GET {url} returned HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    ApiStatus {
        url: String,
        status: u16,
        body: String,
    },

    #[error("API response from GET {url} is not what ops expects: {message}")]
    ApiResponse { url: String, message: String },

    #[error("API GET {url}: project has no build_node")]
    NoBuildNode { url: String },

    /// A transient failure that outlasted every attempt.
    #[error("{last} (tried {attempts} times)")]
    Retried {
        attempts: u32,
        last: Box<ResolveError>,
    },

    /// `~/.ssh/config` could not be read.
    #[error(transparent)]
    Ssh(Box<SshError>),
}

impl From<SshError> for ResolveError {
    fn from(err: SshError) -> Self {
        ResolveError::Ssh(Box::new(err))
    }
}

impl ExitStatusOf for ResolveError {
    fn exit(&self) -> Exit {
        match self {
            ResolveError::NothingConfigured { .. }
            | ResolveError::UnknownNode { .. }
            | ResolveError::ProjectWithoutApi { .. }
            | ResolveError::BadDestination { .. }
            | ResolveError::InsecureApi { .. } => Exit::Usage,
            ResolveError::Api { .. }
            | ResolveError::ApiStatus { .. }
            | ResolveError::ApiResponse { .. }
            | ResolveError::NoBuildNode { .. }
            | ResolveError::Retried { .. }
            | ResolveError::Ssh(_) => Exit::Connection,
        }
    }
}

impl ResolveError {
    /// Whether asking again may succeed: no answer (refused, reset, timed
    /// out), a server error or a rate limit. A 4xx or a malformed answer
    /// will be the same next time.
    pub fn is_transient(&self) -> bool {
        match self {
            ResolveError::Api { .. } => true,
            ResolveError::ApiStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
