//! Which build node to use, in the spec's order:
//!
//! 1. `build.node` (id or name): the `[nodes.<id>]` inventory, else the API
//!    (`GET /v1/nodes/{id}`).
//! 2. `target`: an id or name as in 1; otherwise an SSH destination
//!    (`host`, `user@host`, `user@host:port`, `ssh://user@host:port`, or a
//!    `Host` alias of `~/.ssh/config`). A bare word that is neither in the
//!    inventory nor an ssh_config alias is looked up with the API when one
//!    is configured, and otherwise taken as a host name.
//! 3. `project`: `GET /v1/projects/{project}` gives `build_node`, then as 1.

use super::api::{ApiClient, ApiNode};
use super::error::ResolveError;
use crate::config::{Config, Located, NodeEntry, NodeRef};
use crate::ssh::{home_dir, Destination, SshConfigFile};

/// The node to connect to. `host` goes through `~/.ssh/config` like a host
/// given to `ssh`; `user` and `port`, when set, win over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTarget {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Pinned host key (OpenSSH public key line); wins over known_hosts.
    pub host_key: Option<String>,
    /// The node's id and name, when it came from the inventory or the API.
    pub id: Option<u64>,
    pub name: Option<String>,
    /// How it was chosen, for messages (`build.node = 4 via [nodes.4]`).
    pub origin: String,
}

impl NodeTarget {
    /// A destination given directly (`user@host:port`).
    pub fn from_destination(dest: Destination, origin: impl Into<String>) -> NodeTarget {
        NodeTarget {
            host: dest.host,
            user: dest.user,
            port: dest.port,
            host_key: None,
            id: None,
            name: None,
            origin: origin.into(),
        }
    }

    fn from_entry(entry: &NodeEntry, origin: String) -> NodeTarget {
        NodeTarget {
            host: entry.host.clone(),
            user: entry.user.clone(),
            port: entry.port,
            host_key: entry.host_key.as_ref().map(|k| k.value.clone()),
            id: entry.id,
            name: entry.name.clone(),
            origin,
        }
    }

    fn from_api(node: ApiNode, origin: String) -> NodeTarget {
        NodeTarget {
            host: node.host,
            user: node.user,
            port: node.port,
            host_key: node.host_key.filter(|k| !k.trim().is_empty()),
            id: node.id,
            name: node.name,
            origin,
        }
    }
}

/// Resolves the build node for `config`, reading `~/.ssh/config` from
/// `$HOME` for aliases.
pub async fn resolve(config: &Config) -> Result<NodeTarget, ResolveError> {
    let ssh_config = match home_dir() {
        Some(home) => SshConfigFile::load(&home)?,
        None => SshConfigFile::default(),
    };
    resolve_with(config, &ssh_config).await
}

/// [`resolve`] with a given ssh_config.
pub async fn resolve_with(
    config: &Config,
    ssh_config: &SshConfigFile,
) -> Result<NodeTarget, ResolveError> {
    let api = ApiClient::new(&config.api)?;

    if let Some(node) = config.build.as_ref().and_then(|b| b.node.as_ref()) {
        return by_ref(config, api.as_ref(), node, "build.node").await;
    }

    if let Some(target) = &config.target {
        if let Some(entry) = config.node(&target.value) {
            return Ok(NodeTarget::from_entry(
                entry,
                format!("target = {} via [nodes.{}]", target.value, entry.key),
            ));
        }
        let text = match &target.value {
            NodeRef::Id(_) => return by_ref(config, api.as_ref(), target, "target").await,
            NodeRef::Name(text) => text,
        };
        let looks_like_destination = Destination::is_explicit(text) || ssh_config.has_alias(text);
        if !looks_like_destination {
            if let Some(api) = &api {
                let node = api.node(&target.value).await?;
                return Ok(NodeTarget::from_api(
                    node,
                    format!("target = {text} via {}", api.base()),
                ));
            }
        }
        let dest = Destination::parse(text).map_err(|message| ResolveError::BadDestination {
            key: "target".into(),
            value: text.clone(),
            message,
            location: target.at.clone(),
        })?;
        return Ok(NodeTarget::from_destination(
            dest,
            format!("target = {text:?} (SSH destination)"),
        ));
    }

    if let Some(project) = &config.project {
        return by_project(config, api.as_ref(), project).await;
    }

    Err(ResolveError::NothingConfigured {
        location: config.top(),
    })
}

/// Step 3: the project's build node, from the API.
async fn by_project(
    config: &Config,
    api: Option<&ApiClient>,
    project: &Located<String>,
) -> Result<NodeTarget, ResolveError> {
    let Some(api) = api else {
        return Err(ResolveError::ProjectWithoutApi {
            project: project.value.clone(),
            location: project.at.clone(),
        });
    };
    let project = project.as_str();
    let answer = api.project(project).await?;
    let url = format!("{}/v1/projects/{project}", api.base());
    let node = match answer.build_node {
        Some(serde_json::Value::Number(n)) => {
            n.as_u64()
                .map(NodeRef::Id)
                .ok_or_else(|| ResolveError::ApiResponse {
                    url: url.clone(),
                    message: format!("build_node {n} is not a node id"),
                })?
        }
        Some(serde_json::Value::String(s)) if !s.is_empty() => NodeRef::Name(s),
        Some(serde_json::Value::Null) | None => return Err(ResolveError::NoBuildNode { url }),
        Some(other) => {
            return Err(ResolveError::ApiResponse {
                url,
                message: format!("build_node {other} is neither an id nor a name"),
            })
        }
    };
    if let Some(entry) = config.node(&node) {
        return Ok(NodeTarget::from_entry(
            entry,
            format!(
                "project {project:?} via the API, then [nodes.{}]",
                entry.key
            ),
        ));
    }
    let found = api.node(&node).await?;
    Ok(NodeTarget::from_api(
        found,
        format!("project {project:?} via {}", api.base()),
    ))
}

/// Step 1: the inventory, else the API.
async fn by_ref(
    config: &Config,
    api: Option<&ApiClient>,
    node: &Located<NodeRef>,
    key: &str,
) -> Result<NodeTarget, ResolveError> {
    let at = &node.at;
    let node = &node.value;
    if let Some(entry) = config.node(node) {
        return Ok(NodeTarget::from_entry(
            entry,
            format!("{key} = {node} via [nodes.{}]", entry.key),
        ));
    }
    match api {
        Some(api) => {
            let found = api.node(node).await?;
            Ok(NodeTarget::from_api(
                found,
                format!("{key} = {node} via {}", api.base()),
            ))
        }
        None => Err(ResolveError::UnknownNode {
            key: key.to_owned(),
            node: node.to_string(),
            location: at.clone(),
        }),
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
