//! What the rest of the host (plugins, pipeline) needs from a build node.
//!
//! The SSH session implements [`RemoteNode`]; tests of the plugin runtime
//! implement it with a recorder. Keeping this a small trait is what lets
//! plugin host calls stay ignorant of SSH.

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One program to run on the node. Arguments are passed literally: the
/// implementation quotes them for the remote shell. `env` values never
/// appear on the remote command line (they may carry secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteCommand {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub stdin: Option<Vec<u8>>,
}

impl RemoteCommand {
    pub fn new(program: impl Into<String>) -> Self {
        RemoteCommand {
            program: program.into(),
            ..RemoteCommand::default()
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }
}

/// How a remote program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteExit {
    Code(i32),
    /// Killed by a signal, named without `SIG` (`KILL`, `TERM`).
    Signal(String),
}

impl RemoteExit {
    pub fn success(&self) -> bool {
        matches!(self, RemoteExit::Code(0))
    }

    /// The shell convention: the code itself, or 128+N for signal N.
    pub fn shell_code(&self) -> i32 {
        match self {
            RemoteExit::Code(code) => *code,
            RemoteExit::Signal(name) => 128 + signal_number(name).unwrap_or(0),
        }
    }
}

impl std::fmt::Display for RemoteExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteExit::Code(code) => write!(f, "exit code {code}"),
            RemoteExit::Signal(name) => write!(f, "killed by signal SIG{name}"),
        }
    }
}

/// Linux signal numbers for the names SSH reports (RFC 4254 section 6.10).
pub fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => return None,
    })
}

/// Where a remote program's output goes while it runs.
pub trait OutputSink: Send {
    fn stdout(&mut self, chunk: &[u8]);
    fn stderr(&mut self, chunk: &[u8]);
}

/// Discards everything; for commands whose output only matters through
/// their exit status.
pub struct Discard;

impl OutputSink for Discard {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, _: &[u8]) {}
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The connection is gone (node died, network dropped, keepalive
    /// timeout).
    #[error("connection to the build node lost: {0}")]
    Disconnected(String),
    /// The request itself cannot be carried out safely (an env name that is
    /// not a valid identifier, a value with a newline, ...).
    #[error("invalid remote request: {0}")]
    InvalidRequest(String),
    /// The node answered, but not as SSH or the wrapper promised.
    #[error("build node protocol error: {0}")]
    Protocol(String),
    /// Cancelled by the user (Ctrl-C); the remote process group was killed.
    #[error("interrupted")]
    Interrupted,
}

/// A build node as seen by plugins and the pipeline.
pub trait RemoteNode: Send + Sync {
    /// Runs a program to completion, streaming its output to `output`.
    fn exec<'a>(
        &'a self,
        command: RemoteCommand,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>>;

    /// Creates or replaces `path` atomically with `contents` and `mode`.
    fn write_file<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// A private directory, the same for the same name during this run,
    /// removed when the run ends, however it ends.
    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>>;

    /// A program line that a local program can use as its remote shell
    /// (rsync's `-e`) to reach this node over the run's own connection,
    /// valid until the run ends. Nodes that cannot offer one say so.
    fn remote_shell(&self) -> BoxFuture<'_, Result<String, RemoteError>> {
        Box::pin(async {
            Err(RemoteError::InvalidRequest(
                "this build node offers no remote shell for local programs".into(),
            ))
        })
    }
}
