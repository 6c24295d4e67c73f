//! Why a plugin did not accept its config section.

use std::fmt;

use super::error::PluginError;
use crate::config::ConfigError;
use crate::exit::{Exit, ExitStatusOf};

/// Why a config section was not accepted.
#[derive(Debug)]
pub enum ValidationError {
    /// The plugin rejected keys; each error has the key's file:line:column.
    Invalid(Vec<ConfigError>),
    /// The plugin misbehaved while validating.
    Plugin(PluginError),
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::Invalid(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            ValidationError::Plugin(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ValidationError {}

impl ExitStatusOf for ValidationError {
    fn exit(&self) -> Exit {
        match self {
            ValidationError::Invalid(_) => Exit::Usage,
            ValidationError::Plugin(e) => e.exit(),
        }
    }
}
