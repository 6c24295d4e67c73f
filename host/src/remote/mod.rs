//! The build node as the rest of the host sees it: the one road from the
//! pipeline, the build lock, scratch directories, the relay and the plugin
//! host to the node.
//!
//! [`RemoteNode`] is implemented by the SSH session (`ssh::Session`, the
//! transport) and by in-process doubles in tests. Everything built on top of
//! it lives here and works for any implementation: atomic file writes
//! ([`RemoteNode::write_file`]), processes held open for the rest of the
//! session ([`hold`], shared by the build lock and the scratch guardian),
//! and scratch directories ([`ScratchDirs`]).

mod agent_scope;
mod command;
pub mod critical_path;
mod error;
mod held;
mod scratch;
mod signal;
mod sink;
mod stdin;
mod terminal;

use std::future::Future;
use std::pin::Pin;

pub use agent_scope::{AgentScope, DeployKey};
pub use command::{AgentForwarding, RemoteCommand, RemoteExit, Stdin};
pub use error::RemoteError;
pub use held::{hold, Held};
pub use scratch::{scoped_scratch_name, validate_scratch_name, ScratchDirs};
pub use signal::signal_name;
pub use sink::{Capture, OutputSink, CAPTURE_MAX};
pub use stdin::{local_stdin, ChannelReader};
pub use terminal::{PtyRequest, TerminalProgram, TerminalSize};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Creates or replaces `$1` with stdin and mode `$2`: a temporary file beside
/// the target, renamed over it, so that readers never see a half-written
/// file.
const ATOMIC_WRITE: &str = "umask 077; t=$(mktemp \"$1.ops-XXXXXX\") || exit 1; \
                            if cat > \"$t\" && chmod \"$2\" \"$t\" && mv -f -- \"$t\" \"$1\"; \
                            then exit 0; else rm -f -- \"$t\"; exit 1; fi";

/// A build node as seen by plugins and the pipeline.
pub trait RemoteNode: Send + Sync {
    /// `user@host`, for messages.
    fn label(&self) -> &str;

    /// Runs `command` to completion, its stdin from `stdin`, streaming its
    /// output to `output`. Dropping the future stops the remote program
    /// (its whole process group).
    fn run<'a>(
        &'a self,
        command: &'a RemoteCommand,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>>;

    /// Runs `program` in a pseudo-terminal on the node (`ops exec -t`):
    /// `stdin` goes to the terminal as typed (Ctrl-C included), and
    /// everything the terminal shows goes to `output`'s stdout. Dropping
    /// the future closes the terminal, which hangs up what runs in it.
    /// Nodes without terminals (test doubles) refuse.
    fn run_terminal<'a>(
        &'a self,
        program: &'a TerminalProgram,
        pty: PtyRequest,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        let _ = (program, pty, stdin, output);
        Box::pin(async {
            Err(RemoteError::Protocol(
                "this node cannot open a terminal".into(),
            ))
        })
    }

    /// From now until it is called with `None`, every command started here
    /// waits, on the node, until the gate named `marker` opens before it
    /// runs (commands marked [`RemoteCommand::ungated`] do not). The gate
    /// is the directory `${TMPDIR:-/tmp}/ops-gate-NAME`, and it opens when
    /// the file `open` appears in it; a command whose gate directory is
    /// not the node user's own, or is reached through a symlink, fails
    /// instead of running. The name (letters, digits, `-`) reaches the
    /// node on stdin, never in argv. This lets a run send its first
    /// commands together with the request for the build lock, which opens
    /// the gate once it holds the lock, instead of one round trip after
    /// it. Nodes without a shell between them and the commands ignore it.
    ///
    /// This and the other session-wide operations below have no default:
    /// a wrapper that forgot to forward one would silently run commands
    /// outside the lock, or leave them running.
    fn set_gate(&self, marker: Option<String>);

    /// Waits until every command whose future was dropped (a step cut
    /// short) is stopped on the node. Before the build lock is let go, so
    /// that the next run never meets a dying command of this one in the
    /// build path.
    fn settle(&self) -> BoxFuture<'_, ()>;

    /// A private directory, the same for the same name during this run,
    /// removed when the run ends, however it ends.
    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>>;

    /// Gets the scratch directories' root ready in the background, for a
    /// run that will ask for one: the first then costs no round trip.
    fn prepare_scratch(&self) {}

    /// [`run`](RemoteNode::run) with the command's own `stdin` bytes.
    fn exec<'a>(
        &'a self,
        command: RemoteCommand,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(async move {
            let stdin = Stdin::Bytes(command.stdin.as_deref());
            self.run(&command, stdin, output).await
        })
    }

    /// Runs `command` and returns its stdout; a non-zero exit is an error
    /// carrying stderr.
    fn capture<'a>(
        &'a self,
        command: &'a RemoteCommand,
    ) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            let mut sink = Capture::default();
            let exit = self
                .run(command, Stdin::Bytes(command.stdin.as_deref()), &mut sink)
                .await?;
            if !exit.success() {
                return Err(RemoteError::Protocol(format!(
                    "`{}` failed ({exit}): {}",
                    command.program,
                    String::from_utf8_lossy(&sink.stderr).trim()
                )));
            }
            if sink.truncated && sink.stdout.len() >= CAPTURE_MAX {
                return Err(RemoteError::Protocol(format!(
                    "`{}` printed more than {CAPTURE_MAX} bytes, more than any answer ops expects",
                    command.program
                )));
            }
            Ok(String::from_utf8_lossy(&sink.stdout).into_owned())
        })
    }

    /// Creates or replaces `path` atomically with `contents` and `mode`.
    fn write_file<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let command = RemoteCommand::new("sh")
                .args(["-c", ATOMIC_WRITE, "sh", path, &format!("{mode:o}")])
                .stdin(contents.to_vec());
            self.capture(&command).await.map(|_| ())
        })
    }

    /// The round trips the connection's setup took, where the transport
    /// counts them (0 where it does not).
    fn connect_round_trips(&self) -> u64;

    /// Stops every running command (TERM, then KILL after a grace period)
    /// and removes the scratch directories; commands still running return
    /// [`RemoteError::Interrupted`].
    fn interrupt(&self) -> BoxFuture<'_, ()>;

    /// Ends the session: waits for stopped commands to be gone, removes the
    /// scratch directories and disconnects.
    fn close(&self) -> BoxFuture<'_, ()>;

    /// [`close`](RemoteNode::close), with `beside` (the build lock's
    /// release) sent together with the scratch directories' removal and
    /// ended before the session's last cleanup: one round trip for both.
    fn close_with<'a>(&'a self, beside: BoxFuture<'a, ()>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            beside.await;
            self.close().await;
        })
    }
}

/// Where a local program (rsync's `-e`) can reach the node over the run's
/// own connection. Offered by the relay; absent where there is none.
pub trait RemoteShell: Send + Sync {
    /// The program line, valid until [`release`](RemoteShell::release).
    fn program_line(&self) -> Result<String, RemoteError>;

    /// The step that asked for the program line is over: the line stops
    /// working until the next [`program_line`](RemoteShell::program_line).
    fn release(&self) {}
}
