//! An authenticated connection to the node (through its `ProxyJump` hops),
//! before any run's session is built on it: what a direct run starts from
//! and what a connection keeper holds between runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use russh::client::{Handle, Msg};
use russh::Channel;
use serde::{Deserialize, Serialize};

use super::connect::{connect, AgentRoute, Agents, ClientHandler, Presented};
use super::error::SshError;
use super::known_hosts::{Accepted, HostKeyPolicy};
use super::resolved::Resolved;

/// A host key learned under `--accept-new-host-key`, for the user to hear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    pub host: String,
    pub file: PathBuf,
    pub fingerprint: String,
}

impl Learned {
    pub fn message(&self) -> String {
        format!(
            "permanently added the host key of {} ({}) to {}",
            self.host,
            self.fingerprint,
            self.file.display()
        )
    }
}

pub struct Upstream {
    pub(super) handle: Handle<ClientHandler>,
    /// ProxyJump connections, kept open for as long as this one.
    pub(super) jumps: Vec<Handle<ClientHandler>>,
    /// What each hop, then the node, presented.
    presented: Vec<Presented>,
    /// Round trips the setup took.
    pub round_trips: u64,
    pub learned: Vec<Learned>,
}

impl Upstream {
    /// Connects for a connection keeper: the node's requests to reach an
    /// agent go to `route`, which passes them to the run holding the lease.
    pub async fn establish_routed(
        resolved: &Resolved,
        route: Arc<dyn AgentRoute>,
    ) -> Result<Upstream, SshError> {
        Upstream::establish(resolved, Agents::Routed(route)).await
    }

    /// Connects through every hop to the node, verifying each host key and
    /// authenticating; the node's requests to reach an agent go to
    /// `agents`.
    pub(super) async fn establish(
        resolved: &Resolved,
        agents: Agents,
    ) -> Result<Upstream, SshError> {
        let round_trips = AtomicU64::new(0);
        let mut jumps: Vec<Handle<ClientHandler>> = Vec::new();
        let mut presented = Vec::new();
        let mut learned = Vec::new();
        let socket = resolved.agent_socket.as_deref();
        for hop in &resolved.hops {
            let policy = HostKeyPolicy::new(hop, None, resolved.accept_new_host_key)?;
            let name = hop.hostname.clone();
            let c = connect(
                hop,
                policy,
                jumps.last(),
                &resolved.home,
                socket,
                None,
                &round_trips,
            )
            .await?;
            learned.extend(learned_of(&c.accepted, &name));
            presented.push(c.presented);
            jumps.push(c.handle);
        }
        let policy = policy_of(resolved)?;
        let c = connect(
            &resolved.host,
            policy,
            jumps.last(),
            &resolved.home,
            socket,
            Some(agents),
            &round_trips,
        )
        .await?;
        learned.extend(learned_of(&c.accepted, &resolved.label()));
        presented.push(c.presented);
        Ok(Upstream {
            handle: c.handle,
            jumps,
            presented,
            round_trips: round_trips.load(Ordering::SeqCst),
            learned,
        })
    }

    /// Checks every key this connection was presented again, against the
    /// known_hosts files and pin as they are now, with the rules of a new
    /// connection (`--accept-new-host-key` may learn a key whose line was
    /// removed).
    pub fn recheck(&self, resolved: &Resolved) -> Result<Vec<Learned>, SshError> {
        let mut learned = Vec::new();
        for (hop, key) in resolved.hops.iter().zip(&self.presented) {
            let policy = HostKeyPolicy::new(hop, None, resolved.accept_new_host_key)?;
            learned.extend(learned_of(&key.check(&policy)?, &hop.hostname));
        }
        let node = self
            .presented
            .get(resolved.hops.len())
            .ok_or_else(|| SshError::Protocol {
                host: resolved.host.hostname.clone(),
                message: "the kept connection has no host key on record".into(),
            })?;
        learned.extend(learned_of(
            &node.check(&policy_of(resolved)?)?,
            &resolved.label(),
        ));
        Ok(learned)
    }

    /// A new session channel on the node.
    pub async fn open_session(&self) -> Result<Channel<Msg>, russh::Error> {
        self.handle.channel_open_session().await
    }

    /// Whether the connection has ended (closed, or given up by keepalives).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed() || self.jumps.iter().any(|j| j.is_closed())
    }

    pub async fn disconnect(&self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        for jump in self.jumps.iter().rev() {
            let _ = jump
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}

fn policy_of(resolved: &Resolved) -> Result<HostKeyPolicy, SshError> {
    HostKeyPolicy::new(
        &resolved.host,
        resolved.pin.as_deref(),
        resolved.accept_new_host_key,
    )
}

fn learned_of(accepted: &Accepted, host: &str) -> Option<Learned> {
    match accepted {
        Accepted::Learned { file, fingerprint } => Some(Learned {
            host: host.to_owned(),
            file: file.clone(),
            fingerprint: fingerprint.clone(),
        }),
        _ => None,
    }
}
