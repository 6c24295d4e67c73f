//! Why a host call failed, kept typed (with the node's, the HTTP client's
//! or the OS's own error as its source) inside the host. API 0.3.0 gives
//! the plugin a typed `error` ([`HostCallError::into_typed`]): a lost
//! connection reaches it as `node-lost`, which it passes back as such. The
//! WIT boundary of API 0.1 and 0.2 carries a string: the same words
//! plugins have always been given (`compat::error_text`).

use std::io;
use std::path::PathBuf;

use crate::plugin::bindings::types::{Error as WitError, ToolMissing};
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
    /// The string the WIT interface of API 0.1 and 0.2 returns to the
    /// plugin.
    #[cfg(test)]
    pub(crate) fn into_wit(self) -> String {
        self.to_string()
    }

    /// Whether the node's connection is gone.
    pub(crate) fn is_node_lost(&self) -> bool {
        matches!(
            self,
            HostCallError::Remote(RemoteError::Disconnected(_))
                | HostCallError::Write {
                    source: RemoteError::Disconnected(_),
                    ..
                }
        )
    }

    /// The typed error of API 0.3.0, with the same words as `into_wit`.
    pub(crate) fn into_typed(self) -> WitError {
        let message = self.to_string();
        if self.is_node_lost() {
            return WitError::NodeLost(message);
        }
        match self {
            HostCallError::Refused(_) => WitError::Refused(message),
            HostCallError::NotOnPath { .. } => WitError::ToolMissing(ToolMissing {
                message,
                remedy: "install it on this machine or put it on your PATH".into(),
            }),
            HostCallError::Local { source: ref e, .. } if e.kind() == io::ErrorKind::NotFound => {
                WitError::ToolMissing(ToolMissing {
                    message,
                    remedy: "install it on this machine".into(),
                })
            }
            // No answer (refused, reset, timed out): another attempt may
            // get one.
            HostCallError::Http { .. } => WitError::Transient(message),
            _ => WitError::Failed(message),
        }
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
    fn a_lost_node_is_typed_with_the_same_words() {
        let lost = || RemoteError::Disconnected("eof".into());
        let text = HostCallError::Remote(lost()).to_string();
        match HostCallError::Remote(lost()).into_typed() {
            WitError::NodeLost(m) => assert_eq!(m, text),
            other => panic!("{other:?}"),
        }
        let write = HostCallError::Write {
            path: "/b/x".into(),
            source: lost(),
        };
        assert!(matches!(write.into_typed(), WitError::NodeLost(_)));
        assert!(matches!(
            HostCallError::Refused("no".into()).into_typed(),
            WitError::Refused(m) if m == "no"
        ));
        assert!(matches!(
            HostCallError::NotOnPath {
                program: "pass".into()
            }
            .into_typed(),
            WitError::ToolMissing(_)
        ));
        assert!(matches!(
            HostCallError::NoNode.into_typed(),
            WitError::Failed(_)
        ));
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
