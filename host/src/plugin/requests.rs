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
