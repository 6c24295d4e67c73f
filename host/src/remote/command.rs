//! One program to run on the node, how it ended, and where its stdin
//! comes from.

use tokio::io::AsyncRead;

use super::signal::signal_number;

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
    /// Whether the user's ssh-agent may be forwarded to this command.
    pub agent: AgentForwarding,
    /// Starts at once even while the node's commands wait on a gate (see
    /// [`RemoteNode::set_gate`](super::RemoteNode::set_gate)): for the
    /// command that opens the gate, and for work that needs no lock.
    pub ungated: bool,
}

/// Agent forwarding is for the git sync only: never for the build command,
/// image builds or anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AgentForwarding {
    #[default]
    Never,
    /// A command of the sync step: forwarded when the sync plugin's config
    /// says so (`Some`), or, when it says nothing, when the node's
    /// ssh_config says `ForwardAgent yes`.
    Sync(Option<bool>),
    /// A command of the sync step whose config names a deploy key: an
    /// agent that ops serves itself, holding that key only, so that the
    /// key never has to be written on the node.
    DeployKey(super::DeployKey),
}

impl RemoteCommand {
    pub fn new(program: impl Into<String>) -> Self {
        RemoteCommand {
            program: program.into(),
            ..RemoteCommand::default()
        }
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

    /// See [`RemoteCommand::ungated`](RemoteCommand#structfield.ungated).
    pub fn ungated(mut self) -> Self {
        self.ungated = true;
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

/// Where the remote program's stdin comes from.
pub enum Stdin<'a> {
    /// Nothing (immediate end of file) or these bytes.
    Bytes(Option<&'a [u8]>),
    /// Streamed until end of file (`ops exec`, the relay, held processes).
    Stream(Box<dyn AsyncRead + Send + Unpin + 'a>),
}

impl Stdin<'_> {
    /// Immediate end of file.
    pub fn empty() -> Stdin<'static> {
        Stdin::Bytes(None)
    }
}
