//! One build at a time per build path on a node.
//!
//! Two runs syncing into the same `build.path` would check out over each
//! other's build. The lock is an flock(1) held by a remote process that
//! lives on its own channel for the whole run; it is released when ops
//! drops it, when the run is interrupted (the process group is killed), or
//! when ops dies and sshd closes the session. Nothing is left to clean up by
//! hand, so a Ctrl-C or a crash can never leave the path locked. The lock
//! file itself is an empty `.NAME.ops-lock` beside the build directory
//! (outside it, so that neither git nor rsync's `--delete` touch it).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::exit::{Exit, Failure};
use crate::output::{LineSplitter, Printer};
use crate::remote::{OutputSink, RemoteCommand, RemoteError, RemoteExit};
use crate::ssh::{ChannelReader, Session, Stdin};

/// The remote half. Prints `busy` when another run holds the lock, then
/// `locked` once it holds it, and keeps the lock (fd 9, inherited by
/// `cat`) until its stdin closes.
const SCRIPT: &str = r#"command -v flock >/dev/null 2>&1 || { echo no-flock; exec cat >/dev/null; }
dir=$(dirname -- "$1") && name=$(basename -- "$1") && mkdir -p -- "$dir" || exit 1
exec 9>>"$dir/.$name.ops-lock" || exit 1
if ! flock -n 9; then echo busy; flock 9 || exit 1; fi
echo locked
exec cat >/dev/null"#;

/// Held for the run; dropping it releases the lock.
pub struct BuildLock {
    // Closing this is the remote `cat`'s end of file.
    _release: mpsc::Sender<Vec<u8>>,
    _holder: JoinHandle<Result<RemoteExit, RemoteError>>,
}

pub async fn acquire(
    session: &Session,
    path: &str,
    printer: &Arc<Printer>,
) -> Result<BuildLock, Failure> {
    let (release, held_open) = mpsc::channel::<Vec<u8>>(1);
    let (state_tx, mut state_rx) = mpsc::unbounded_channel::<String>();
    let (done_tx, done_rx) = oneshot::channel();
    let command = RemoteCommand::new("sh").args(["-c", SCRIPT, "sh", path]);
    let session = session.clone();
    let holder = tokio::spawn(async move {
        let mut sink = StateLines {
            lines: LineSplitter::default(),
            states: state_tx,
        };
        let result = session
            .run(
                &command,
                Stdin::Stream(Box::new(ChannelReader::new(held_open))),
                &mut sink,
            )
            .await;
        let _ = done_tx.send(());
        result
    });

    let mut announced = false;
    loop {
        match state_rx.recv().await.as_deref() {
            Some("locked") => break,
            Some("busy") if !announced => {
                announced = true;
                printer.info(format!(
                    "waiting for another ops build of {path} on this node to finish..."
                ));
            }
            Some("no-flock") => {
                printer.warn(
                    "flock is not installed on the build node, so concurrent builds of the same \
                     path are not prevented (Debian/Ubuntu: apt-get install util-linux)",
                );
                break;
            }
            Some(_) => {}
            None => {
                let _ = done_rx.await;
                let detail = match holder.await {
                    Ok(Ok(exit)) => format!("the lock command ended with {exit}"),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                return Err(Failure::new(
                    Exit::Connection,
                    anyhow::anyhow!("cannot lock {path} on the build node: {detail}"),
                ));
            }
        }
    }
    Ok(BuildLock {
        _release: release,
        _holder: holder,
    })
}

struct StateLines {
    lines: LineSplitter,
    states: mpsc::UnboundedSender<String>,
}

impl OutputSink for StateLines {
    fn stdout(&mut self, chunk: &[u8]) {
        let states = &self.states;
        self.lines.push(chunk, |line| {
            let _ = states.send(line.trim().to_owned());
        });
    }

    fn stderr(&mut self, _: &[u8]) {}
}
