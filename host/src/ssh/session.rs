//! One SSH connection to the build node for the whole run, with every
//! remote command on its own channel ([`run`](super::run)). The session is
//! the transport behind [`RemoteNode`]; what is built on top (scratch
//! directories, held processes, atomic writes) lives in `remote`.

use std::path::PathBuf;
use std::sync::Arc;

use russh::client::Handle;

use super::agent::AgentGate;
use super::connect::{Agents, ClientHandler};
use super::control::{Channels, ProcessGroups};
use super::deploy_agent::DeployAgent;
use super::error::SshError;
use super::reaper::{self, Reaper};
use super::resolved::Resolved;
use super::upstream::Upstream;
use crate::output::Printer;
use crate::remote::{
    BoxFuture, OutputSink, PtyRequest, RemoteCommand, RemoteError, RemoteExit, RemoteNode,
    ScratchDirs, Stdin, TerminalProgram,
};

/// Where to connect: `host` goes through `~/.ssh/config` like a host given
/// to `ssh`; `user` and `port`, when set, win over it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Pinned host key (OpenSSH public key line); wins over known_hosts.
    pub host_key: Option<String>,
}

/// How to connect, beyond what the target and ssh_config say.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--accept-new-host-key`: add an unknown host key to known_hosts
    /// (a changed key is still refused).
    pub accept_new_host_key: bool,
    /// Where `.ssh/` is; `$HOME` when `None`.
    pub home: Option<PathBuf>,
}

/// How long closing a session over a kept connection waits for commands
/// still ending.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a session is built from, however its connection was made.
struct Parts {
    kept: bool,
    jumps: Vec<Handle<ClientHandler>>,
    label: String,
    forward_agent: bool,
    agent: Arc<AgentGate>,
    deploy: Arc<DeployAgent>,
}

/// A run's link to a connection keeper, ready for [`Session::over_keeper`].
pub struct KeeperLink {
    handle: Handle<ClientHandler>,
    agent: Arc<AgentGate>,
    deploy: Arc<DeployAgent>,
    pub label: String,
    /// `ForwardAgent yes` for the node in the run's ssh_config.
    pub forward_agent: bool,
    /// Round trips the keeper spent making the connection (0 when kept).
    pub round_trips: u64,
    /// An earlier run on the kept connection had the agent forwarded.
    pub agent_forwarded_before: bool,
}

impl KeeperLink {
    /// Speaks SSH to the keeper over `stream`, whose peer was checked to be
    /// a process of this user.
    pub async fn open<S>(stream: S, resolved: &Resolved) -> Result<KeeperLink, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let agent = Arc::new(AgentGate::default());
        let deploy = Arc::new(DeployAgent::default());
        let agents = Agents::Local(agent.clone(), deploy.clone());
        let handle = super::connect::link(stream, agents).await?;
        Ok(KeeperLink {
            handle,
            agent,
            deploy,
            label: resolved.label(),
            forward_agent: resolved.host.forward_agent,
            round_trips: 0,
            agent_forwarded_before: false,
        })
    }
}

/// The connection to the build node. Cheap to clone; clones share the
/// connection.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) channels: Channels,
    pub(super) groups: ProcessGroups,
    /// ProxyJump connections, kept open for as long as the session.
    _jumps: Vec<Handle<ClientHandler>>,
    label: String,
    pub(super) scratch: ScratchDirs,
    /// Shell that records a command's process group with the reaper.
    pub(super) register: String,
    /// The run's id: every command's tag starts with it.
    run_id: String,
    pub(super) agent: Arc<AgentGate>,
    pub(super) deploy: Arc<DeployAgent>,
    /// `ForwardAgent yes` in ssh_config for this node.
    pub(super) forward_agent: bool,
    reaper: std::sync::Mutex<Option<Reaper>>,
    /// The gate new commands wait for, while set ([`RemoteNode::set_gate`]).
    pub(super) gate: std::sync::Mutex<Option<String>>,
    /// Round trips the connection's setup took.
    connect_round_trips: u64,
    /// Over a connection keeper, which keeps the connection only when
    /// every channel was closed in order.
    kept: bool,
}

impl Inner {
    /// The tag of command `id` ([`TAG_VAR`](super::wrapper::TAG_VAR)).
    pub(super) fn tag(&self, id: u64) -> String {
        format!("{}.{id}", self.run_id)
    }

    /// Process group `pgid` ended by itself; the reaper need not stop it.
    pub(super) fn forget(&self, pgid: u32) {
        let reaper = self.reaper.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reaper) = reaper.as_ref() {
            reaper.forget(pgid);
        }
    }

    fn reaper_pgid(&self) -> Option<u32> {
        let reaper = self.reaper.lock().unwrap_or_else(|p| p.into_inner());
        reaper.as_ref().and_then(Reaper::pgid)
    }

    fn take_reaper(&self) -> Option<Reaper> {
        self.reaper.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Session {
    /// Connects to `target` through ssh_config (aliases, ProxyJump hops),
    /// verifies host keys and authenticates.
    pub async fn connect(
        target: &Target,
        options: &ConnectOptions,
        printer: &Printer,
    ) -> Result<Session, SshError> {
        let resolved = Resolved::resolve(target, options)?;
        Session::connect_resolved(&resolved, printer).await
    }

    /// Connects as [`Session::connect`] does, from a resolution made
    /// already.
    pub async fn connect_resolved(
        resolved: &Resolved,
        printer: &Printer,
    ) -> Result<Session, SshError> {
        let agent = Arc::new(AgentGate::default());
        let deploy = Arc::new(DeployAgent::default());
        let agents = Agents::Local(agent.clone(), deploy.clone());
        let upstream = Upstream::establish(resolved, agents).await?;
        for learned in &upstream.learned {
            printer.warn(learned.message());
        }
        let channels = Channels::new(upstream.handle);
        let parts = Parts {
            kept: false,
            jumps: upstream.jumps,
            label: resolved.label(),
            forward_agent: resolved.host.forward_agent,
            agent,
            deploy,
        };
        let mut round_trips = upstream.round_trips;
        // The first commands' channels, opened together in one round trip.
        if channels.fill().await {
            round_trips += 1;
        }
        Ok(Session::start(parts, channels, round_trips))
    }

    /// The session of a run over a kept connection: `handle` is the link to
    /// the keeper ([`super::connect::link`]). The first channels must open
    /// within `deadline`, which proves the kept connection still reaches
    /// the node; `Err` says why not, and nothing has run on the node then.
    pub async fn over_keeper(
        link: KeeperLink,
        deadline: std::time::Duration,
    ) -> Result<Session, String> {
        let channels = Channels::new(link.handle);
        match tokio::time::timeout(deadline, channels.fill()).await {
            Ok(_) if channels.has_ready() => {}
            Ok(_) => return Err("the kept connection opens no channel".into()),
            Err(_) => {
                return Err(format!(
                    "the kept connection did not answer within {}s",
                    deadline.as_secs()
                ))
            }
        }
        if link.agent_forwarded_before {
            link.agent.mark_opened();
        }
        let parts = Parts {
            kept: true,
            jumps: Vec::new(),
            label: link.label,
            forward_agent: link.forward_agent,
            agent: link.agent,
            deploy: link.deploy,
        };
        Ok(Session::start(parts, channels, link.round_trips + 1))
    }

    fn start(parts: Parts, channels: Channels, connect_round_trips: u64) -> Session {
        let run_id = reaper::new_run_id();
        let session = Session {
            inner: Arc::new(Inner {
                channels,
                groups: ProcessGroups::default(),
                _jumps: parts.jumps,
                label: parts.label,
                scratch: ScratchDirs::default(),
                register: reaper::register(&run_id),
                run_id: run_id.clone(),
                agent: parts.agent,
                deploy: parts.deploy,
                forward_agent: parts.forward_agent,
                reaper: std::sync::Mutex::new(None),
                gate: std::sync::Mutex::new(None),
                connect_round_trips,
                kept: parts.kept,
            }),
        };
        let reaper = Reaper::start(Arc::new(session.clone()), &run_id);
        *session
            .inner
            .reaper
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(reaper);
        session
    }

    /// Stops every running command (their process groups: TERM, then KILL
    /// after a grace period), waits for that, and removes the scratch
    /// directories. Commands still running return
    /// [`RemoteError::Interrupted`].
    pub async fn interrupt_all(&self) {
        let mut running = self.inner.groups.interrupt();
        let reaper = self.inner.reaper_pgid();
        running.retain(|(_, pgid)| Some(*pgid) != reaper);
        let pgids: Vec<u32> = running.iter().map(|(_, pgid)| *pgid).collect();
        let tags: Vec<String> = running.iter().map(|(id, _)| self.inner.tag(*id)).collect();
        self.inner.channels.kill(&pgids, &tags).await;
        self.inner.groups.wait_pending().await;
        self.inner.scratch.remove(self).await;
        if let Some(reaper) = self.inner.take_reaper() {
            reaper.release().await;
        }
    }

    /// Ends the run: waits for cancelled commands to be killed, removes the
    /// scratch directories and disconnects.
    pub async fn close(&self) {
        self.close_with(Box::pin(async {})).await;
    }

    /// [`Session::close`], with `beside` (the build lock's release) sent
    /// together with the scratch guardian's: then the reaper, which finds
    /// nothing left to stop (released with them, it would stop them itself
    /// and wait for them to go).
    pub async fn close_with(&self, beside: BoxFuture<'_, ()>) {
        self.inner.groups.wait_pending().await;
        tokio::join!(beside, self.inner.scratch.remove(self));
        if let Some(reaper) = self.inner.take_reaper() {
            reaper.release().await;
        }
        if self.inner.kept {
            // Held processes released by dropping them are on their way
            // out: a channel still open now would make the keeper close the
            // connection (it cannot tell it from a run that died).
            self.inner.groups.wait_ended(CLOSE_WAIT).await;
        }
        self.inner.channels.close_ready().await;
        let handle = self.inner.channels.handle();
        let _ = handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        if self.inner.kept {
            // The process may exit right after this: what was queued (the
            // last channels' closes) must reach the keeper first.
            let sent = async {
                while !handle.is_closed() {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, sent).await;
        }
    }
}

impl RemoteNode for Session {
    fn label(&self) -> &str {
        &self.inner.label
    }

    fn run<'a>(
        &'a self,
        command: &'a RemoteCommand,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(super::run::run(&self.inner, command, stdin, output))
    }

    fn run_terminal<'a>(
        &'a self,
        program: &'a TerminalProgram,
        pty: PtyRequest,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(super::terminal::run(
            &self.inner,
            program,
            pty,
            stdin,
            output,
        ))
    }

    fn settle(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.inner.groups.wait_pending())
    }

    fn set_gate(&self, marker: Option<String>) {
        *self.inner.gate.lock().unwrap_or_else(|p| p.into_inner()) = marker;
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            let node: Arc<dyn RemoteNode> = Arc::new(self.clone());
            self.inner.scratch.dir(node, name).await
        })
    }

    fn prepare_scratch(&self) {
        let session = self.clone();
        tokio::spawn(async move {
            let node: Arc<dyn RemoteNode> = Arc::new(session.clone());
            session.inner.scratch.prepare(node).await;
        });
    }

    fn connect_round_trips(&self) -> u64 {
        self.inner.connect_round_trips
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.interrupt_all())
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(Session::close(self))
    }

    fn close_with<'a>(&'a self, beside: BoxFuture<'a, ()>) -> BoxFuture<'a, ()> {
        Box::pin(Session::close_with(self, beside))
    }
}
