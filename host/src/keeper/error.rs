//! Errors of the keeper's settings. Everything else that goes wrong with a
//! keeper is not an error of the run: the run connects directly instead,
//! saying why in one line.

use crate::exit::{Exit, ExitStatusOf};

/// `OPS_PERSIST` or the user config says something that is not a setting.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct PersistError {
    /// `OPS_PERSIST` or `FILE[:LINE:COLUMN]`.
    pub origin: String,
    pub message: String,
}

impl ExitStatusOf for PersistError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
