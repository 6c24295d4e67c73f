//! One build at a time per build path on a node.
//!
//! Two runs syncing into the same `build.path` would check out over each
//! other's build. The lock is an flock(1) held by a [held](crate::remote::hold)
//! remote process for the whole run, so it is released when the run ends,
//! when it is interrupted, and when ops dies or the connection drops: a
//! Ctrl-C or a crash can never leave the path locked. The lock file itself
//! is `.NAME.ops-lock` beside the build directory (outside it, so that
//! neither git nor rsync's `--delete` touch it); it holds one line that says
//! who holds the lock, for whoever has to wait.
//!
//! Other users may share the node's `$TMPDIR` and the build path's parent,
//! so nothing here follows a symlink they could plant: the gate the run's
//! commands wait for is a directory the lock creates itself (`mkdir`, mode
//! 0700) under a name that travels on stdin, never in argv; the lock file
//! is created exclusively, refused when it is a symlink, and written
//! through the descriptor that holds the lock, never reopened by name.

use std::sync::Arc;
use std::time::Duration;

use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::remote::{hold, Held, RemoteCommand, RemoteNode};

/// The remote half. Prints `error WHY` when the gate or the lock file
/// cannot be made, `busy` and the holder's line when another run holds the
/// lock, then `locked` once it holds it (and has written its own line,
/// `$OPS_LOCK_HOLDER`, and opened the gate `$OPS_LOCK_GATE`, which the
/// run's gated commands wait for), or `timeout` after `$2` seconds; keeps
/// the lock (fd 9, inherited by `cat`) until its stdin closes, then
/// removes the gate, signals ignored meanwhile (the session's reaper may
/// stop the process group while the lock is being released: the removal
/// must not be cut short).
pub(super) const SCRIPT: &str = r#"g="${TMPDIR:-/tmp}/ops-gate-$OPS_LOCK_GATE"
mkdir -m 700 -- "$g" 2>/dev/null || { printf 'error cannot create the directory %s\n' "$g"; exit 1; }
trap 'trap "" HUP INT TERM PIPE; rm -rf -- "$g"' EXIT
trap 'exit 1' HUP INT TERM PIPE
command -v flock >/dev/null 2>&1 || { : >"$g/open"; echo no-flock; cat >/dev/null; exit 0; }
dir=$(dirname -- "$1") && name=$(basename -- "$1") || exit 1
mkdir -p -- "$dir" 2>/dev/null || { printf 'error cannot create the directory %s\n' "$dir"; exit 1; }
f="$dir/.$name.ops-lock"
[ -L "$f" ] && { printf 'error %s is a symbolic link, not a lock file\n' "$f"; exit 1; }
[ -e "$f" ] || (set -C; : >"$f") 2>/dev/null
[ -f "$f" ] && [ ! -L "$f" ] && [ -w "$f" ] || { printf 'error cannot write %s\n' "$f"; exit 1; }
exec 9<>"$f" || exit 1
[ ! -L "$f" ] && [ "$f" -ef "/proc/$$/fd/9" ] || { printf 'error %s changed while it was opened\n' "$f"; exit 1; }
if ! flock -n 9; then
  printf 'busy %s\n' "$(head -n 1 "$f")"
  flock -w "$2" 9 || { printf 'timeout %s\n' "$(head -n 1 "$f")"; exit 0; }
fi
printf '%s\n' "$OPS_LOCK_HOLDER" >&9
: >"$g/open" || { printf 'error cannot write %s\n' "$g/open"; exit 1; }
echo locked
cat >/dev/null"#;

/// How long releasing waits for the node to drop the lock.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Who takes the lock, as the line others see while they wait:
/// `user@host pid N since TIME, ref REF: COMMAND LINE`.
pub(super) fn holder_line(git_ref: Option<&str>, command_line: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into());
    let since = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let what = git_ref.map(|r| format!(", ref {r}")).unwrap_or_default();
    let line = format!(
        "{user}@{host} pid {} since {since}{what}: {command_line}",
        std::process::id()
    );
    // One line, whatever the command line held.
    line.replace(['\n', '\r', '\0'], " ")
}

/// The lock, asked for: its command is on its way to the node.
pub(super) struct LockRequest {
    /// `None` once the lock command has ended.
    held: Option<Held>,
    path: String,
    wait: Duration,
    gate: String,
}

/// Sends the request for the lock on `path` without waiting for it. The
/// run's commands can go out in the same round trip, gated on
/// [`LockRequest::marker`]: they start on the node the moment the lock is
/// held, and never while another run holds it.
pub(super) fn request(
    node: &Arc<dyn RemoteNode>,
    path: &str,
    holder: &str,
    wait: Duration,
) -> LockRequest {
    // Unguessable and kept off argv: another user of the node who knew it
    // could make the gate's directory first.
    let gate = crate::text::random_hex(16);
    let command = RemoteCommand::new("sh")
        .args(["-c", SCRIPT, "sh", path, &wait.as_secs().to_string()])
        .env("OPS_LOCK_HOLDER", holder)
        .env("OPS_LOCK_GATE", &gate)
        .ungated();
    LockRequest {
        held: Some(hold(node.clone(), command)),
        path: path.to_owned(),
        wait,
        gate,
    }
}

impl LockRequest {
    /// The name of the gate the run's commands wait for
    /// ([`RemoteNode::set_gate`]).
    pub(super) fn marker(&self) -> &str {
        &self.gate
    }

    /// Waits until the node holds the lock (saying so if another run has
    /// it), or fails when it cannot be had.
    pub(super) async fn locked(&mut self, printer: &Printer) -> Result<(), Failure> {
        let (path, wait) = (self.path.as_str(), self.wait);
        if let Some(held) = self.held.as_mut() {
            let mut announced = false;
            while let Some(line) = held.next_line().await {
                match line.split_once(' ').unwrap_or((&line, "")) {
                    ("locked", _) => return Ok(()),
                    ("busy", by) if !announced => {
                        announced = true;
                        printer.info(format!(
                            "waiting for another ops build of {path} on this node to finish \
                             (held by {}; at most {})...",
                            known(by),
                            humantime::format_duration(wait)
                        ));
                    }
                    ("timeout", by) => {
                        return Err(Failure::new(
                            Exit::Sync,
                            anyhow::anyhow!(
                                "{path} on the build node is still locked by another ops build \
                                 after {} (held by {}); try again later or raise --lock-wait",
                                humantime::format_duration(wait),
                                known(by)
                            ),
                        ));
                    }
                    ("error", why) => {
                        return Err(Failure::new(
                            Exit::Sync,
                            anyhow::anyhow!("cannot lock {path} on the build node: {why}"),
                        ));
                    }
                    ("no-flock", _) => {
                        printer.warn(
                            "flock is not installed on the build node, so concurrent builds of \
                             the same path are not prevented (Debian/Ubuntu: apt-get install \
                             util-linux)",
                        );
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
        // The lock command ended without the lock.
        let detail = match self.held.take() {
            Some(held) => match held.ended().await {
                Ok(exit) => format!("the lock command ended with {exit}"),
                Err(e) => e.to_string(),
            },
            None => "the lock command ended".to_owned(),
        };
        Err(Failure::new(
            Exit::Connection,
            anyhow::anyhow!("cannot lock {path} on the build node: {detail}"),
        ))
    }

    /// Releases the lock and waits (briefly) until the node has let go.
    pub(super) async fn release(self) {
        if let Some(held) = self.held {
            let _ = held.release(RELEASE_TIMEOUT).await;
        }
    }
}

fn known(holder: &str) -> &str {
    if holder.trim().is_empty() {
        "a run that recorded nothing"
    } else {
        holder.trim()
    }
}
