//! Why a host call failed, kept typed (with the node's, the HTTP client's
//! or the OS's own error as its source) inside the host. The WIT boundary
//! of API 0.1 and 0.2 carries a string: [`HostCallError::into_wit`] makes
//! it, with the words plugins have always been given.

use std::io;
use std::path::PathBuf;

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
    /// An HTTP request got no answer (or an unreadable one).
    #[error("http: {url}: {}{source}", if *.reading { "reading the response: " } else { "" })]
    Http {
        url: String,
        /// Whether the answer started and its body failed.
        reading: bool,
        #[source]
        source: ureq::Error,
    },
    /// The task that ran a blocking call died (a panic in it).
    #[error("{what} task failed: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// The granted program is not on the user's PATH. The words are the
    /// OS's own, which is what this call said before it searched the PATH
    /// itself: plugins of API 0.2.0 can tell a missing program only by them.
    #[error("cannot run {program}: No such file or directory (os error 2): not on your PATH")]
    NotOnPath { program: String },
    /// Starting or waiting for a local program failed.
    #[error("{}{program}: {source}", if *.waiting { "waiting for " } else { "cannot run " })]
    Local {
        program: String,
        /// Whether it had started.
        waiting: bool,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
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

    #[test]
    fn local_failures_keep_the_os_error_and_their_old_words() {
        let missing = || io::Error::from(io::ErrorKind::NotFound);
        let err = HostCallError::Local {
            program: "helper".into(),
            waiting: false,
            source: missing(),
        };
        assert_eq!(
            err.source().map(|s| s.to_string()),
            Some(missing().to_string())
        );
        assert_eq!(err.into_wit(), format!("cannot run helper: {}", missing()));
        let err = HostCallError::Local {
            program: "helper".into(),
            waiting: true,
            source: missing(),
        };
        assert!(err.into_wit().starts_with("waiting for helper: "));
        let err = HostCallError::Read {
            path: "/k/id".into(),
            source: missing(),
        };
        assert!(err.source().is_some());
        assert_eq!(err.into_wit(), format!("cannot read /k/id: {}", missing()));
        assert_eq!(
            HostCallError::NotOnPath {
                program: "pass".into()
            }
            .into_wit(),
            "cannot run pass: No such file or directory (os error 2): not on your PATH"
        );
    }
}
