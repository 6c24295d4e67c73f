//! A real `ssh-agent` on a private socket, with keys added by `ssh-add`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually::wait_until;

pub struct SshAgent {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    child: Child,
}

impl SshAgent {
    pub fn start() -> SshAgent {
        let dir = tempfile::Builder::new()
            .prefix("ops-agent-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        wait_until(
            Duration::from_secs(10),
            "the ssh-agent socket appearing",
            || socket.exists(),
        );
        SshAgent {
            _dir: dir,
            socket,
            child,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn add(&self, key: &Path) {
        let status = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-add failed");
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
