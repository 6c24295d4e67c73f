//! A plugin's name.

use std::fmt;
use std::str::FromStr;

/// Lowercase letters, digits and `-`, starting with a letter, at most 64
/// characters: plugin names are also folder names in the plugin store and
/// config keys (`[build.<name>]`, `[plugins.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a plugin name (lowercase letters, digits and `-`, starting with a letter)")]
pub struct PluginNameError(pub String);

impl PluginName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PluginName {
    type Err = PluginNameError;

    fn from_str(name: &str) -> Result<PluginName, PluginNameError> {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.len() <= 64;
        if ok {
            Ok(PluginName(name.to_owned()))
        } else {
            Err(PluginNameError(name.to_owned()))
        }
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names() {
        let longest = format!("a{}", "b".repeat(63));
        let too_long = format!("{longest}c");
        let table: &[(&str, bool)] = &[
            ("git", true),
            ("token-auth", true),
            ("acme-sync2", true),
            ("a", true),
            (&longest, true),
            ("", false),
            ("Git", false),
            ("2git", false),
            ("-git", false),
            ("my_sync", false),
            ("a.b", false),
            ("a/b", false),
            ("..", false),
            (&too_long, false),
        ];
        for (text, valid) in table {
            assert_eq!(text.parse::<PluginName>().is_ok(), *valid, "{text:?}");
        }
    }
}
