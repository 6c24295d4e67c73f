//! ssh-agent forwarding, for the git sync only.
//!
//! OpenSSH forwards the agent to the whole session once asked. ops asks only
//! on the channels of the sync step, and a node's request to reach the
//! agent is answered only while such a channel is open: the build command
//! and the image builds, on other channels, find no agent (sshd gives them
//! no `SSH_AUTH_SOCK`), and a node that tries anyway at another moment is
//! refused. The gate closes as soon as the forwarding command's exit status
//! arrives, and by then the command's wrapper has stopped everything it
//! started, so nothing of the sync, nor of an earlier run, is left to use
//! the agent later. Nothing is written to the node.
//!
//! What SSH cannot give: sshd's request to reach the agent does not say
//! which process on the node connected to the socket it made, so while the
//! sync runs, any process of the node user that finds the socket (the
//! directory is the node user's only) is answered too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use russh::client::{ChannelOpenHandle, Msg};
use russh::{Channel, ChannelOpenFailure};

/// Counts the channels that have the agent forwarded right now.
#[derive(Default)]
pub(super) struct AgentGate {
    open: AtomicUsize,
    ever: std::sync::atomic::AtomicBool,
}

/// Keeps the gate open while a forwarding channel runs.
pub(super) struct GateOpen(Arc<AgentGate>);

impl AgentGate {
    pub(super) fn open(self: &Arc<Self>) -> GateOpen {
        self.ever.store(true, Ordering::SeqCst);
        self.open.fetch_add(1, Ordering::SeqCst);
        GateOpen(self.clone())
    }

    /// Records that the connection had the agent forwarded before this run
    /// (a kept connection): sshd still offers its socket, so the run's
    /// other commands must drop it as after a forwarding channel of its own.
    pub(super) fn mark_opened(&self) {
        self.ever.store(true, Ordering::SeqCst);
    }

    /// Whether any channel of this connection ever had the agent.
    pub(super) fn ever_opened(&self) -> bool {
        self.ever.load(Ordering::SeqCst)
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) > 0
    }
}

impl Drop for GateOpen {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The node asks to reach the agent: connect it to the local agent while
/// the gate is open, refuse otherwise.
pub(super) async fn answer(
    gate: Option<&Arc<AgentGate>>,
    channel: Channel<Msg>,
    reply: ChannelOpenHandle,
) {
    let socket = std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty());
    let (true, Some(socket)) = (gate.is_some_and(|g| g.is_open()), socket) else {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        return;
    };
    let agent = match tokio::net::UnixStream::connect(&socket).await {
        Ok(agent) => agent,
        Err(_) => {
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
            return;
        }
    };
    reply.accept().await;
    tokio::spawn(async move {
        let mut agent = agent;
        let mut stream = channel.into_stream();
        // Either side closing ends the conversation; nothing to report.
        let _ = tokio::io::copy_bidirectional(&mut stream, &mut agent).await;
    });
}
