//! One build at a time per build path on a node.
//!
//! Two runs syncing into the same `build.path` would check out over each
//! other's build. The lock is an flock(1) held by a [held](crate::remote::hold)
//! remote process for the whole run, so it is released when the run ends,
//! when it is interrupted, and when ops dies or the connection drops: a
//! Ctrl-C or a crash can never leave the path locked. The lock file itself
//! is an empty `.NAME.ops-lock` beside the build directory (outside it, so
//! that neither git nor rsync's `--delete` touch it).

use std::sync::Arc;
use std::time::Duration;

use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::remote::{hold, Held, RemoteCommand, RemoteNode};

/// The remote half. Prints `busy` when another run holds the lock, then
/// `locked` once it holds it, and keeps the lock (fd 9, inherited by
/// `cat`) until its stdin closes.
pub(super) const SCRIPT: &str = r#"command -v flock >/dev/null 2>&1 || { echo no-flock; exec cat >/dev/null; }
dir=$(dirname -- "$1") && name=$(basename -- "$1") && mkdir -p -- "$dir" || exit 1
exec 9>>"$dir/.$name.ops-lock" || exit 1
if ! flock -n 9; then echo busy; flock 9 || exit 1; fi
echo locked
exec cat >/dev/null"#;

/// How long releasing waits for the node to drop the lock.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Held for the run; dropping it releases the lock without waiting.
pub(super) struct BuildLock {
    held: Held,
}

impl BuildLock {
    /// Releases the lock and waits (briefly) until the node has let go.
    pub(super) async fn release(self) {
        let _ = self.held.release(RELEASE_TIMEOUT).await;
    }
}

pub(super) async fn acquire(
    node: &Arc<dyn RemoteNode>,
    path: &str,
    printer: &Printer,
) -> Result<BuildLock, Failure> {
    let command = RemoteCommand::new("sh").args(["-c", SCRIPT, "sh", path]);
    let mut held = hold(node.clone(), command);
    let mut announced = false;
    loop {
        match held.next_line().await.as_deref() {
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
                let detail = match held.ended().await {
                    Ok(exit) => format!("the lock command ended with {exit}"),
                    Err(e) => e.to_string(),
                };
                return Err(Failure::new(
                    Exit::Connection,
                    anyhow::anyhow!("cannot lock {path} on the build node: {detail}"),
                ));
            }
        }
    }
    Ok(BuildLock { held })
}
