//! One run's lease, seen from SSH: the keeper is an SSH server to the run
//! (on the socket, after the uid check), and every session channel the run
//! opens becomes a session channel on the kept connection, with every
//! request and byte passed on both ways. Node-to-run traffic is queued
//! without bound so that the kept connection never waits on the run's link
//! (the two could otherwise wait on each other); run-to-node traffic waits
//! for the node's window as SSH does.
//!
//! A channel the run closes is closed on the node; one the node closes (its
//! command ended) is closed for the run. A channel that ends any other way
//! (the run's socket closed under it: `kill -9`, a crash) taints
//! the lease: the keeper then closes the whole kept connection, so that sshd
//! closes every channel of it and the run's reaper stops its work, as when
//! a direct connection drops.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::server::{Auth, ChannelOpenHandle, Handle as ServerHandle, Msg as ServerMsg, Session};
use russh::{Channel, ChannelMsg, ChannelOpenFailure};
use tokio::sync::Notify;

use super::pool::Kept;
use crate::ssh::AgentRoute;

/// Routes the node's requests to reach an agent to the run holding the
/// connection's lease, whose own gate answers them; between leases they
/// are refused.
#[derive(Default)]
pub struct LesseeRoute {
    lessee: Mutex<Option<ServerHandle>>,
}

impl LesseeRoute {
    pub fn set(&self, lessee: Option<ServerHandle>) {
        *self.lessee.lock().unwrap_or_else(|p| p.into_inner()) = lessee;
    }
}

impl AgentRoute for LesseeRoute {
    fn answer(
        &self,
        channel: Channel<russh::client::Msg>,
        reply: russh::client::ChannelOpenHandle,
    ) {
        let lessee = self
            .lessee
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        tokio::spawn(async move {
            let Some(run) = lessee else {
                reply
                    .reject(ChannelOpenFailure::AdministrativelyProhibited)
                    .await;
                return;
            };
            match run.channel_open_agent().await {
                Ok(to_run) => {
                    reply.accept().await;
                    let mut node = channel.into_stream();
                    let mut run = to_run.into_stream();
                    // Either side closing ends the conversation.
                    let _ = tokio::io::copy_bidirectional(&mut node, &mut run).await;
                }
                Err(_) => {
                    reply
                        .reject(ChannelOpenFailure::AdministrativelyProhibited)
                        .await
                }
            }
        });
    }
}

/// What the keeper needs to know of a lease when its run is gone.
#[derive(Default)]
pub struct LeaseState {
    /// Channels whose run side has not ended yet.
    open: AtomicUsize,
    /// A channel ended without the run closing it.
    tainted: AtomicBool,
    drained: Notify,
}

impl LeaseState {
    /// Waits at most `within` for every channel's run side to end; whether
    /// the run ended in order (closed every channel it opened).
    pub async fn orderly(&self, within: Duration) -> bool {
        let drained = async {
            while self.open.load(Ordering::SeqCst) > 0 {
                let notified = self.drained.notified();
                if self.open.load(Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        };
        tokio::time::timeout(within, drained).await.is_ok() && !self.tainted.load(Ordering::SeqCst)
    }

    fn ended(&self, in_order: bool) {
        if !in_order {
            self.tainted.store(true, Ordering::SeqCst);
        }
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.drained.notify_waiters();
    }
}

/// The SSH server side of one lease.
pub struct LeaseHandler {
    pub kept: Arc<Kept>,
    pub state: Arc<LeaseState>,
}

impl russh::server::Handler for LeaseHandler {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        // The socket's peer uid was checked before SSH began.
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<ServerMsg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let kept = self.kept.clone();
        let state = self.state.clone();
        let run = session.handle();
        state.open.fetch_add(1, Ordering::SeqCst);
        // Opening on the node takes a round trip: not in this callback,
        // which holds up everything else of the run's link meanwhile.
        tokio::spawn(async move {
            match kept.upstream.open_session().await {
                Ok(node) => {
                    reply.accept().await;
                    let in_order = pump(channel, node, run, &kept).await;
                    state.ended(in_order);
                }
                Err(_) => {
                    reply.reject(ChannelOpenFailure::ConnectFailed).await;
                    state.ended(true);
                }
            }
        });
        Ok(())
    }

    async fn agent_request(
        &mut self,
        _channel: russh::ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        // Passed on to the node by the channel's pump; the run's gate
        // decides what the node's requests get.
        Ok(true)
    }
}

/// Passes one channel on both ways until it ends; whether it ended in
/// order: closed by the run, or by the node once its command ended.
async fn pump(
    from_run: Channel<ServerMsg>,
    to_node: Channel<russh::client::Msg>,
    run: ServerHandle,
    kept: &Kept,
) -> bool {
    let (mut run_rx, run_tx) = from_run.split();
    let (mut node_rx, node_tx) = to_node.split();
    let (queue, queued) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(msg) = node_rx.wait().await {
            if queue.send(msg).is_err() {
                break;
            }
        }
    });
    let mut writer = tokio::spawn(to_run(queued, run_tx, run));
    // The start of the command it ran, for the log; empty while none.
    let mut what = String::new();
    let (in_order, how) = loop {
        tokio::select! {
            msg = run_rx.wait() => match msg {
                Some(ChannelMsg::Close) => break (true, "closed by the run"),
                Some(msg) => {
                    if let ChannelMsg::Exec { command, .. } = &msg {
                        let start = &command[..command.len().min(60)];
                        what = format!("{}...", String::from_utf8_lossy(start));
                    }
                    if !pass_on(msg, &node_tx, kept).await {
                        break (false, "the node's side failed");
                    }
                }
                // A channel that never ran anything has nothing on the node.
                None if what.is_empty() => break (true, "never used"),
                None => break (false, "the run's link ended"),
            },
            closed = &mut writer => match closed {
                Ok(true) => break (true, "closed by the node"),
                _ => break (false, "the run's side failed or the node's connection ended"),
            },
        }
    };
    if !in_order {
        let whom = &kept.destination;
        super::server::log(format!(
            "{whom}: a channel ended out of order: {how} ({what})"
        ));
    }
    let _ = node_tx.close().await;
    writer.abort();
    reader.abort();
    in_order
}

/// Passes one message of the run on to the node; false when the node's
/// side is gone.
async fn pass_on(
    msg: ChannelMsg,
    node: &russh::ChannelWriteHalf<russh::client::Msg>,
    kept: &Kept,
) -> bool {
    match msg {
        ChannelMsg::Data { data } => node.data_bytes(data).await.is_ok(),
        ChannelMsg::Eof => node.eof().await.is_ok(),
        ChannelMsg::Exec {
            want_reply,
            command,
        } => node.exec(want_reply, command).await.is_ok(),
        ChannelMsg::Signal { signal } => node.signal(signal).await.is_ok(),
        // `ops exec -t`: the terminal, and its size whenever it changes.
        ChannelMsg::RequestPty {
            term,
            col_width,
            row_height,
            pix_width,
            pix_height,
            terminal_modes,
            ..
        } => node
            .request_pty(
                false,
                &term,
                col_width,
                row_height,
                pix_width,
                pix_height,
                &terminal_modes,
            )
            .await
            .is_ok(),
        ChannelMsg::WindowChange {
            col_width,
            row_height,
            pix_width,
            pix_height,
        } => node
            .window_change(col_width, row_height, pix_width, pix_height)
            .await
            .is_ok(),
        ChannelMsg::AgentForward { .. } => {
            kept.agent_forwarded.store(true, Ordering::SeqCst);
            node.agent_forward(false).await.is_ok()
        }
        _ => true,
    }
}

/// Passes the node's messages on to the run until the node closes the
/// channel (true: its command has ended) or its connection ends (false).
async fn to_run(
    mut queued: tokio::sync::mpsc::UnboundedReceiver<ChannelMsg>,
    run_tx: russh::ChannelWriteHalf<ServerMsg>,
    run: ServerHandle,
) -> bool {
    let id = run_tx.id();
    let mut closed = false;
    while let Some(msg) = queued.recv().await {
        let sent = match msg {
            ChannelMsg::Data { data } => run_tx.data_bytes(data).await.is_ok(),
            ChannelMsg::ExtendedData { data, ext } => {
                run_tx.extended_data_bytes(ext, data).await.is_ok()
            }
            ChannelMsg::Eof => run_tx.eof().await.is_ok(),
            ChannelMsg::ExitStatus { exit_status } => {
                run.exit_status_request(id, exit_status).await.is_ok()
            }
            ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                lang_tag,
            } => run
                .exit_signal_request(id, signal_name, core_dumped, error_message, lang_tag)
                .await
                .is_ok(),
            ChannelMsg::Success => run.channel_success(id).await.is_ok(),
            ChannelMsg::Failure => run.channel_failure(id).await.is_ok(),
            ChannelMsg::Close => {
                closed = true;
                break;
            }
            _ => true,
        };
        if !sent {
            break;
        }
    }
    let _ = run_tx.close().await;
    closed
}
