//! Why a project file was not let through, and the trust store's own
//! failures.

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatusOf};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Nothing was contacted: the gate runs before any connection or API
    /// request.
    #[error(
        "{file} needs your trust before ops acts on it; nothing was contacted. It would:\n{list}\n\
         If you mean it, run `ops trust -f {file}` (asked again when these lines change), or set \
         OPS_TRUST=1 for CI and scripts{hint}"
    )]
    Untrusted {
        file: String,
        list: String,
        /// How to go on without what needs trust, when there is a way.
        hint: String,
    },

    #[error("cannot record trust in {}: {source}", path.display())]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "no place to record trust: none of OPS_DATA_DIR, XDG_DATA_HOME or HOME is an absolute path"
    )]
    NoStore,
}

impl ExitStatusOf for TrustError {
    fn exit(&self) -> Exit {
        match self {
            TrustError::Untrusted { .. } => Exit::Usage,
            TrustError::Store { .. } | TrustError::NoStore => Exit::Internal,
        }
    }
}
