//! What the pipeline hands the plugin handles and gets back: requests and
//! outcomes in the host's own terms, turned into each API version's WIT
//! values by the handles.

use std::fmt;

use crate::config::PluginSection;

/// What to sync, for [`SyncStrategy::sync`].
#[derive(Debug, Clone)]
pub struct SyncRequest<'a> {
    /// The strategy's section (`[build.git]`, `[build.push]`).
    pub section: &'a PluginSection,
    /// `build.path` on the node.
    pub path: String,
    /// `--ref`.
    pub git_ref: Option<String>,
    /// `build.branch`.
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Full commit id, when the strategy knows it.
    pub commit: Option<String>,
    pub summary: String,
}

/// Registry credentials. The secret is registered with the redactor as soon
/// as a plugin returns it; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub registry: String,
    pub username: String,
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("secret", &"***")
            .finish()
    }
}

/// One image to build, for [`ImageBuilder::build`].
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// `[build.image]`.
    pub section: &'a PluginSection,
    /// The build context on the node (`build.path`).
    pub context: String,
    pub dockerfile: String,
    /// `{prefix}/{service}:{tag}`.
    pub image: String,
    pub build_args: Vec<(String, String)>,
    /// Label for the live output, usually the service name.
    pub label: String,
    /// The `ops.*` labels the image must carry.
    pub labels: Vec<(String, String)>,
}

/// What a push left in the registry, as [`ImageBuilder::push`] checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:<64 hex>` of the manifest, or of the image index of a
    /// multi-platform image.
    pub digest: String,
    /// `os/arch[/variant]` of each image in the index; empty for one image.
    pub platforms: Vec<String>,
}

/// At most this many platforms are taken from a plugin (they end up in
/// the summary table).
const MAX_PLATFORMS: usize = 32;

impl Pushed {
    /// The plugin's answer, or what is wrong with it: a digest that is no
    /// sha256 digest, or platforms that are not `os/arch[/variant]` (a
    /// hostile plugin's text must not reach the terminal as a platform).
    pub fn checked(digest: String, platforms: Vec<String>) -> Result<Pushed, String> {
        if digest.parse::<crate::domain::Digest>().is_err() {
            return Err(format!("push returned {digest:?}, not a sha256 digest"));
        }
        if platforms.len() > MAX_PLATFORMS {
            return Err(format!(
                "push returned {} platforms, more than {MAX_PLATFORMS}",
                platforms.len()
            ));
        }
        if let Some(bad) = platforms.iter().find(|p| !is_platform(p)) {
            return Err(format!(
                "push returned platform {bad:?}, not os/arch[/variant]"
            ));
        }
        Ok(Pushed { digest, platforms })
    }
}

fn is_platform(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    (2..=3).contains(&parts.len())
        && s.len() <= 64
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        })
}

#[cfg(test)]
mod pushed_tests {
    use super::Pushed;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn platforms_must_look_like_platforms() {
        let ok = Pushed::checked(D.into(), vec!["linux/amd64".into(), "linux/arm/v7".into()]);
        assert_eq!(ok.map(|p| p.platforms.len()), Ok(2));
        for bad in ["amd64", "linux/amd64\x1b[2J", "linux//amd64", "a/b/c/d"] {
            assert!(
                Pushed::checked(D.into(), vec![bad.into()]).is_err(),
                "{bad}"
            );
        }
        assert!(Pushed::checked("sha256:x".into(), Vec::new()).is_err());
    }
}

/// One image to push, for [`ImageBuilder::push`].
#[derive(Debug, Clone)]
pub struct PushRequest<'a> {
    pub section: &'a PluginSection,
    pub image: String,
    pub label: String,
}

/// One image ops made, as the builder lists it (checked: a hostile
/// builder's text reaches the next call and the terminal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub id: String,
    /// Each a valid `name:tag`; empty for an image without a name.
    pub names: Vec<crate::domain::ImageRef>,
    /// Its `ops.*` labels.
    pub labels: Vec<(String, String)>,
    pub size: u64,
}

/// Limits on what one listed image may hold.
const MAX_NAMES: usize = 256;
const MAX_ID: usize = 128;
const MAX_LABEL_VALUE: usize = 512;

impl StoredImage {
    pub(crate) fn checked(
        image: super::bindings::latest::exports::ops::plugin::image::StoredImage,
    ) -> Result<StoredImage, String> {
        let id_ok = !image.id.is_empty()
            && image.id.len() <= MAX_ID
            && image
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(format!("it listed an image with the id {:?}", image.id));
        }
        if image.names.len() > MAX_NAMES {
            return Err(format!(
                "it listed image {} with {} names",
                image.id,
                image.names.len()
            ));
        }
        let names = image
            .names
            .iter()
            .map(|n| {
                n.parse::<crate::domain::ImageRef>()
                    .ok()
                    .filter(|r| r.tag.is_some() && r.digest.is_none())
                    .ok_or_else(|| {
                        format!("it listed image {} named {n:?}, not name:tag", image.id)
                    })
            })
            .collect::<Result<Vec<_>, String>>()?;
        for (key, value) in &image.labels {
            let key_ok = key.starts_with("ops.")
                && key.len() <= 64
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || matches!(b, b'.' | b'-'));
            let value_ok = value.len() <= MAX_LABEL_VALUE && !value.chars().any(|c| c.is_control());
            if !key_ok || !value_ok {
                return Err(format!(
                    "it listed image {} with the label {key:?} = {value:?}",
                    image.id
                ));
            }
        }
        Ok(StoredImage {
            id: image.id,
            names,
            labels: image.labels,
            size: image.size,
        })
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the builder keeps besides images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUsage {
    /// Bytes of build cache.
    pub cache: u64,
    /// An absolute path where the builder stores things, for its free space.
    pub location: Option<String>,
}

impl StorageUsage {
    pub(crate) fn checked(cache: u64, location: Option<String>) -> Result<StorageUsage, String> {
        if let Some(path) = &location {
            let ok = path.starts_with('/')
                && path.len() <= 4096
                && !path.chars().any(|c| c.is_control());
            if !ok {
                return Err(format!(
                    "it reported its storage at {path:?}, not an absolute path"
                ));
            }
        }
        Ok(StorageUsage { cache, location })
    }
}
