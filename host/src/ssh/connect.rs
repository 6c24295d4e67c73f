//! Opening the SSH connection: TCP (or a `direct-tcpip` channel through the
//! previous ProxyJump hop), key exchange with host key verification,
//! authentication. Also the local link to a connection keeper, which is
//! SSH too ([`link`]).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{ChannelOpenHandle, Config, Handle, Handler, Msg};
use russh::keys::{Algorithm, Certificate, HashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{Channel, Preferred};

use super::agent::AgentGate;
use super::auth::authenticate;
use super::deploy_agent::DeployAgent;
use super::error::SshError;
use super::handshake_turns::{TurnCounting, Turns};
use super::host_config::HostConfig;
use super::known_hosts::{Accepted, HostKeyPolicy};

/// Default interval between keepalives when the server is silent; with
/// [`KEEPALIVE_MAX`] unanswered, a dead node is noticed within 30 s.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
pub const KEEPALIVE_MAX: usize = 2;

/// Whoever answers the node's requests to reach an agent over a
/// connection.
#[derive(Clone)]
pub(super) enum Agents {
    /// This process: the user's agent behind its gate, or the deploy key.
    Local(Arc<AgentGate>, Arc<DeployAgent>),
    /// A connection keeper: the run that holds the connection's lease.
    Routed(Arc<dyn AgentRoute>),
}

/// How a keeper passes the node's request to reach an agent on to the run
/// holding the lease. It must not wait for the answer itself: the
/// connection reads nothing else meanwhile.
pub trait AgentRoute: Send + Sync {
    fn answer(&self, channel: Channel<Msg>, reply: ChannelOpenHandle);
}

/// The key or certificate a host presented, kept so that a later lease of
/// the connection can check it again against known_hosts as they are then.
#[derive(Debug, Clone)]
pub enum Presented {
    Key(PublicKey),
    Certificate(Box<Certificate>),
}

impl Presented {
    pub fn check(&self, policy: &HostKeyPolicy) -> Result<Accepted, SshError> {
        match self {
            Presented::Key(key) => policy.verify(key),
            Presented::Certificate(cert) => policy.verify_certificate(cert),
        }
    }
}

/// russh callbacks: host key verification and agent requests.
pub struct ClientHandler {
    /// `None` on the link to a keeper, which is vouched for by its uid.
    policy: Option<Arc<HostKeyPolicy>>,
    outcome: Arc<Mutex<Option<Result<Accepted, SshError>>>>,
    presented: Arc<Mutex<Option<Presented>>>,
    /// `None` on jump hosts: nothing reaches an agent through them.
    agents: Option<Agents>,
}

impl Handler for ClientHandler {
    type Error = russh::Error;

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        match &self.agents {
            Some(Agents::Routed(route)) => route.answer(channel, reply),
            Some(Agents::Local(agent, deploy)) => match deploy.serving() {
                // While the deploy key is served, the node reaches it and
                // never the user's agent.
                Some(key) => super::deploy_agent::answer(key, channel, reply).await,
                None => super::agent::answer(Some(agent), channel, reply).await,
            },
            None => super::agent::answer(None, channel, reply).await,
        }
        Ok(())
    }

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let presented = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => Presented::Key(key.clone()),
            PublicKeyOrCertificate::Certificate(cert) => {
                Presented::Certificate(Box::new(cert.clone()))
            }
        };
        let result = match &self.policy {
            Some(policy) => presented.check(policy),
            None => Ok(Accepted::Known),
        };
        *self.presented.lock().unwrap_or_else(|p| p.into_inner()) = Some(presented);
        let ok = result.is_ok();
        let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        // The key can be checked more than once per connection (russh may
        // exchange keys again right away); a key learned by the first check
        // is "known" to the second, and the user must still hear it was
        // learned.
        let learned = matches!(&*outcome, Some(Ok(Accepted::Learned { .. })));
        if !(learned && matches!(result, Ok(Accepted::Known))) {
            *outcome = Some(result);
        }
        Ok(ok)
    }
}

/// One authenticated connection.
pub struct Connected {
    pub handle: Handle<ClientHandler>,
    pub accepted: Accepted,
    pub presented: Presented,
}

/// Connects to `host`, directly or through `via`, verifies its key against
/// `policy` and authenticates; adds the round trips that took to
/// `round_trips`.
pub async fn connect(
    host: &HostConfig,
    policy: HostKeyPolicy,
    via: Option<&Handle<ClientHandler>>,
    home: &Path,
    agent_socket: Option<&Path>,
    agents: Option<Agents>,
    round_trips: &AtomicU64,
) -> Result<Connected, SshError> {
    let outcome = Arc::new(Mutex::new(None));
    let presented = Arc::new(Mutex::new(None));
    let config = Arc::new(client_config(host, &policy));
    let handler = ClientHandler {
        policy: Some(Arc::new(policy)),
        outcome: outcome.clone(),
        presented: presented.clone(),
        agents,
    };
    let connect_error = |message: String| SshError::Connect {
        host: host.hostname.clone(),
        port: host.port,
        message,
    };
    let turns = Arc::new(Turns::default());
    let handshake = async {
        // Opening the TCP connection or the jump host's channel.
        round_trips.fetch_add(1, Ordering::SeqCst);
        match via {
            Some(jump) => {
                let channel = jump
                    .channel_open_direct_tcpip(
                        host.hostname.clone(),
                        host.port.into(),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| connect_error(format!("through the jump host: {e}")))?;
                let stream = TurnCounting::new(channel.into_stream(), turns.clone());
                Ok(russh::client::connect_stream(config, stream, handler).await)
            }
            None => {
                let stream = tokio::net::TcpStream::connect((host.hostname.as_str(), host.port))
                    .await
                    .map_err(|e| connect_error(e.to_string()))?;
                // Latency of small command round trips matters more than
                // packet count here.
                let _ = stream.set_nodelay(true);
                let stream = TurnCounting::new(stream, turns.clone());
                Ok(russh::client::connect_stream(config, stream, handler).await)
            }
        }
    };
    let result = tokio::time::timeout(host.connect_timeout, handshake)
        .await
        .map_err(|_| SshError::Timeout {
            host: host.hostname.clone(),
            port: host.port,
            seconds: host.connect_timeout.as_secs(),
        })??;
    let (mut handle, accepted, presented) = verdict(result, &outcome, &presented, host)?;
    let authenticated = authenticate(&mut handle, host, home, agent_socket).await;
    round_trips.fetch_add(turns.finish(), Ordering::SeqCst);
    authenticated?;
    Ok(Connected {
        handle,
        accepted,
        presented,
    })
}

/// The connection and what its host key check said, or why there is none.
fn verdict(
    result: Result<Handle<ClientHandler>, russh::Error>,
    outcome: &Mutex<Option<Result<Accepted, SshError>>>,
    presented: &Mutex<Option<Presented>>,
    host: &HostConfig,
) -> Result<(Handle<ClientHandler>, Accepted, Presented), SshError> {
    let verdict = outcome.lock().unwrap_or_else(|p| p.into_inner()).take();
    let seen = presented.lock().unwrap_or_else(|p| p.into_inner()).take();
    match (result, verdict, seen) {
        (Ok(handle), Some(Ok(accepted)), Some(seen)) => Ok((handle, accepted, seen)),
        (_, Some(Err(refused)), _) => Err(refused),
        (Err(err), _, _) => Err(SshError::Connect {
            host: host.hostname.clone(),
            port: host.port,
            message: err.to_string(),
        }),
        (Ok(_), _, _) => Err(SshError::Protocol {
            host: host.hostname.clone(),
            message: "the host key was never checked".into(),
        }),
    }
}

/// The local link to a connection keeper over `stream`: SSH again, so that
/// a run's channels, requests and agent answers work as over a direct
/// connection. The keeper's throwaway host key is not checked (the socket's
/// peer uid vouches for the keeper); it lets in with "none".
pub async fn link<S>(stream: S, agents: Agents) -> Result<Handle<ClientHandler>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handler = ClientHandler {
        policy: None,
        outcome: Arc::new(Mutex::new(None)),
        presented: Arc::new(Mutex::new(None)),
        agents: Some(agents),
    };
    let config = Arc::new(Config::default());
    let mut handle = russh::client::connect_stream(config, stream, handler)
        .await
        .map_err(|e| format!("its SSH link failed: {e}"))?;
    let auth = handle
        .authenticate_none("ops")
        .await
        .map_err(|e| format!("its SSH link failed: {e}"))?;
    if !auth.success() {
        return Err("it refused the run".into());
    }
    Ok(handle)
}

fn client_config(host: &HostConfig, policy: &HostKeyPolicy) -> Config {
    let mut preferred = Preferred::default();
    let mut first: Vec<Algorithm> = Vec::new();
    for algorithm in policy.known_algorithms() {
        if algorithm.clone().is_rsa() {
            first.push(Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            });
            first.push(Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            });
        } else {
            first.push(algorithm);
        }
    }
    first.retain(|a| preferred.key.contains(a));
    if !first.is_empty() {
        let mut keys = first.clone();
        keys.extend(preferred.key.iter().filter(|a| !first.contains(a)).cloned());
        preferred.key = keys.into();
    }
    // Only offered when a @cert-authority line could vouch for the
    // certificate; a server then proves its identity with it.
    let mut certificates = policy.certificate_algorithms();
    certificates.retain(|a| preferred.key.contains(a));
    preferred.host_key_certificates = certificates.into();
    Config {
        keepalive_interval: Some(host.server_alive_interval.unwrap_or(KEEPALIVE_INTERVAL)),
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        preferred,
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_node_noticed_within_thirty_seconds() {
        let dead_node_timeout = KEEPALIVE_INTERVAL * (KEEPALIVE_MAX as u32 + 1);
        assert!(dead_node_timeout <= Duration::from_secs(30));
    }
}
