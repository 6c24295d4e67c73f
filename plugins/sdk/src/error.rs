//! The typed failure of plugin API 0.3.0. The host decides retries, exit
//! codes and the message the user sees from the case alone, so a plugin
//! says which case it is: it knows what its tool's and its registry's words
//! mean, the host does not.
//!
//! - [`Error::Refused`]: credentials or access refused; never retried.
//! - [`Error::Transient`]: worth another attempt (5xx, 429, a reset).
//! - [`Error::NodeLost`]: the build node's connection is gone; host calls
//!   return it, pass it on as it is (`?` does).
//! - [`Error::ToolMissing`]: a program or daemon the plugin needs is not
//!   installed or not running, with what to do ([`tool_missing`]).
//! - [`Error::NoSpace`]: a disk is full, with where ([`no_space`]).
//! - [`Error::Failed`]: anything else; what a `String` error becomes.

use crate::types::{Error, NoSpace, ToolMissing};

/// A missing program or daemon, and what the user should do about it.
pub fn tool_missing(message: impl Into<String>, remedy: impl Into<String>) -> Error {
    Error::ToolMissing(ToolMissing {
        message: message.into(),
        remedy: remedy.into(),
    })
}

/// A full disk at `location`.
pub fn no_space(message: impl Into<String>, location: impl Into<String>) -> Error {
    Error::NoSpace(NoSpace {
        message: message.into(),
        location: location.into(),
    })
}

/// Whether a program's message is the OS saying a disk is full: ENOSPC's
/// text, as C programs (`No space left on device`) and Go programs (`no
/// space left on device`) print it.
pub fn is_disk_full(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("no space left on device")
}

impl Error {
    /// The plugin's words, whatever the case.
    pub fn text(&self) -> &str {
        match self {
            Error::Refused(m) | Error::Transient(m) | Error::NodeLost(m) | Error::Failed(m) => m,
            Error::ToolMissing(t) => &t.message,
            Error::NoSpace(n) => &n.message,
        }
    }

    /// The same case with `prefix` before the words, e.g. what was being
    /// done when it failed.
    pub fn context(self, prefix: &str) -> Error {
        let join = |m: String| format!("{prefix}: {m}");
        match self {
            Error::Refused(m) => Error::Refused(join(m)),
            Error::Transient(m) => Error::Transient(join(m)),
            Error::NodeLost(m) => Error::NodeLost(join(m)),
            Error::Failed(m) => Error::Failed(join(m)),
            Error::ToolMissing(t) => Error::ToolMissing(ToolMissing {
                message: join(t.message),
                remedy: t.remedy,
            }),
            Error::NoSpace(n) => Error::NoSpace(NoSpace {
                message: join(n.message),
                location: n.location,
            }),
        }
    }
}

/// A text error says nothing of its kind: it is `failed`.
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Failed(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Failed(message.to_owned())
    }
}

/// For code that keeps text errors: the words. (The host still knows a
/// lost node when it sees one.)
impl From<Error> for String {
    fn from(error: Error) -> String {
        match error {
            Error::Refused(m) | Error::Transient(m) | Error::NodeLost(m) | Error::Failed(m) => m,
            Error::ToolMissing(t) => t.message,
            Error::NoSpace(n) => n.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_errors_are_failed_and_context_keeps_the_case() {
        assert!(matches!(Error::from("x"), Error::Failed(m) if m == "x"));
        let e = no_space("disk full", "/b").context("git fetch");
        assert_eq!(e.text(), "git fetch: disk full");
        assert!(matches!(&e, Error::NoSpace(n) if n.location == "/b"));
        assert_eq!(
            String::from(tool_missing("no git", "install git")),
            "no git"
        );
        assert!(is_disk_full("write error: No space left on device"));
    }
}
