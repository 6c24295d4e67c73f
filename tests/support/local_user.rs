//! A second local user, for tests of what one user's ops keeps from
//! another on the same machine (made with `useradd`, removed at the end).

use std::process::Command;

use super::registry::random_hex;

/// A second local user, removed when dropped (what it runs has ended by
/// then: `sh` waits for it).
pub struct LocalUser {
    name: String,
}

impl LocalUser {
    pub fn new() -> LocalUser {
        let name = format!("opsx{}", random_hex(4));
        let status = Command::new("useradd")
            .args(["-M", "-N", "-s", "/bin/sh", &name])
            .status()
            .expect("useradd runs");
        assert!(status.success(), "useradd {name} failed");
        LocalUser { name }
    }

    /// Runs `script` with sh as this user; its stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = Command::new("runuser")
            .args(["-u", &self.name, "--", "sh", "-c", script])
            .output()
            .expect("runuser runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for LocalUser {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-u", &self.name])
            .status();
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}
