//! How a request to the node can fail, and the exit code each failure
//! deserves when it ends a run.

use crate::exit::{Exit, ExitStatusOf};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The connection is gone (node died, network dropped, keepalive
    /// timeout).
    #[error("connection to the build node lost: {0}")]
    Disconnected(String),
    /// The request itself cannot be carried out safely (an env name that is
    /// not a valid identifier, a value with a newline, ...).
    #[error("invalid remote request: {0}")]
    InvalidRequest(String),
    /// The node answered, but not as SSH or the wrapper promised.
    #[error("build node protocol error: {0}")]
    Protocol(String),
    /// Cancelled by the user (Ctrl-C); the remote process group was killed.
    #[error("interrupted")]
    Interrupted,
}

impl ExitStatusOf for RemoteError {
    fn exit(&self) -> Exit {
        match self {
            RemoteError::Interrupted => Exit::Interrupted,
            RemoteError::InvalidRequest(_) => Exit::Usage,
            RemoteError::Disconnected(_) | RemoteError::Protocol(_) => Exit::Connection,
        }
    }
}
