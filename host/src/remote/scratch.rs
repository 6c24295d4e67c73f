//! The run's scratch directories on the node, kept by a guardian.
//!
//! Scratch directories hold credentials (a docker login, a deploy key), so
//! they must go away however the run ends. The guardian is a [held](hold)
//! shell that creates the root directory, prints it, and removes it when
//! released or signalled, or when the session ends under it. Its cleanup
//! ignores the signals that end a run, and so does the `rm` it starts, so
//! that stopping the run's process groups cannot cut the removal short.
//! Where the transport keeps a run directory on the node (`OPS_RUN_DIR`,
//! the SSH session's reaper), the guardian also writes its root there, and
//! the reaper removes it after stopping the run: a guardian killed outright
//! (a loaded node, a KILL that came before its cleanup ended) still leaves
//! no credential behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{hold, Held, RemoteCommand, RemoteError, RemoteNode};

/// `$1`: the first directory asked for, made in the same round trip.
const GUARDIAN: &str = r#"umask 077
d=$(mktemp -d "${TMPDIR:-/tmp}/ops.XXXXXXXXXX") || exit 1
r=${OPS_RUN_DIR:-}
[ -n "$r" ] && [ -d "$r" ] && [ -O "$r" ] && [ ! -L "$r" ] && printf '%s\n' "$d" >> "$r/scratch"
trap 'trap "" HUP INT TERM PIPE; rm -rf -- "$d"' EXIT
trap 'exit 1' HUP INT TERM PIPE
[ -z "$1" ] || mkdir -m 700 -- "$d/$1" || exit 1
printf '%s\n' "$d"
cat >/dev/null"#;

/// How long removal may take before falling back to `rm -rf`.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest scratch directory name.
const MAX_NAME: usize = 64;

/// A scratch directory name is one plain path component: 1-64 letters,
/// digits, `-`, `_` or `.`, not starting with `.`.
pub fn validate_scratch_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "scratch directory name {name:?} must be 1-{MAX_NAME} letters, digits, - _ . \
             (not starting with .)"
        ))
    }
}

/// The scratch directory `name` of `owner` (a plugin), as one name for
/// [`ScratchDirs::dir`]: `OWNER.NAME`. Owners never contain `.` (plugin
/// names are letters, digits and `-`), so the first `.` splits the two and
/// no two (owner, name) pairs share a directory; `a-b` + `c` and `a` +
/// `b-c` stay apart.
pub fn scoped_scratch_name(owner: &str, name: &str) -> Result<String, String> {
    if owner.is_empty() || owner.contains('.') {
        return Err(format!(
            "{owner:?} cannot own scratch directories (empty or containing `.`)"
        ));
    }
    let scoped = format!("{owner}.{name}");
    validate_scratch_name(&scoped)?;
    Ok(scoped)
}

/// The scratch directories of one session.
///
/// Once the root exists, a new directory costs no round trip of its own:
/// its path is handed out at once, and the transport makes it (`mkdir -m
/// 700`, if missing) at the start of every command it starts until one of
/// them has run that far ([`ScratchDirs::pending`], [`ScratchDirs::made`]).
/// A directory is only ever used by a command, so it exists by the time
/// any command could use it.
#[derive(Default)]
pub struct ScratchDirs {
    state: tokio::sync::Mutex<State>,
    pending: std::sync::Mutex<Vec<String>>,
}

#[derive(Default)]
struct State {
    root: Option<(String, Held)>,
    dirs: HashMap<String, String>,
}

impl ScratchDirs {
    /// The directory `name` under the run's scratch root, created (with the
    /// root and its guardian) on first use.
    pub async fn dir(&self, node: Arc<dyn RemoteNode>, name: &str) -> Result<String, RemoteError> {
        validate_scratch_name(name).map_err(RemoteError::InvalidRequest)?;
        let mut state = self.state.lock().await;
        if let Some(dir) = state.dirs.get(name) {
            return Ok(dir.clone());
        }
        let dir = match &state.root {
            Some((root, _)) => {
                let dir = format!("{root}/{name}");
                self.pending_dirs().push(dir.clone());
                dir
            }
            None => {
                let (root, guardian) = start_guardian(node.clone(), name).await?;
                state.root = Some((root.clone(), guardian));
                format!("{root}/{name}")
            }
        };
        state.dirs.insert(name.to_owned(), dir.clone());
        Ok(dir)
    }

    /// Starts the root and its guardian ahead of need, so that the first
    /// directory asked for later costs no round trip.
    pub async fn prepare(&self, node: Arc<dyn RemoteNode>) {
        let mut state = self.state.lock().await;
        if state.root.is_none() {
            if let Ok(root) = start_guardian(node, "").await {
                state.root = Some(root);
            }
        }
    }

    fn pending_dirs(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Directories handed out that a command has not made yet.
    pub fn pending(&self) -> Vec<String> {
        self.pending_dirs().clone()
    }

    /// A command that was to make `dirs` has started on the node, past
    /// making them.
    pub fn made(&self, dirs: &[String]) {
        self.pending_dirs().retain(|d| !dirs.contains(d));
    }

    /// Removes every scratch directory: the guardian does it when released;
    /// if it could not (killed outright, a stuck channel), `rm -rf` does.
    pub async fn remove(&self, node: &dyn RemoteNode) {
        let root = {
            let mut state = self.state.lock().await;
            state.dirs.clear();
            self.pending_dirs().clear();
            state.root.take()
        };
        let Some((dir, guardian)) = root else {
            return;
        };
        // However the guardian ended (its stdin closed, or a signal from
        // the session's reaper, which leaves at the same moment), its exit
        // trap removed the directory, and the reaper removes whatever a
        // killed guardian left: only a guardian that never answered gets
        // an `rm` of its own.
        let removed = matches!(guardian.release(REMOVE_TIMEOUT).await, Some(Ok(_)));
        if !removed {
            let _ = node
                .capture(&RemoteCommand::new("rm").args(["-rf", "--", &dir]))
                .await;
        }
    }
}

async fn start_guardian(
    node: Arc<dyn RemoteNode>,
    first: &str,
) -> Result<(String, Held), RemoteError> {
    let mut guardian = hold(
        node,
        // Scratch needs no build lock.
        RemoteCommand::new("sh")
            .args(["-c", GUARDIAN, "sh", first])
            .ungated(),
    );
    match guardian.next_line().await {
        Some(dir) if dir.starts_with('/') => Ok((dir, guardian)),
        Some(dir) => Err(RemoteError::Protocol(format!(
            "mktemp printed {dir:?} instead of a directory"
        ))),
        // The guardian ended before printing: report how.
        None => Err(match guardian.ended().await {
            Ok(exit) => RemoteError::Protocol(format!(
                "cannot create a scratch directory on the node ({exit})"
            )),
            Err(e) => e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_names_never_collide() {
        let a = scoped_scratch_name("a-b", "c").unwrap();
        let b = scoped_scratch_name("a", "b-c").unwrap();
        assert_ne!(a, b);
        assert_ne!(
            scoped_scratch_name("a", "b.c").unwrap(),
            scoped_scratch_name("a-b", "c").unwrap()
        );
        assert!(scoped_scratch_name("a.b", "c").is_err());
        assert!(scoped_scratch_name("a", "../x").is_err());
    }

    #[test]
    fn names_are_one_plain_component() {
        for good in ["git-ssh", "docker-docker-config", "a.b_c"] {
            assert!(validate_scratch_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(validate_scratch_name(bad).is_err(), "{bad:?}");
        }
    }
}
