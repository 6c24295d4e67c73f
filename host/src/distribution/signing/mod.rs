//! Who made a plugin: SSH signatures over its bytes (namespace
//! `ops-plugin`, the format `ssh-keygen -Y sign` writes), the
//! `allowed_signers` files that say whom a user trusts for which
//! principal, with the revoked keys beside each, and the checks a project
//! asks for with `signed_by` and `require_signed`. Everything here is
//! offline: a signature travels with the plugin (a `.sig` beside a file or
//! URL, an OCI referrer) and is checked against local files only.

mod policy;
mod sig;
mod signers;
mod trust;

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatusOf};

pub use policy::{check, Checked, Found, LockedSigner, Refusal, Requirement, Subject};
pub use sig::{fingerprint, read_private_key, sign, PluginSignature, NAMESPACE};
pub use signers::{read_revoked, read_signers, revoked_path, Revoked, Signer};
pub use trust::{TrustFile, TrustStore, SIGNERS_ENV};

/// A signature, key or trust file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{from} is not an SSH signature: {message}")]
    Malformed { from: String, message: String },
    #[error(
        "the signature was made for namespace {found:?}, not \"ops-plugin\": it signs \
         something else than a plugin"
    )]
    Namespace { found: String },
    #[error("the signature does not match the bytes")]
    BadSignature,
    #[error("{}: {message}", path.display())]
    KeyFile { path: PathBuf, message: String },
    #[error("{0}")]
    Key(String),
    #[error("{}:{line}: {message}", path.display())]
    TrustFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl ExitStatusOf for SignError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
