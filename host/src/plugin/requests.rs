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

/// One image to push, for [`ImageBuilder::push`].
#[derive(Debug, Clone)]
pub struct PushRequest<'a> {
    pub section: &'a PluginSection,
    pub image: String,
    pub label: String,
}
