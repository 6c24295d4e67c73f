//! What a project file would do that only the user should decide: each a
//! [`Finding`] at the line that asks for it. A file with none needs no
//! trust; a new kind of thing a file can ask for is one more function
//! here.

use std::path::{Path, PathBuf};

use crate::config::{Config, Location, PluginSection, SectionValue};
use crate::domain::Authority;
use crate::ssh::SshConfigFile;

/// One thing the file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub location: Location,
    /// What it would do, in words.
    pub what: String,
    /// Exactly what decides it (key, value, pin, grant), for the digest
    /// that trust is recorded under: the same words with another build
    /// command are the same finding.
    pub material: String,
}

/// What the findings are judged against: the user's own machine.
pub struct Context<'a> {
    pub home: Option<&'a Path>,
    pub ssh_config: &'a SshConfigFile,
    /// `OPS_API_URL` as the user set it.
    pub env_api_url: Option<String>,
}

/// Keys of built-in plugins' sections that name a local file the plugin
/// reads and sends to the node.
const LOCAL_FILE_KEYS: &[&str] = &[crate::plugin::DEPLOY_KEY_PATH];

/// Grants that act on the user's machine rather than on the node.
const LOCAL_GRANTS: &[(&str, &str)] = &[
    (
        "local-exec",
        "runs that program on this machine: whatever it can do",
    ),
    ("local-read", "reads local files its section names"),
    ("env", "reads your environment"),
    ("http", "sends requests from this machine"),
];

pub fn collect(config: &Config, cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    local_files(config, cx, &mut out);
    pinned_nodes(config, cx, &mut out);
    api_token(config, cx, &mut out);
    local_grants(config, &mut out);
    out
}

/// `[hooks]`: each runs local code the file chose. Kept apart from
/// [`collect`] because only a command that runs them (`ops build` without
/// `--no-hooks`) needs them trusted.
pub fn hooks(config: &Config) -> Vec<Finding> {
    config
        .hooks
        .iter()
        .map(|(point, command)| Finding {
            location: command.at.clone(),
            what: format!(
                "hooks.{point} runs `{}` on this machine, as you",
                command.as_str()
            ),
            material: format!("hook {point} = {}", command.as_str()),
        })
        .collect()
}

fn sections(config: &Config) -> Vec<&PluginSection> {
    let Some(build) = &config.build else {
        return Vec::new();
    };
    let mut all: Vec<&PluginSection> = build.git.iter().chain(&build.push).collect();
    all.extend(build.image.as_ref().map(|i| &i.section));
    all.extend(&build.sections);
    all
}

fn text(value: &SectionValue) -> Option<&str> {
    match value {
        SectionValue::Text(s) | SectionValue::Secret(s) => Some(s),
        _ => None,
    }
}

fn local_files(config: &Config, cx: &Context, out: &mut Vec<Finding>) {
    let root = project_root(config.dir());
    for section in sections(config) {
        for entry in &section.entries {
            let key = format!("{}.{}", section.path, entry.key);
            let Some(value) = text(&entry.value).filter(|_| LOCAL_FILE_KEYS.contains(&&*key))
            else {
                continue;
            };
            let path = canonical(&expand(value, cx.home, &root));
            let in_ssh_dir = cx
                .home
                .is_some_and(|h| path.starts_with(canonical(&h.join(".ssh"))));
            if (path.starts_with(&root) && !in_ssh_dir) || named_by_ssh_config(config, cx, &path) {
                continue;
            }
            out.push(Finding {
                location: entry.location.clone(),
                what: format!(
                    "{key} sends the local file {} (outside the project folder {}) to the \
                     build node",
                    path.display(),
                    root.display()
                ),
                material: format!("file {key} = {}", path.display()),
            });
        }
    }
}

/// A key the user's own ssh_config names (`IdentityFile`) for the git
/// server or a node of this file is one the user already gave to it.
fn named_by_ssh_config(config: &Config, cx: &Context, path: &Path) -> bool {
    let mut hosts: Vec<(String, Option<String>, Option<u16>)> = config
        .nodes
        .iter()
        .map(|n| (n.host.clone(), n.user.clone(), n.port))
        .collect();
    let repo = config
        .build
        .as_ref()
        .and_then(|b| b.git.as_ref())
        .and_then(|g| g.entries.iter().find(|e| e.key == "repo"))
        .and_then(|e| text(&e.value).map(str::to_owned));
    hosts.extend(repo.as_deref().and_then(repo_host));
    hosts.iter().any(|(host, user, port)| {
        cx.ssh_config
            .identity_files(host, user.as_deref(), *port)
            .iter()
            .any(|f| canonical(f) == path)
    })
}

/// The host of an SSH repo URL (`ssh://user@host:port/path` or
/// `user@host:path`).
fn repo_host(repo: &str) -> Option<(String, Option<String>, Option<u16>)> {
    let (authority, port) = match repo.strip_prefix("ssh://") {
        Some(rest) => {
            let authority = rest.split('/').next()?;
            match authority.rsplit_once(':') {
                Some((a, p)) => (a, p.parse().ok()),
                None => (authority, None),
            }
        }
        None => (repo.split_once(':')?.0, None),
    };
    let (user, host) = match authority.split_once('@') {
        Some((u, h)) => (Some(u.to_owned()), h),
        None => (None, authority),
    };
    (!host.is_empty() && !host.contains('/')).then(|| (host.to_owned(), user, port))
}

fn pinned_nodes(config: &Config, cx: &Context, out: &mut Vec<Finding>) {
    let secrets = secrets_sent(config);
    if secrets.is_empty() {
        return;
    }
    let listed: Vec<String> = secrets
        .iter()
        .map(|(key, at)| format!("{key} (line {})", at.line))
        .collect();
    let keys: Vec<&str> = secrets.iter().map(|(k, _)| k.as_str()).collect();
    for node in &config.nodes {
        let Some(pin) = &node.host_key else { continue };
        if cx
            .ssh_config
            .confirms_pin(&node.host, node.user.as_deref(), node.port, &pin.value)
        {
            continue;
        }
        let host = match node.port {
            Some(port) => format!("{}:{port}", node.host),
            None => node.host.clone(),
        };
        out.push(Finding {
            location: pin.at.clone(),
            what: format!(
                "sends {} to node [nodes.{}] ({host}), which only this file's host_key pin \
                 vouches for: your known_hosts does not hold that key",
                listed.join(", "),
                node.key
            ),
            material: format!(
                "pin nodes.{} {host} {} <- {}",
                node.key,
                pin.trim(),
                keys.join(",")
            ),
        });
    }
}

/// The keys whose values are secrets that reach the node: `$NAME` values,
/// the deploy key, the forwarded agent.
fn secrets_sent(config: &Config) -> Vec<(String, Location)> {
    let mut found = Vec::new();
    let mut values = Vec::new();
    for section in sections(config) {
        for entry in &section.entries {
            let key = format!("{}.{}", section.path, entry.key);
            let secret = match &entry.value {
                SectionValue::Secret(v) => {
                    values.push(v.clone());
                    true
                }
                SectionValue::Boolean(true) => key == crate::plugin::FORWARD_AGENT_PATH,
                _ => LOCAL_FILE_KEYS.contains(&&*key),
            };
            if secret {
                found.push((key, entry.location.clone()));
            }
        }
    }
    let api_token = config.api.token.as_ref();
    let elsewhere = config
        .secrets()
        .iter()
        .any(|s| !values.contains(s) && Some(s) != api_token);
    if elsewhere {
        found.push((
            "values read from the environment".to_owned(),
            config.build_location(),
        ));
    }
    found
}

fn api_token(config: &Config, cx: &Context, out: &mut Vec<Finding>) {
    let (Some(url), Some(_)) = (&config.api.url, &config.api.token) else {
        return;
    };
    let Some(url_at) = &config.api.url_at else {
        return; // OPS_API_URL: the user's own choice
    };
    if cx.env_api_url.as_deref().map(origin) == Some(origin(url)) {
        return;
    }
    let token = if config.api.token_in_file {
        "api.token"
    } else {
        "OPS_API_TOKEN"
    };
    out.push(Finding {
        location: url_at.clone(),
        what: format!(
            "sends your API token ({token}) to {}, an origin only this file names",
            origin(url)
        ),
        material: format!("api {url} <- {token}"),
    });
}

/// `scheme://host[:port]`, lowercase; a URL without a scheme was refused
/// when the config was read, and is shown whole rather than guessed at.
fn origin(url: &str) -> String {
    url.parse::<Authority>()
        .map_or_else(|_| url.to_ascii_lowercase(), |a| a.origin())
}

fn local_grants(config: &Config, out: &mut Vec<Finding>) {
    for plugin in &config.plugins {
        for (grant, location) in &plugin.grants {
            let kind = grant.split(':').next().unwrap_or(grant);
            let Some((_, does)) = LOCAL_GRANTS.iter().find(|(k, _)| *k == kind) else {
                continue;
            };
            let pin = plugin.sha256.as_ref().map_or("", |(hex, _)| hex.as_str());
            out.push(Finding {
                location: location.clone(),
                what: format!(
                    "grants third-party plugin `{}` `{grant}`, which {does}",
                    plugin.name
                ),
                material: format!(
                    "grant {} {grant} from {} {pin}",
                    plugin.name, plugin.source_text
                ),
            });
        }
    }
}

/// The folder local plugins see as the project: the git top level above
/// the config file, else its folder (as the build's own).
pub fn project_root(config_dir: &Path) -> PathBuf {
    let dir = canonical(config_dir);
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

/// `~/` from the home, relative paths from the project root, as the
/// plugin host reads them.
fn expand(path: &str, home: Option<&Path>, root: &Path) -> PathBuf {
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        root.join(p)
    }
}

/// Symlinks resolved, so that a link inside the project to `~/.ssh` is
/// seen for what it reads; a missing file is judged by its parent.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if parent != path => canonical(parent).join(name),
        _ => path.to_path_buf(),
    }
}
