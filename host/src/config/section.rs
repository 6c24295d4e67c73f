//! A plugin-owned config section (`[build.git]`, `[build.image]`,
//! `[build.push]`), kept with the location of every key so that a plugin's
//! complaint about a key can be reported at its file, line and column.

use std::fmt;
use std::path::PathBuf;

/// Where something is in a config file. Lines and columns count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Line 1, column 1 of `file`: where an error about the file as a whole
    /// (unreadable, or silent on something it must say) points.
    pub fn top_of(file: &std::path::Path) -> Location {
        Location {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One value, after `$NAME` interpolation.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionValue {
    Text(String),
    /// Came from `$NAME`/`${NAME}`: never printed, masked in all output.
    Secret(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    TextList(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SectionEntry {
    /// Relative to the section; nested tables are flattened with dots.
    pub key: String,
    pub value: SectionValue,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginSection {
    /// Dotted path of the section, e.g. `build.git`.
    pub path: String,
    pub entries: Vec<SectionEntry>,
    /// The section header (or the file, when the section is absent), for
    /// errors about keys that are missing.
    pub location: Location,
}

impl PluginSection {
    /// The location of `key`, or of the section when the key is absent.
    pub fn location_of(&self, key: &str) -> &Location {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.location)
            .unwrap_or(&self.location)
    }
}
