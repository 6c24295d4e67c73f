//! The typed shape of `ops.toml` and what it answers; reading it is
//! [`parse`](super::parse).

use std::path::{Path, PathBuf};

use super::hooks::Hooks;
use super::located::Located;
use super::node_policy::NodePolicy;
use super::section::{Location, PluginSection};

/// A loaded `ops.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, as given.
    pub file: PathBuf,
    /// `project`: the name the control-plane API knows the project by.
    pub project: Option<Located<String>>,
    /// `target`: a node id, node name, or SSH destination.
    pub target: Option<Located<NodeRef>>,
    /// `[nodes.<id>]`, in file order.
    pub nodes: Vec<NodeEntry>,
    /// `[api]`, with `OPS_API_URL`/`OPS_API_TOKEN` filled in when absent.
    pub api: ApiConfig,
    /// `[build]`, if present.
    pub build: Option<BuildConfig>,
    /// `[plugins.<name>]`: installed plugins, kept raw for the runtime.
    pub plugins: Vec<PluginDecl>,
    /// `[plugins]`'s own keys: rules for every plugin.
    pub plugin_rules: PluginRules,
    /// `[hooks]`: local commands around `ops build`.
    pub hooks: Hooks,
    /// `[node]`: what ops keeps on the build node.
    pub node: NodePolicy,
    pub(super) secrets: Vec<String>,
    /// The environment variables `secrets` were read from.
    pub(super) secret_variables: Vec<String>,
}

/// A reference to a node: `4` or `"build-1"` (for `target`, a string may
/// also be an SSH destination; resolution decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    Id(u64),
    Name(String),
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeRef::Id(id) => write!(f, "{id}"),
            NodeRef::Name(name) => write!(f, "{name}"),
        }
    }
}

/// One `[nodes.<id>]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// The table key as written (`"4"` in `[nodes.4]`).
    pub key: String,
    /// The key as a number, when it is one.
    pub id: Option<u64>,
    pub name: Option<String>,
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// An OpenSSH public key line (`ssh-ed25519 AAAA...`); wins over
    /// known_hosts.
    pub host_key: Option<Located<String>>,
    /// The table header.
    pub location: Location,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    pub url: Option<String>,
    /// Sent as `Authorization: Bearer`. Always registered as a secret.
    pub token: Option<String>,
    /// Where `url` is written in the file; `None` when it came from
    /// `OPS_API_URL` (the user's own choice, not the project's).
    pub url_at: Option<Location>,
    /// Whether `token` is written in the file rather than taken from
    /// `OPS_API_TOKEN`.
    pub token_in_file: bool,
}

/// `[build]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildConfig {
    pub node: Option<Located<NodeRef>>,
    pub path: Option<Located<String>>,
    pub command: Option<Located<String>>,
    /// `source`: `"git"`, `"push"` or the name of a sync-strategy plugin.
    pub source: Option<Located<String>>,
    pub branch: Option<Located<String>>,
    /// `artifacts`: files (or globs) under `path` fetched after the build
    /// command, each with where it is written.
    pub artifacts: Vec<Located<String>>,
    /// `[build.git]`, owned by the git plugin (keys not checked here).
    pub git: Option<PluginSection>,
    /// `[build.image]`, typed and also kept as a section for plugins.
    pub image: Option<ImageConfig>,
    /// `[build.push]`, owned by the rsync plugin (keys not checked here).
    pub push: Option<PluginSection>,
    /// `[build.<name>]`: the sections of plugins named by `source` or
    /// `[build.image] auth`, owned by those plugins.
    pub sections: Vec<PluginSection>,
    /// The `[build]` header.
    pub location: Location,
}

/// `[build.image]`: the keys the host itself uses. Every other key is the
/// image builder's, checked only by its `validate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    pub registry: Option<Located<String>>,
    pub token: Option<String>,
    pub username: Option<String>,
    pub prefix: Option<Located<String>>,
    pub binary_arg: Option<Located<String>>,
    pub services: Option<Located<Vec<String>>>,
    /// `plugin`: the image-builder plugin (default `docker`).
    pub plugin: Option<Located<String>>,
    /// `auth`: the registry-auth plugin (default `token-auth`).
    pub auth: Option<Located<String>>,
    /// The section as data without `plugin` and `auth` (which choose
    /// plugins rather than configure one), for the image builder.
    pub section: PluginSection,
}

/// The built-in sync strategies `build.source` names directly.
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[("git", "git"), ("push", "rsync")];

impl BuildConfig {
    /// `source` as written, `"git"` when absent.
    pub fn source_name(&self) -> &str {
        self.source.as_ref().map_or("git", |s| s.as_str())
    }

    /// The sync-strategy plugin `source` picks: `git`, `rsync` for
    /// `"push"`, else the plugin of that name.
    pub fn sync_plugin(&self) -> &str {
        let source = self.source_name();
        BUILTIN_SOURCES
            .iter()
            .find(|(s, _)| *s == source)
            .map_or(source, |(_, plugin)| plugin)
    }

    /// Whether the source builds a ref: every one but `"push"`, which
    /// sends the local working tree as it is.
    pub fn source_takes_ref(&self) -> bool {
        self.source_name() != "push"
    }

    /// Whether `[build.<source>]` must be written: the git source has no
    /// repository to clone without it.
    pub fn source_needs_section(&self) -> bool {
        self.source_name() == "git"
    }

    /// `[build.<name>]`, when the file has it.
    pub fn section(&self, name: &str) -> Option<&PluginSection> {
        match name {
            "git" => self.git.as_ref(),
            "push" => self.push.as_ref(),
            _ => {
                let path = format!("build.{name}");
                self.sections.iter().find(|s| s.path == path)
            }
        }
    }
}

/// Where `[plugins.<name>]` takes a plugin's bytes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclSource {
    /// `path`, relative paths taken from the config file's folder.
    Path(PathBuf),
    /// `url = "https://..."` (or `http://` to a loopback address).
    Url(String),
    /// `oci = "oci://host[:port]/repo[:tag|@sha256:...]"`.
    Oci(String),
    /// None of them: the plugin installed in the user's store.
    Installed,
}

/// `[plugins.<name>]`: a plugin, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDecl {
    pub name: String,
    pub source: DeclSource,
    /// `path`, `url` or `oci` as written (`installed` without them), for
    /// ops.lock.
    pub source_text: String,
    /// The `path`/`url`/`oci` key, else the table header.
    pub source_location: Location,
    /// `version = "^1.4"`: the semver requirement (checked, as written)
    /// that picks a release among the `oci` repository's tags.
    pub version: Option<Located<String>>,
    /// `grant = [...]`: the capabilities the user grants, each with its
    /// location.
    pub grants: Vec<(String, Location)>,
    /// `sha256 = "<64 hex>"`: the digest the file must have, lowercase,
    /// with its location.
    pub sha256: Option<(String, Location)>,
    /// `signed_by = "principal"` or a list: a signature by a key the
    /// allowed_signers files trust for one of them is required.
    pub signed_by: Option<Located<Vec<String>>>,
    /// The table header.
    pub location: Location,
}

/// `[plugins]`'s own keys (every other key there is a plugin's table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginRules {
    /// `signers = "path"`: the project's allowed_signers file, resolved
    /// against the folder of ops.toml.
    pub signers: Option<Located<PathBuf>>,
    /// `require_signed = true`: every plugin that is not built in needs a
    /// trusted signature; where it is written.
    pub require_signed: Option<Location>,
    /// `mirror = "oci://host[:port][/prefix]"`: where `oci` plugins are
    /// fetched from instead (the same repository path under the prefix).
    pub mirror: Option<Located<String>>,
}

/// The keys of `[plugins]` that are rules, not plugin names.
pub const PLUGIN_RULE_KEYS: &[&str] = &["signers", "require_signed", "mirror"];

impl Config {
    /// The top of the file: where an error about something the file does
    /// not say at all (no node configured) points.
    pub fn top(&self) -> Location {
        Location::top_of(&self.file)
    }

    /// The `[build]` header, or the top of a file without one.
    pub fn build_location(&self) -> Location {
        self.build
            .as_ref()
            .map_or_else(|| self.top(), |b| b.location.clone())
    }

    /// Every value read from the environment, plus the API token.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The environment variables the file reads secrets from (`$NAME`
    /// anywhere, `OPS_API_TOKEN` when it supplies the API token), each
    /// once: what a local hook's environment must not carry.
    pub fn secret_variables(&self) -> &[String] {
        &self.secret_variables
    }

    /// The folder of the config file (relative paths in it start here).
    pub fn dir(&self) -> &Path {
        match self.file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        }
    }

    /// The `[nodes.<id>]` entry whose id or name is `node`.
    pub fn node(&self, node: &NodeRef) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| match node {
            NodeRef::Id(id) => n.id == Some(*id),
            NodeRef::Name(name) => n.name.as_deref() == Some(name) || &n.key == name,
        })
    }
}
