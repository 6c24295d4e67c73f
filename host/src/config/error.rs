//! Config errors: every one names the file, line and column it is about.

use std::fmt;

use super::section::Location;
use crate::exit::{Exit, ExitStatusOf};

/// What is wrong with a config file, and where.
#[derive(Debug)]
pub struct ConfigError {
    pub location: Location,
    pub kind: ConfigErrorKind,
}

#[derive(Debug)]
pub enum ConfigErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read(std::io::Error),
    /// Not valid TOML.
    Syntax(String),
    /// A key the schema does not know; `suggestion` is the closest known key.
    UnknownKey {
        key: String,
        suggestion: Option<String>,
    },
    /// `$NAME` or `${NAME}` named a variable that is not set.
    MissingEnv { variable: String, key: String },
    /// A value of the wrong TOML type (or out of range).
    WrongType { key: String, expected: String },
    /// A required key is absent.
    Missing { key: String },
    /// Any other problem with a value, e.g. found by a later validation step
    /// or a plugin.
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn new(location: Location, kind: ConfigErrorKind) -> Self {
        ConfigError { location, kind }
    }

    /// A problem with `key` found after loading (for example by the build
    /// pipeline or a plugin's validation), reported at `location`.
    pub fn invalid(location: Location, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::new(
            location,
            ConfigErrorKind::Invalid {
                key: key.into(),
                message: message.into(),
            },
        )
    }

    /// `key` is required but absent; `location` is where it should be (the
    /// section header, or the file).
    pub fn missing(location: Location, key: impl Into<String>) -> Self {
        ConfigError::new(location, ConfigErrorKind::Missing { key: key.into() })
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.message(f)?;
        // A missing key at the top of the file has no line to point at.
        let whole_file = self.location.line <= 1 && self.location.column <= 1;
        let pointless = match &self.kind {
            ConfigErrorKind::Read(_) => true,
            ConfigErrorKind::Missing { .. } => whole_file,
            _ => false,
        };
        match super::snippet::snippet(&self.location) {
            Some(snippet) if !pointless => write!(f, "\n{snippet}"),
            _ => Ok(()),
        }
    }
}

impl ConfigError {
    fn message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        match &self.kind {
            ConfigErrorKind::Read(err) => write!(f, "cannot read config file: {err}"),
            ConfigErrorKind::Syntax(message) => write!(f, "invalid TOML: {message}"),
            ConfigErrorKind::UnknownKey { key, suggestion } => {
                write!(f, "unknown key `{key}`")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean `{s}`?)"),
                    None => Ok(()),
                }
            }
            ConfigErrorKind::MissingEnv { variable, key } => write!(
                f,
                "environment variable `{variable}` (used by `{key}`) is not set"
            ),
            ConfigErrorKind::WrongType { key, expected } => {
                write!(f, "`{key}` must be {expected}")
            }
            ConfigErrorKind::Missing { key } => write!(f, "`{key}` is missing"),
            ConfigErrorKind::Invalid { key, message } => write!(f, "`{key}`: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Read(err) => Some(err),
            _ => None,
        }
    }
}

impl ExitStatusOf for ConfigError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
