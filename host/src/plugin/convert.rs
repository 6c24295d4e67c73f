//! Config sections to and from the WIT types.

use super::bindings::types::{ConfigEntry, ConfigError as WitConfigError, ConfigValue};
use crate::config::{ConfigError, PluginSection, SectionValue};

/// `[build.git]` and friends as the plugin sees them. Secrets stay marked
/// as secrets so that the plugin knows not to log them.
pub fn to_wit(section: &PluginSection) -> Vec<ConfigEntry> {
    section
        .entries
        .iter()
        .map(|entry| ConfigEntry {
            key: entry.key.clone(),
            value: match &entry.value {
                SectionValue::Text(s) => ConfigValue::Text(s.clone()),
                SectionValue::Secret(s) => ConfigValue::Secret(s.clone()),
                SectionValue::Integer(i) => ConfigValue::Integer(*i),
                SectionValue::Float(f) => ConfigValue::Float(*f),
                SectionValue::Boolean(b) => ConfigValue::Boolean(*b),
                SectionValue::TextList(l) => ConfigValue::TextList(l.clone()),
            },
        })
        .collect()
}

/// The string values of a section: the only paths `local.read-file` will
/// open for the plugin.
pub fn readable_paths(section: &PluginSection) -> Vec<String> {
    section
        .entries
        .iter()
        .filter_map(|entry| match &entry.value {
            SectionValue::Text(s) | SectionValue::Secret(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// A plugin's complaints, placed at the keys they name (or at the section
/// header for keys that are absent).
pub fn to_config_errors(
    plugin: &str,
    section: &PluginSection,
    errors: Vec<WitConfigError>,
) -> Vec<ConfigError> {
    errors
        .into_iter()
        .map(|e| {
            let key = if e.key.is_empty() {
                section.path.clone()
            } else {
                format!("{}.{}", section.path, e.key)
            };
            let message = if e.message.trim().is_empty() {
                format!("rejected by plugin {plugin} (no reason given)")
            } else {
                e.message
            };
            ConfigError::invalid(section.location_of(&e.key).clone(), key, message)
        })
        .collect()
}
