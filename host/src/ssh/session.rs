//! One SSH connection to the build node for the whole run, with every
//! remote step on its own channel.
//!
//! At most [`MAX_CHANNELS`] command channels are open at once, plus up to
//! [`CONTROL_CHANNELS`] short control channels (killing process groups,
//! cleaning up), staying under OpenSSH's default `MaxSessions 10`. Every
//! channel is closed explicitly: russh does not close on drop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{Handle, Msg};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::connect::{connect, ClientHandler};
use super::destination::Destination;
use super::error::SshError;
use super::host_config::{home_dir, SshConfigFile};
use super::known_hosts::{Accepted, HostKeyPolicy};
use super::wrapper::{self, quote, PGID_MARKER};
use crate::node::NodeTarget;
use crate::output::Printer;
use crate::remote::{BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode};

/// Command channels open at once.
pub const MAX_CHANNELS: usize = 8;
/// Extra channels for kill and cleanup commands.
pub const CONTROL_CHANNELS: usize = 2;
/// How long a cancelled command gets between TERM and KILL, in tenths of a
/// second.
const KILL_GRACE_TENTHS: u32 = 30;

/// How to connect, beyond what the target and ssh_config say.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--accept-new-host-key`: add an unknown host key to known_hosts
    /// (a changed key is still refused).
    pub accept_new_host_key: bool,
    /// Where `.ssh/` is; `$HOME` when `None`.
    pub home: Option<PathBuf>,
}

/// Where the remote program's stdin comes from.
pub enum Stdin<'a> {
    /// Nothing (immediate end of file) or these bytes.
    Bytes(Option<&'a [u8]>),
    /// Streamed until end of file (for `ops exec`).
    Stream(Box<dyn AsyncRead + Send + Unpin + 'a>),
}

/// The connection to the build node. Cheap to clone; clones share the
/// connection.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    handle: Handle<ClientHandler>,
    /// ProxyJump connections, kept open for as long as the session.
    _jumps: Vec<Handle<ClientHandler>>,
    label: String,
    logins: usize,
    commands: Arc<Semaphore>,
    control: Arc<Semaphore>,
    /// Running commands: id → process group, once the wrapper reported it.
    running: Mutex<HashMap<u64, Option<u32>>>,
    next_id: AtomicU64,
    /// Kills and closes started by dropped (cancelled) commands.
    pending: Mutex<Vec<JoinHandle<()>>>,
    interrupted: AtomicBool,
    scratch: tokio::sync::Mutex<Scratch>,
    /// Started on first use by a local program that needs a remote shell
    /// (rsync); dropped by `close`/`interrupt_all`, which also breaks the
    /// reference cycle through its accept task.
    relay: Mutex<Option<crate::relay::RelayServer>>,
    channels_opened: AtomicUsize,
}

#[derive(Default)]
struct Scratch {
    root: Option<super::scratch::ScratchRoot>,
    dirs: HashMap<String, String>,
}

impl Session {
    /// Connects to `target` through ssh_config (aliases, ProxyJump hops),
    /// verifies host keys and authenticates.
    pub async fn connect(
        target: &NodeTarget,
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

        let mut jumps: Vec<Handle<ClientHandler>> = Vec::new();
        let mut logins = 0;
        for hop in &host.proxy_jump {
            let dest = Destination::parse(hop).map_err(|message| SshError::BadJump {
                hop: hop.clone(),
                message,
            })?;
            let hop_host = ssh_config.resolve(&dest.host, dest.user.as_deref(), dest.port);
            let policy = HostKeyPolicy::new(&hop_host, None, options.accept_new_host_key)?;
            let connected = connect(&hop_host, policy, jumps.last(), &home).await?;
            note_accepted(printer, &connected.accepted, &hop_host.hostname);
            logins += 1;
            jumps.push(connected.handle);
        }

        let policy = HostKeyPolicy::new(
            &host,
            target.host_key.as_deref(),
            options.accept_new_host_key,
        )?;
        let label = format!("{}@{}", host.user, policy.display());
        let connected = connect(&host, policy, jumps.last(), &home).await?;
        note_accepted(printer, &connected.accepted, &label);
        logins += 1;
        printer.debug(format!("connected to {label} ({})", target.origin));

        Ok(Session {
            inner: Arc::new(Inner {
                handle: connected.handle,
                _jumps: jumps,
                label,
                logins,
                commands: Arc::new(Semaphore::new(MAX_CHANNELS)),
                control: Arc::new(Semaphore::new(CONTROL_CHANNELS)),
                running: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                pending: Mutex::new(Vec::new()),
                interrupted: AtomicBool::new(false),
                scratch: tokio::sync::Mutex::new(Scratch::default()),
                relay: Mutex::new(None),
                channels_opened: AtomicUsize::new(0),
            }),
        })
    }

    /// `user@host` or `user@[host]:port`.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// SSH logins this session made: 1, plus one per ProxyJump hop.
    pub fn logins(&self) -> usize {
        self.inner.logins
    }

    /// Channels opened so far (commands and control).
    pub fn channels_opened(&self) -> usize {
        self.inner.channels_opened.load(Ordering::Relaxed)
    }

    /// Runs `command`, streaming output to `output` and its stdin from
    /// `stdin`. Dropping the future kills the remote process group.
    pub async fn run(
        &self,
        command: &RemoteCommand,
        stdin: Stdin<'_>,
        output: &mut dyn OutputSink,
    ) -> Result<RemoteExit, RemoteError> {
        let (script, preamble) = wrapper::script(command)?;
        if self.inner.interrupted.load(Ordering::SeqCst) {
            return Err(RemoteError::Interrupted);
        }
        let permit = self
            .inner
            .commands
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RemoteError::Disconnected("session closed".into()))?;
        let channel = self.open_channel().await?;
        let (reader, writer) = channel.split();
        let writer = Arc::new(writer);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock_running().insert(id, None);
        let mut guard = RunGuard {
            inner: self.inner.clone(),
            id,
            writer: writer.clone(),
            reader: Some(reader),
            stderr: StderrFilter::default(),
            permit: Some(permit),
            finished: false,
        };
        writer
            .exec(true, script.into_bytes())
            .await
            .map_err(|e| RemoteError::Disconnected(e.to_string()))?;

        let feed = feed_stdin(writer.clone(), preamble, stdin);
        tokio::pin!(feed);
        let mut feeding = true;
        let mut exit = None;
        loop {
            tokio::select! {
                _ = &mut feed, if feeding => feeding = false,
                msg = guard.next() => match msg {
                    Some(ChannelMsg::Data { data }) => output.stdout(&data),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                        let (pgid, passed) = guard.stderr.push(&data);
                        if let Some(pgid) = pgid {
                            self.lock_running().insert(id, Some(pgid));
                        }
                        if !passed.is_empty() {
                            output.stderr(&passed);
                        }
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        exit = Some(RemoteExit::Code(exit_status as i32));
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        exit = Some(RemoteExit::Signal(signal_name_of(&signal_name)));
                    }
                    Some(ChannelMsg::Failure) => {
                        guard.finish().await;
                        return Err(RemoteError::Protocol("the node refused to run the command".into()));
                    }
                    Some(ChannelMsg::Close) | None => break,
                    Some(_) => {}
                },
            }
        }
        let rest = guard.stderr.finish();
        if !rest.is_empty() {
            output.stderr(&rest);
        }
        guard.finish().await;
        let interrupted = self.inner.interrupted.load(Ordering::SeqCst);
        match exit {
            Some(exit) if interrupted && !exit.success() => Err(RemoteError::Interrupted),
            Some(exit) => Ok(exit),
            None if interrupted => Err(RemoteError::Interrupted),
            None if self.inner.handle.is_closed() => Err(RemoteError::Disconnected(
                "the connection closed before the command finished".into(),
            )),
            None => Err(RemoteError::Protocol(
                "the command ended without reporting an exit status".into(),
            )),
        }
    }

    /// Runs `command` and returns its stdout; a non-zero exit is an error
    /// carrying stderr.
    pub async fn capture(&self, command: &RemoteCommand) -> Result<String, RemoteError> {
        let mut sink = Capture::default();
        let stdin = Stdin::Bytes(command.stdin.as_deref());
        let exit = self.run(command, stdin, &mut sink).await?;
        if !exit.success() {
            return Err(RemoteError::Protocol(format!(
                "`{}` failed ({exit}): {}",
                command.program,
                String::from_utf8_lossy(&sink.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&sink.stdout).into_owned())
    }

    /// Stops every running command: kills their process groups (TERM, then
    /// KILL after a grace period), waits for that, and removes the scratch
    /// directories. Commands still running return
    /// [`RemoteError::Interrupted`].
    pub async fn interrupt_all(&self) {
        self.stop_relay();
        self.inner.interrupted.store(true, Ordering::SeqCst);
        let pgids: Vec<u32> = self.lock_running().values().flatten().copied().collect();
        if !pgids.is_empty() {
            let _ = self
                .inner
                .control(&wrapper::kill_script(&pgids, KILL_GRACE_TENTHS))
                .await;
        }
        self.wait_pending().await;
        self.remove_scratch().await;
    }

    /// The `-e` program line through which a local rsync reaches the node
    /// over this session; the relay starts on first use.
    pub fn remote_shell(&self) -> Result<String, RemoteError> {
        let mut relay = self.inner.relay.lock().unwrap_or_else(|p| p.into_inner());
        if relay.is_none() {
            let server = crate::relay::RelayServer::start(self.clone()).map_err(|e| {
                RemoteError::InvalidRequest(format!("cannot start the local relay for rsync: {e}"))
            })?;
            *relay = Some(server);
        }
        match relay.as_ref() {
            Some(server) => server.remote_shell().map_err(|e| {
                RemoteError::InvalidRequest(format!("cannot name the relay program: {e}"))
            }),
            None => Err(RemoteError::Protocol("relay vanished".into())),
        }
    }

    fn stop_relay(&self) {
        let server = self
            .inner
            .relay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(server);
    }

    /// Ends the run: waits for cancelled commands to be killed, removes the
    /// scratch directories and disconnects.
    pub async fn close(&self) {
        self.stop_relay();
        self.wait_pending().await;
        self.remove_scratch().await;
        let _ = self
            .inner
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }

    async fn wait_pending(&self) {
        loop {
            let pending: Vec<JoinHandle<()>> = {
                let mut list = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::take(&mut *list)
            };
            if pending.is_empty() {
                return;
            }
            for task in pending {
                let _ = task.await;
            }
        }
    }

    async fn remove_scratch(&self) {
        let root = {
            let mut scratch = self.inner.scratch.lock().await;
            scratch.dirs.clear();
            scratch.root.take()
        };
        if let Some(root) = root {
            let dir = root.dir.clone();
            // The guardian removes it; if it could not (killed mid-way, a
            // stuck channel), remove it directly.
            if !root.remove().await {
                let _ = self
                    .inner
                    .control(&format!("rm -rf -- {}", quote(&dir)))
                    .await;
            }
        }
    }

    async fn open_channel(&self) -> Result<russh::Channel<Msg>, RemoteError> {
        self.inner.open_channel().await
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Option<u32>>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn make_scratch(&self, name: &str) -> Result<String, RemoteError> {
        if name.is_empty()
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(RemoteError::InvalidRequest(format!(
                "scratch directory name {name:?} must be letters, digits, '.', '_' or '-'"
            )));
        }
        let mut scratch = self.inner.scratch.lock().await;
        if let Some(dir) = scratch.dirs.get(name) {
            return Ok(dir.clone());
        }
        let root = match &scratch.root {
            Some(root) => root.dir.clone(),
            None => {
                let root = super::scratch::ScratchRoot::create(self.clone()).await?;
                let dir = root.dir.clone();
                scratch.root = Some(root);
                dir
            }
        };
        let dir = format!("{root}/{name}");
        self.capture(&RemoteCommand::new("mkdir").args(["-m", "700", "--", &dir]))
            .await?;
        scratch.dirs.insert(name.to_owned(), dir.clone());
        Ok(dir)
    }
}

impl Inner {
    async fn open_channel(&self) -> Result<russh::Channel<Msg>, RemoteError> {
        self.channels_opened.fetch_add(1, Ordering::Relaxed);
        self.handle
            .channel_open_session()
            .await
            .map_err(|e| RemoteError::Disconnected(format!("cannot open a channel: {e}")))
    }

    /// Runs a shell snippet on a control channel and waits for it.
    async fn control(&self, script: &str) -> Result<(), RemoteError> {
        let _permit = self
            .control
            .acquire()
            .await
            .map_err(|_| RemoteError::Disconnected("session closed".into()))?;
        let mut channel = self.open_channel().await?;
        let result = async {
            channel
                .exec(true, script.as_bytes().to_vec())
                .await
                .map_err(|e| RemoteError::Disconnected(e.to_string()))?;
            channel
                .eof()
                .await
                .map_err(|e| RemoteError::Disconnected(e.to_string()))?;
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
            Ok(())
        }
        .await;
        let _ = channel.close().await;
        result
    }
}

/// Keeps the books for one running command; if the command's future is
/// dropped before it finished, kills the process group and closes the
/// channel in the background (the session waits for that on close).
struct RunGuard {
    inner: Arc<Inner>,
    id: u64,
    writer: Arc<ChannelWriteHalf<Msg>>,
    reader: Option<ChannelReadHalf>,
    stderr: StderrFilter,
    permit: Option<OwnedSemaphorePermit>,
    finished: bool,
}

/// How long a cancelled command's wrapper gets to report its process group
/// when cancellation came before the report was read.
const PGID_WAIT: Duration = Duration::from_secs(3);

impl RunGuard {
    async fn next(&mut self) -> Option<ChannelMsg> {
        match self.reader.as_mut() {
            Some(reader) => reader.wait().await,
            None => None,
        }
    }

    async fn finish(&mut self) {
        self.finished = true;
        self.inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        let _ = self.writer.close().await;
        self.permit.take();
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let pgid = self
            .inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id)
            .flatten();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = self.inner.clone();
        let writer = self.writer.clone();
        let reader = self.reader.take();
        let mut stderr = std::mem::take(&mut self.stderr);
        // The slot stays taken until sshd has seen the process go.
        let permit = self.permit.take();
        let task = runtime.spawn(async move {
            let mut pgid = pgid;
            if let (None, Some(mut reader)) = (pgid, reader) {
                // Cancelled before the wrapper's report was read: read on
                // (discarding output) until it arrives.
                let _ = tokio::time::timeout(PGID_WAIT, async {
                    while let Some(msg) = reader.wait().await {
                        if let ChannelMsg::ExtendedData { data, ext: 1 } = msg {
                            if let (Some(found), _) = stderr.push(&data) {
                                pgid = Some(found);
                                return;
                            }
                        }
                    }
                })
                .await;
            }
            if let Some(pgid) = pgid {
                let _ = inner
                    .control(&wrapper::kill_script(&[pgid], KILL_GRACE_TENTHS))
                    .await;
            }
            let _ = writer.close().await;
            drop(permit);
        });
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }
}

/// Sends the env preamble, then stdin, then end of file.
async fn feed_stdin(writer: Arc<ChannelWriteHalf<Msg>>, preamble: Vec<u8>, stdin: Stdin<'_>) {
    let mut sink = writer.make_writer();
    let ok = async {
        if !preamble.is_empty() {
            sink.write_all(&preamble).await?;
        }
        match stdin {
            Stdin::Bytes(Some(bytes)) => sink.write_all(bytes).await?,
            Stdin::Bytes(None) => {}
            Stdin::Stream(mut source) => {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = source.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    sink.write_all(&buf[..n]).await?;
                }
            }
        }
        sink.flush().await?;
        Ok::<_, std::io::Error>(())
    }
    .await;
    // A program that exits without reading its stdin closes the channel
    // under us; that is not an error of the command.
    if ok.is_ok() {
        let _ = writer.eof().await;
    }
}

/// Strips the wrapper's pid line from stderr, passing everything else on.
#[derive(Default)]
struct StderrFilter {
    pending: Vec<u8>,
    done: bool,
}

impl StderrFilter {
    /// Returns the process group if this chunk completed the marker line,
    /// and the bytes to pass on.
    fn push(&mut self, chunk: &[u8]) -> (Option<u32>, Vec<u8>) {
        if self.done {
            return (None, chunk.to_vec());
        }
        self.pending.extend_from_slice(chunk);
        let mut passed = Vec::new();
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            if let Some(pid) = line
                .strip_prefix(PGID_MARKER.as_bytes())
                .and_then(|rest| std::str::from_utf8(rest).ok())
                .and_then(|rest| rest.trim().parse::<u32>().ok())
            {
                self.done = true;
                passed.append(&mut self.pending);
                return (Some(pid), passed);
            }
            // Something (a login script) wrote before the wrapper did.
            passed.extend_from_slice(&line);
        }
        if self.pending.len() > 64 * 1024 {
            self.done = true;
            passed.append(&mut self.pending);
        }
        (None, passed)
    }

    fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.pending)
    }
}

fn signal_name_of(sig: &Sig) -> String {
    let name = match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name.as_str(),
    };
    name.trim_start_matches("SIG").to_owned()
}

fn note_accepted(printer: &Printer, accepted: &Accepted, host: &str) {
    if let Accepted::Learned { file, fingerprint } = accepted {
        printer.warn(format!(
            "permanently added the host key of {host} ({fingerprint}) to {}",
            file.display()
        ));
    }
}

/// Collects output in memory.
#[derive(Default)]
pub struct Capture {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl OutputSink for Capture {
    fn stdout(&mut self, chunk: &[u8]) {
        self.stdout.extend_from_slice(chunk);
    }
    fn stderr(&mut self, chunk: &[u8]) {
        self.stderr.extend_from_slice(chunk);
    }
}

impl RemoteNode for Session {
    fn exec<'a>(
        &'a self,
        command: RemoteCommand,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(async move {
            let stdin = command.stdin.clone();
            self.run(&command, Stdin::Bytes(stdin.as_deref()), output)
                .await
        })
    }

    fn write_file<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            // A temporary file beside the target, renamed over it, so that
            // readers never see a half-written file.
            let script = "umask 077; t=$(mktemp \"$1.ops-XXXXXX\") || exit 1; \
                          if cat > \"$t\" && chmod \"$2\" \"$t\" && mv -f -- \"$t\" \"$1\"; \
                          then exit 0; else rm -f -- \"$t\"; exit 1; fi";
            let command = RemoteCommand::new("sh")
                .args(["-c", script, "sh", path, &format!("{mode:o}")])
                .stdin(contents.to_vec());
            self.capture(&command).await.map(|_| ())
        })
    }

    fn remote_shell(&self) -> BoxFuture<'_, Result<String, RemoteError>> {
        Box::pin(async move { Session::remote_shell(self) })
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(self.make_scratch(name))
    }
}

/// How long keepalives may go unanswered before the node counts as dead.
pub fn dead_node_timeout() -> Duration {
    super::connect::KEEPALIVE_INTERVAL * (super::connect::KEEPALIVE_MAX as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_filter_strips_marker_across_chunks() {
        let mut f = StderrFilter::default();
        let (pid, passed) = f.push(b"motd\n__ops_p");
        assert_eq!(pid, None);
        assert_eq!(passed, b"motd\n");
        let (pid, passed) = f.push(b"gid=4242\nerr");
        assert_eq!(pid, Some(4242));
        assert_eq!(passed, b"err");
        let (_, passed) = f.push(b"more");
        assert_eq!(passed, b"more");
    }

    #[test]
    fn dead_node_noticed_within_thirty_seconds() {
        assert!(dead_node_timeout() <= Duration::from_secs(30));
    }
}
