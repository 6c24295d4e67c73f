//! A private place for the connection keeper of one test: its own
//! `XDG_RUNTIME_DIR`, so that tests running side by side (all as one user)
//! each get a keeper of their own, and the keeper processes started under
//! it, which are killed when the test ends however it ends.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::eventually::eventually;
use super::ops::OpsCommand;

pub struct KeeperPlace {
    runtime: tempfile::TempDir,
}

impl Default for KeeperPlace {
    fn default() -> Self {
        Self::new()
    }
}

impl KeeperPlace {
    pub fn new() -> KeeperPlace {
        let runtime = tempfile::Builder::new()
            .prefix("ops-runtime-")
            .tempdir()
            .expect("runtime dir");
        fs::set_permissions(runtime.path(), fs::Permissions::from_mode(0o700)).unwrap();
        KeeperPlace { runtime }
    }

    /// The `XDG_RUNTIME_DIR` ops gets.
    pub fn runtime(&self) -> &Path {
        self.runtime.path()
    }

    /// Where the keeper's socket and lock are.
    pub fn dir(&self) -> PathBuf {
        self.runtime.path().join("ops")
    }

    /// `ops` that keeps its connection `persist` long in this place.
    pub fn persist(&self, ops: OpsCommand, persist: &str) -> OpsCommand {
        ops.env("XDG_RUNTIME_DIR", self.runtime())
            .env("OPS_PERSIST", persist)
    }

    /// `ops` that uses this place without asking for persistence itself.
    pub fn within(&self, ops: OpsCommand) -> OpsCommand {
        ops.env("XDG_RUNTIME_DIR", self.runtime())
    }

    /// The keeper processes of this place (any build of ops).
    pub fn pids(&self) -> Vec<i32> {
        let dir = self.dir();
        let dir = dir.to_string_lossy();
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.get(1).map(String::as_str) == Some("__keeper")
                && args.get(2).map(String::as_str) == Some(&*dir)
                && !is_zombie(pid)
            {
                found.push(pid);
            }
        }
        found
    }

    /// What the keepers of this place logged.
    pub fn log(&self) -> String {
        let mut text = String::new();
        for entry in fs::read_dir(self.dir()).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                text.push_str(&fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        text
    }

    /// Waits until no keeper of this place runs.
    #[track_caller]
    pub fn wait_none(&self, within: Duration, what: &str) {
        eventually(within, what, || {
            let pids = self.pids();
            if pids.is_empty() {
                Ok(())
            } else {
                Err(format!("keepers still running: {pids:?}"))
            }
        })
    }
}

fn is_zombie(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X") | None)
}

impl Drop for KeeperPlace {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: a keeper this test started, found by its own
            // directory in its command line.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}
