//! Opening the SSH connection: TCP (or a `direct-tcpip` channel through the
//! previous ProxyJump hop), key exchange with host key verification,
//! authentication.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{Config, Handle, Handler};
use russh::keys::{Algorithm, HashAlg, PublicKeyOrCertificate};
use russh::Preferred;

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

/// russh callbacks: only host key verification needs us.
pub struct ClientHandler {
    policy: Arc<HostKeyPolicy>,
    outcome: Arc<Mutex<Option<Result<Accepted, SshError>>>>,
    /// Open while a sync channel has the agent; `None` on jump hosts.
    agent: Option<Arc<AgentGate>>,
    /// The deploy key, while a sync channel may use it; `None` on jump hosts.
    deploy: Option<Arc<DeployAgent>>,
}

impl Handler for ClientHandler {
    type Error = russh::Error;

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: russh::Channel<russh::client::Msg>,
        reply: russh::client::ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        // While the deploy key is served, the node reaches it and never
        // the user's agent.
        match self.deploy.as_ref().and_then(|d| d.serving()) {
            Some(key) => super::deploy_agent::answer(key, channel, reply).await,
            None => super::agent::answer(self.agent.as_ref(), channel, reply).await,
        }
        Ok(())
    }

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let result = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.policy.verify(key),
            PublicKeyOrCertificate::Certificate(cert) => self.policy.verify_certificate(cert),
        };
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
}

/// Connects to `host`, directly or through `via`, verifies its key against
/// `policy` and authenticates; adds the round trips that took to
/// `round_trips`.
pub async fn connect(
    host: &HostConfig,
    policy: HostKeyPolicy,
    via: Option<&Handle<ClientHandler>>,
    home: &std::path::Path,
    agents: Option<(Arc<AgentGate>, Arc<DeployAgent>)>,
    round_trips: &AtomicU64,
) -> Result<Connected, SshError> {
    let (agent, deploy) = agents.unzip();
    let outcome = Arc::new(Mutex::new(None));
    let config = Arc::new(client_config(host, &policy));
    let handler = ClientHandler {
        policy: Arc::new(policy),
        outcome: outcome.clone(),
        agent,
        deploy,
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
    let verdict = outcome.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (mut handle, accepted) = match (result, verdict) {
        (Ok(handle), Some(Ok(accepted))) => (handle, accepted),
        (_, Some(Err(refused))) => return Err(refused),
        (Err(err), _) => return Err(connect_error(err.to_string())),
        (Ok(_), None) => {
            return Err(SshError::Protocol {
                host: host.hostname.clone(),
                message: "the host key was never checked".into(),
            })
        }
    };
    let authenticated = authenticate(&mut handle, host, home).await;
    round_trips.fetch_add(turns.finish(), Ordering::SeqCst);
    authenticated?;
    Ok(Connected { handle, accepted })
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
