//! Everything that decides how a node is reached, resolved once before
//! connecting: ssh_config for the node and each `ProxyJump` hop, the pin,
//! the host key opt-in, the home directory and the agent socket. A direct
//! connection is made from it, and a kept connection is keyed by all of it,
//! so that a run whose resolution differs in anything never reuses a
//! connection made under another.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::control_persist::ControlPersist;
use super::destination::Destination;
use super::error::SshError;
use super::host_config::{home_dir, HostConfig, SshConfigFile};
use super::known_hosts::display_name;
use super::session::{ConnectOptions, Target};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The `ProxyJump` hops, in order.
    pub hops: Vec<HostConfig>,
    pub host: HostConfig,
    /// The node's pinned key, which wins over known_hosts.
    pub pin: Option<String>,
    pub accept_new_host_key: bool,
    /// Where `.ssh/` is (the default key files).
    pub home: PathBuf,
    /// `SSH_AUTH_SOCK`, when set and not empty (as ssh reads it).
    pub agent_socket: Option<PathBuf>,
}

impl Resolved {
    /// Resolves `target` through the user's ssh_config, as `ssh` would.
    pub fn resolve(target: &Target, options: &ConnectOptions) -> Result<Resolved, SshError> {
        let home = options
            .home
            .clone()
            .or_else(home_dir)
            .unwrap_or_else(|| PathBuf::from("/"));
        let ssh_config = SshConfigFile::load(&home)?;
        let host = ssh_config.resolve(&target.host, target.user.as_deref(), target.port);
        let hops = host
            .proxy_jump
            .iter()
            .map(|hop| {
                let dest = Destination::parse(hop).map_err(|message| SshError::BadJump {
                    hop: hop.clone(),
                    message,
                })?;
                Ok(ssh_config.resolve(&dest.host, dest.user.as_deref(), dest.port))
            })
            .collect::<Result<Vec<_>, SshError>>()?;
        Ok(Resolved {
            hops,
            host,
            pin: target.host_key.clone(),
            accept_new_host_key: options.accept_new_host_key,
            home,
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        })
    }

    /// `user@host` or `user@[host]:port`, as the run names the node.
    pub fn label(&self) -> String {
        format!(
            "{}@{}",
            self.host.user,
            display_name(self.host.known_hosts_name(), self.host.port)
        )
    }

    /// What the node's ssh_config asks about keeping the connection.
    pub fn control_persist(&self) -> Option<ControlPersist> {
        self.host.control_persist
    }

    /// The key of a kept connection: a digest of all of the above.
    pub fn key(&self) -> String {
        // Serialising plain data (strings, paths, numbers) cannot fail;
        // were it to, an empty text still gives a key of its own.
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..16])
    }
}
