//! One SSH connection to the build node for the whole run, with every
//! remote command on its own channel ([`run`](super::run)). The session is
//! the transport behind [`RemoteNode`]; what is built on top (scratch
//! directories, held processes, atomic writes) lives in `remote`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use russh::client::Handle;

use super::agent::AgentGate;
use super::connect::{connect, ClientHandler};
use super::control::{Channels, ProcessGroups};
use super::deploy_agent::DeployAgent;
use super::destination::Destination;
use super::error::SshError;
use super::host_config::{home_dir, SshConfigFile};
use super::known_hosts::{Accepted, HostKeyPolicy};
use super::reaper::{self, Reaper};
use crate::output::Printer;
use crate::remote::{
    BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode, ScratchDirs, Stdin,
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
    scratch: ScratchDirs,
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
        let home = options
            .home
            .clone()
            .or_else(home_dir)
            .unwrap_or_else(|| PathBuf::from("/"));
        let ssh_config = SshConfigFile::load(&home)?;
        let host = ssh_config.resolve(&target.host, target.user.as_deref(), target.port);

        let round_trips = AtomicU64::new(0);
        let mut jumps: Vec<Handle<ClientHandler>> = Vec::new();
        for hop in &host.proxy_jump {
            let dest = Destination::parse(hop).map_err(|message| SshError::BadJump {
                hop: hop.clone(),
                message,
            })?;
            let hop_host = ssh_config.resolve(&dest.host, dest.user.as_deref(), dest.port);
            let policy = HostKeyPolicy::new(&hop_host, None, options.accept_new_host_key)?;
            let connected =
                connect(&hop_host, policy, jumps.last(), &home, None, &round_trips).await?;
            note_accepted(printer, &connected.accepted, &hop_host.hostname);
            jumps.push(connected.handle);
        }

        let policy = HostKeyPolicy::new(
            &host,
            target.host_key.as_deref(),
            options.accept_new_host_key,
        )?;
        let label = format!("{}@{}", host.user, policy.display());
        let agent = Arc::new(AgentGate::default());
        let deploy = Arc::new(DeployAgent::default());
        let connected = connect(
            &host,
            policy,
            jumps.last(),
            &home,
            Some((agent.clone(), deploy.clone())),
            &round_trips,
        )
        .await?;
        note_accepted(printer, &connected.accepted, &label);

        let run_id = reaper::new_run_id();
        let channels = Channels::new(connected.handle);
        // The first commands' channels, opened together in one round trip.
        if channels.fill().await {
            round_trips.fetch_add(1, Ordering::SeqCst);
        }
        let session = Session {
            inner: Arc::new(Inner {
                channels,
                groups: ProcessGroups::default(),
                _jumps: jumps,
                label,
                scratch: ScratchDirs::default(),
                register: reaper::register(&run_id),
                run_id: run_id.clone(),
                agent,
                deploy,
                forward_agent: host.forward_agent,
                reaper: std::sync::Mutex::new(None),
                gate: std::sync::Mutex::new(None),
                connect_round_trips: round_trips.load(Ordering::SeqCst),
            }),
        };
        let reaper = Reaper::start(Arc::new(session.clone()), &run_id);
        *session
            .inner
            .reaper
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(reaper);
        Ok(session)
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
        self.inner.groups.wait_pending().await;
        self.inner.scratch.remove(self).await;
        if let Some(reaper) = self.inner.take_reaper() {
            reaper.release().await;
        }
        let _ = self
            .inner
            .channels
            .handle()
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

fn note_accepted(printer: &Printer, accepted: &Accepted, host: &str) {
    if let Accepted::Learned { file, fingerprint } = accepted {
        printer.warn(format!(
            "permanently added the host key of {host} ({fingerprint}) to {}",
            file.display()
        ));
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

    fn connect_round_trips(&self) -> u64 {
        self.inner.connect_round_trips
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.interrupt_all())
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(Session::close(self))
    }
}
