//! Fetching a plugin's bytes from `https://...` or `oci://...`.
//!
//! This build cannot fetch: every call reports so, and a project that
//! names a plugin by `url` or `oci` runs only with bytes already in the
//! download cache (pinned by ops.lock).

use crate::exit::{Exit, ExitStatusOf};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot fetch {what}: this ops cannot download plugins")]
    Unsupported { what: String },
}

impl ExitStatusOf for FetchError {
    fn exit(&self) -> Exit {
        Exit::Plugin
    }
}

/// The bytes at `source` (`https://...`, `http://` to loopback, or
/// `oci://...`).
pub fn fetch(source: &str) -> Result<Vec<u8>, FetchError> {
    Err(FetchError::Unsupported {
        what: source.to_owned(),
    })
}
