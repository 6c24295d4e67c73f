//! One command on its own channel: start it through the wrapper, feed its
//! stdin, stream its output, and report how it ended. A command whose
//! future is dropped has its process group killed in the background.

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OwnedSemaphorePermit;

use super::control::CommandChannel;
use super::marker::StderrFilter;
use super::session::Inner;
use super::wrapper;
use crate::remote::critical_path::{self, Wait};
use crate::remote::{
    AgentForwarding, DeployKey, OutputSink, RemoteCommand, RemoteError, RemoteExit, Stdin,
};

/// How long a cancelled command's wrapper gets to report its process group
/// when cancellation came before the report was read.
const PGID_WAIT: Duration = Duration::from_secs(3);

pub(super) async fn run(
    inner: &Arc<Inner>,
    command: &RemoteCommand,
    stdin: Stdin<'_>,
    output: &mut dyn OutputSink,
) -> Result<RemoteExit, RemoteError> {
    // Commands still run after an interrupt: cleanup needs them.
    let mkdirs = inner.scratch.pending();
    let (forward, prologue) = agent_and_prologue(inner, command, &mkdirs);
    let id = inner.groups.start();
    let (script, preamble, permit, channel) = match start(inner, command, &prologue, id).await {
        Ok(started) => started,
        Err(e) => {
            inner.groups.finish(id);
            return Err(e);
        }
    };
    let (reader, writer) = channel.split();
    let writer = Arc::new(writer);
    let mut guard = RunGuard {
        inner: inner.clone(),
        id,
        writer: writer.clone(),
        reader: Some(reader),
        stderr: StderrFilter::default(),
        permit: Some(permit),
        finished: false,
        mkdirs,
    };
    // Open before the request and closed when this command ends, however
    // it ends.
    let mut agent = open_agent(inner, forward.as_ref());
    if forward.is_some() {
        let asked = writer.agent_forward(false).await;
        asked.map_err(|e| RemoteError::Disconnected(e.to_string()))?;
    }
    writer
        .exec(true, script.into_bytes())
        .await
        .map_err(|e| RemoteError::Disconnected(e.to_string()))?;

    let feed = feed_stdin(writer.clone(), preamble, stdin);
    tokio::pin!(feed);
    let mut feeding = true;
    let mut exit = None;
    // Waiting for the answer: a round trip and the command's own time.
    let mut answer = Wait::start();
    loop {
        tokio::select! {
            _ = &mut feed, if feeding => feeding = false,
            msg = answer.on(guard.next()) => match msg {
                Some(ChannelMsg::Data { data }) => output.stdout(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => guard.stderr(&data, output),
                // The command has ended: the agent is no longer its.
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    agent.take();
                    exit = Some(RemoteExit::Code(exit_status as i32));
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    agent.take();
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
    // Its slot is free: the next command may find a channel open.
    refill(inner);
    outcome(inner, exit)
}

/// What the caller hears of a command whose channel closed.
fn outcome(inner: &Inner, exit: Option<RemoteExit>) -> Result<RemoteExit, RemoteError> {
    let interrupted = inner.groups.is_interrupted();
    match exit {
        Some(exit) if interrupted && !exit.success() => Err(RemoteError::Interrupted),
        Some(exit) => Ok(exit),
        None if interrupted => Err(RemoteError::Interrupted),
        None if inner.channels.handle().is_closed() => Err(RemoteError::Disconnected(
            "the connection closed before the command finished".into(),
        )),
        None => Err(RemoteError::Protocol(
            "the command ended without reporting an exit status".into(),
        )),
    }
}

/// The wrapper's script and stdin preamble for command `id`, and its
/// channel.
async fn start(
    inner: &Arc<Inner>,
    command: &RemoteCommand,
    prologue: &str,
    id: u64,
) -> Result<(String, Vec<u8>, OwnedSemaphorePermit, Channel<Msg>), RemoteError> {
    let gate = gate(inner, command);
    let (script, preamble) = wrapper::script(command, prologue, gate.as_deref(), &inner.tag(id))?;
    let (permit, channel) = command_channel(inner).await?;
    Ok((script, preamble, permit, channel))
}

/// A channel for the next command: one opened ahead if ready, else a new
/// one (a round trip); then the next commands' channels are opened in the
/// background.
pub(super) async fn command_channel(inner: &Arc<Inner>) -> Result<CommandChannel, RemoteError> {
    let channel = match inner.channels.take_ready() {
        Some(ready) => ready,
        None => {
            let permit = inner.channels.command_slot().await?;
            (permit, critical_path::wait(inner.channels.open()).await?)
        }
    };
    refill(inner);
    Ok(channel)
}

/// Opens channels ahead of need in the background, as slots allow.
pub(super) fn refill(inner: &Arc<Inner>) {
    let filling = inner.clone();
    tokio::spawn(async move {
        filling.channels.fill().await;
    });
}

/// The marker `command` waits for on the node, while the session has a gate
/// and the command is not exempt.
fn gate(inner: &Inner, command: &RemoteCommand) -> Option<String> {
    if command.ungated {
        return None;
    }
    inner.gate.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The agent a command's channel forwards.
enum Agent {
    /// The user's ssh-agent.
    User,
    /// The one ops serves with the deploy key only.
    Deploy(DeployKey),
}

/// Keeps the agent `forward` names reachable while the result lives.
fn open_agent(inner: &Inner, forward: Option<&Agent>) -> Option<Box<dyn Send>> {
    match forward {
        Some(Agent::User) => Some(Box::new(inner.agent.open())),
        Some(Agent::Deploy(key)) => Some(Box::new(inner.deploy.open(key.clone()))),
        None => None,
    }
}

/// Which agent `command` gets, if any, and the shell to run before it
/// (recording its process group, making the scratch directories in
/// `mkdirs`, dropping sshd's agent socket).
fn agent_and_prologue(
    inner: &Inner,
    command: &RemoteCommand,
    mkdirs: &[String],
) -> (Option<Agent>, String) {
    let forward = match &command.agent {
        AgentForwarding::Never => None,
        AgentForwarding::Sync(wanted) => {
            wanted.unwrap_or(inner.forward_agent).then_some(Agent::User)
        }
        AgentForwarding::DeployKey(key) => Some(Agent::Deploy(key.clone())),
    };
    // Once one channel had the agent, sshd offers its socket to every later
    // one (OpenSSH keeps it per connection); the others must not see it. A
    // try to use it anyway is refused by the agent gate.
    let ever = inner.agent.ever_opened() || inner.deploy.ever_opened();
    let mut prologue = inner.register.clone();
    prologue.push_str(&wrapper::make_dirs(mkdirs));
    if forward.is_none() && ever {
        prologue.push_str("unset SSH_AUTH_SOCK; ");
    }
    (forward, prologue)
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
    /// Scratch directories this command's wrapper makes before it reports.
    mkdirs: Vec<String>,
}

impl RunGuard {
    async fn next(&mut self) -> Option<ChannelMsg> {
        match self.reader.as_mut() {
            Some(reader) => reader.wait().await,
            None => None,
        }
    }

    fn stderr(&mut self, data: &[u8], output: &mut dyn OutputSink) {
        let (pgid, passed) = self.stderr.push(data);
        if let Some(pgid) = pgid {
            self.inner.groups.set_group(self.id, pgid);
            // The wrapper got past its prologue: the directories exist.
            self.inner.scratch.made(&self.mkdirs);
        }
        if !passed.is_empty() {
            output.stderr(&passed);
        }
    }

    async fn finish(&mut self) {
        self.finished = true;
        if let Some(pgid) = self.inner.groups.finish(self.id) {
            self.inner.forget(pgid);
        }
        let _ = self.writer.close().await;
        self.permit.take();
        // The slot is free again: open the next command's channel ahead, as
        // taking one does (the slots may all have been busy then).
        refill(&self.inner);
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (id, pgid) = (self.id, self.inner.groups.finish(self.id));
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
                inner.channels.kill(&[pgid], &[inner.tag(id)]).await;
            }
            let _ = writer.close().await;
            drop(permit);
        });
        self.inner.groups.add_pending(task);
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
    };
    // A program that exits without reading its stdin closes the channel
    // under us; that is not an error of the command.
    if ok.await.is_ok() {
        let _ = writer.eof().await;
    }
}

/// The signal's name without `SIG`. russh keeps its own name table
/// private; its `Debug` of the unit variants is the RFC 4254 name.
pub(super) fn signal_name_of(sig: &Sig) -> String {
    let name = match sig {
        Sig::Custom(name) => name.clone(),
        known => format!("{known:?}"),
    };
    name.trim_start_matches("SIG").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_match_the_shared_table() {
        for sig in [Sig::KILL, Sig::TERM, Sig::INT, Sig::HUP, Sig::SEGV] {
            let name = signal_name_of(&sig);
            let code = crate::remote::RemoteExit::Signal(name.clone()).shell_code();
            assert!(code > 128, "{name} is not in the signal table");
        }
        assert_eq!(signal_name_of(&Sig::Custom("SIGWINCH".into())), "WINCH");
    }
}
