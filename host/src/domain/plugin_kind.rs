//! What a plugin is for.

use std::fmt;
use std::str::FromStr;

/// The three WIT worlds a plugin can implement, named as the JSON events,
/// `ops plugin list` and the plugin store's records spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    SyncStrategy,
    RegistryAuth,
    ImageBuilder,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a plugin kind (sync-strategy, registry-auth or image-builder)")]
pub struct PluginKindError(pub String);

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::SyncStrategy => "sync-strategy",
            PluginKind::RegistryAuth => "registry-auth",
            PluginKind::ImageBuilder => "image-builder",
        }
    }
}

impl FromStr for PluginKind {
    type Err = PluginKindError;

    fn from_str(text: &str) -> Result<PluginKind, PluginKindError> {
        [
            PluginKind::SyncStrategy,
            PluginKind::RegistryAuth,
            PluginKind::ImageBuilder,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| PluginKindError(text.to_owned()))
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_and_write_the_same_words() {
        for kind in [
            PluginKind::SyncStrategy,
            PluginKind::RegistryAuth,
            PluginKind::ImageBuilder,
        ] {
            assert_eq!(kind.as_str().parse::<PluginKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        for bad in ["", "sync", "Sync-Strategy", "image_builder"] {
            assert!(bad.parse::<PluginKind>().is_err(), "{bad}");
        }
    }
}
