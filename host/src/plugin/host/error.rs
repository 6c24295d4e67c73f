//! Why a host call failed, kept typed (with the node's own error as its
//! source) inside the host. The WIT boundary of API 0.1 and 0.2 carries a
//! string: [`HostCallError::into_wit`] makes it, with the words plugins
//! have always been given.

use crate::remote::RemoteError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum HostCallError {
    /// The plugin may not do this: a missing capability, or a write the
    /// confinement rules refuse. Recorded as a refusal for the run.
    #[error("{0}")]
    Refused(String),
    /// The call's arguments are not acceptable (a bad mode, a bad name).
    #[error("{0}")]
    Invalid(String),
    #[error("no build node in this call (config validation runs before ops connects)")]
    NoNode,
    #[error("this build node offers no remote shell for local programs")]
    NoRemoteShell,
    /// The node failed the request.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// Writing a file into the build path failed on the node.
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: RemoteError,
    },
}

impl HostCallError {
    /// The string the WIT interface returns to the plugin.
    pub(crate) fn into_wit(self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_plugin_gets_the_words_and_the_host_keeps_the_source() {
        let lost = RemoteError::Disconnected("connection reset".into());
        let lost_text = lost.to_string();
        let err = HostCallError::Write {
            path: "/b/x".into(),
            source: lost,
        };
        assert!(err.source().is_some());
        assert_eq!(err.into_wit(), format!("cannot write /b/x: {lost_text}"));
        assert_eq!(
            HostCallError::NoNode.into_wit(),
            "no build node in this call (config validation runs before ops connects)"
        );
    }
}
