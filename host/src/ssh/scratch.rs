//! The run's scratch directory on the node, kept by a guardian process.
//!
//! Scratch directories hold credentials (a docker login, a deploy key), so
//! they must go away however the run ends. The guardian is a small shell on
//! its own channel that creates the directory, prints it, and removes it
//! when its stdin closes or it is signalled: when ops closes the session,
//! when a run is interrupted (its process group is killed), and also when
//! ops dies or the connection drops, since sshd then closes the channel's
//! pipes. Nothing depends on ops being alive to clean up.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{ChannelReader, Session, Stdin};
use crate::remote::{OutputSink, RemoteCommand, RemoteError, RemoteExit};

const GUARDIAN: &str = r#"umask 077
d=$(mktemp -d "${TMPDIR:-/tmp}/ops.XXXXXXXXXX") || exit 1
trap 'rm -rf -- "$d"' EXIT
trap 'exit 1' HUP INT TERM PIPE
printf '%s\n' "$d"
cat >/dev/null"#;

/// How long removal may take before the caller falls back to `rm -rf`.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct ScratchRoot {
    pub(super) dir: String,
    // Dropping it closes the guardian's stdin, which removes the directory.
    release: mpsc::Sender<Vec<u8>>,
    guardian: JoinHandle<Result<RemoteExit, RemoteError>>,
}

impl ScratchRoot {
    pub(super) async fn create(session: Session) -> Result<ScratchRoot, RemoteError> {
        let (release, held_open) = mpsc::channel::<Vec<u8>>(1);
        let (dir_tx, dir_rx) = oneshot::channel();
        let command = RemoteCommand::new("sh").args(["-c", GUARDIAN]);
        let guardian = tokio::spawn(async move {
            let mut sink = FirstLine {
                line: Vec::new(),
                tx: Some(dir_tx),
            };
            session
                .run(
                    &command,
                    Stdin::Stream(Box::new(ChannelReader::new(held_open))),
                    &mut sink,
                )
                .await
        });
        match dir_rx.await {
            Ok(dir) if dir.starts_with('/') && !dir.contains('\n') => Ok(ScratchRoot {
                dir,
                release,
                guardian,
            }),
            Ok(dir) => Err(RemoteError::Protocol(format!(
                "mktemp printed {dir:?} instead of a directory"
            ))),
            // The guardian ended before printing: report how.
            Err(_) => match guardian.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(exit)) => Err(RemoteError::Protocol(format!(
                    "cannot create a scratch directory on the node ({exit})"
                ))),
                Err(e) => Err(RemoteError::Protocol(e.to_string())),
            },
        }
    }

    /// Closes the guardian's stdin and waits for it to remove the
    /// directory. False when that did not happen in time, or the guardian
    /// was killed outright so that its EXIT trap never ran (the caller then
    /// removes the directory itself).
    pub(super) async fn remove(self) -> bool {
        drop(self.release);
        matches!(
            tokio::time::timeout(REMOVE_TIMEOUT, self.guardian).await,
            Ok(Ok(Ok(RemoteExit::Code(_))))
        )
    }
}

/// Hands over the first line of stdout.
struct FirstLine {
    line: Vec<u8>,
    tx: Option<oneshot::Sender<String>>,
}

impl OutputSink for FirstLine {
    fn stdout(&mut self, chunk: &[u8]) {
        if self.tx.is_none() {
            return;
        }
        self.line.extend_from_slice(chunk);
        if let Some(end) = self.line.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.line[..end]).into_owned();
            if let Some(tx) = self.tx.take() {
                let _ = tx.send(line);
            }
        }
    }

    fn stderr(&mut self, _: &[u8]) {}
}
