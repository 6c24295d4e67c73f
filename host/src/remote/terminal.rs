//! What the node is asked for when a program wants a terminal there
//! (`ops exec -t`): a pseudo-terminal of the local terminal's type and
//! size, kept at that size while it runs.

use tokio::sync::watch;

/// Columns and rows of a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub cols: u32,
    pub rows: u32,
}

impl TerminalSize {
    /// What a terminal that cannot tell its size is taken to have, as
    /// OpenSSH does.
    pub const FALLBACK: TerminalSize = TerminalSize { cols: 80, rows: 24 };
}

/// A pseudo-terminal on the node.
#[derive(Debug, Clone)]
pub struct PtyRequest {
    /// `TERM` of the local terminal, so that programs on the node speak
    /// its escape sequences.
    pub term: String,
    /// The current size, updated whenever the local terminal is resized.
    pub size: watch::Receiver<TerminalSize>,
}

/// What runs in the node's pseudo-terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalProgram {
    /// The node user's login shell, started in `dir` when it exists there
    /// (`~` and `~/...` are the node user's home), else in the home, with
    /// a one-line note. No `dir`: the home.
    LoginShell { dir: Option<String> },
    /// This program with these arguments, each passed literally.
    Command(Vec<String>),
}
