//! A remote process held open for the rest of the session: the one
//! primitive behind the build lock and the scratch guardian.
//!
//! The process reads its stdin until end of file. ops never writes to it,
//! so it ends when ops releases it (closes stdin), when the run is
//! interrupted (its process group is killed), and also when ops dies or the
//! connection drops, since sshd then closes the session's pipes. Whatever
//! the process guards (a lock, a directory of credentials) therefore cannot
//! outlive the session, and nothing depends on ops being alive to clean up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ChannelReader, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode, Stdin};
use crate::text::LineSplitter;

/// A running held process. Dropping it releases the process without
/// waiting for it.
pub struct Held {
    lines: mpsc::UnboundedReceiver<String>,
    // Closing this is the process's end of file.
    release: mpsc::Sender<Vec<u8>>,
    process: JoinHandle<Result<RemoteExit, RemoteError>>,
}

/// Starts `command` on `node`, held open until released.
pub fn hold(node: Arc<dyn RemoteNode>, command: RemoteCommand) -> Held {
    // Room for the occasional line ops sends while it holds the process.
    let (release, held_open) = mpsc::channel::<Vec<u8>>(64);
    let (line_tx, lines) = mpsc::unbounded_channel();
    // Whoever waits for the process's lines waits on it.
    let chain = super::critical_path::Chain::current();
    let process = tokio::spawn(super::critical_path::within(chain, async move {
        let mut sink = StdoutLines {
            lines: LineSplitter::default(),
            tx: line_tx,
        };
        let stdin = Stdin::Stream(Box::new(ChannelReader::new(held_open)));
        node.run(&command, stdin, &mut sink).await
    }));
    Held {
        lines,
        release,
        process,
    }
}

impl Held {
    /// The next line the process printed on stdout (trimmed); `None` once
    /// it has ended.
    pub async fn next_line(&mut self) -> Option<String> {
        self.lines.recv().await
    }

    /// Hands the process's stdout lines to someone else (this handle then
    /// sees none).
    pub fn take_lines(&mut self) -> mpsc::UnboundedReceiver<String> {
        let (_, closed) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.lines, closed)
    }

    /// Sends `line` to the process's stdin without waiting; a process too
    /// busy to keep up, or already gone, misses it.
    pub fn send_line(&self, line: &str) {
        let _ = self.release.try_send(format!("{line}\n").into_bytes());
    }

    /// How the process ended, once [`next_line`](Held::next_line) said it
    /// had.
    pub async fn ended(self) -> Result<RemoteExit, RemoteError> {
        drop(self.release);
        match self.process.await {
            Ok(result) => result,
            Err(e) => Err(RemoteError::Protocol(format!(
                "held process task failed: {e}"
            ))),
        }
    }

    /// Closes the process's stdin and waits up to `timeout` for it to end.
    /// `None` when it did not end in time.
    pub async fn release(self, timeout: Duration) -> Option<Result<RemoteExit, RemoteError>> {
        tokio::time::timeout(timeout, self.ended()).await.ok()
    }
}

struct StdoutLines {
    lines: LineSplitter,
    tx: mpsc::UnboundedSender<String>,
}

impl OutputSink for StdoutLines {
    fn stdout(&mut self, chunk: &[u8]) {
        let tx = &self.tx;
        // Held processes print short status lines; a longer one is cut.
        self.lines.push(chunk, |line, _| {
            let _ = tx.send(line.trim().to_owned());
        });
    }

    fn stderr(&mut self, _: &[u8]) {}
}
