//! A throwaway `HOME` for the ops client: `.ssh/` with a fresh user key,
//! known_hosts and ssh_config under the test's control.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::ops::OpsCommand;
use super::sshd::Sshd;

pub struct TestHome {
    dir: tempfile::TempDir,
    key: PathBuf,
    public_key: String,
}

/// Generates an unencrypted ed25519 key pair at `path` (and `path.pub`).
pub fn generate_key(path: &Path, comment: &str) -> String {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    fs::read_to_string(path.with_extension("pub"))
        .expect("public key written")
        .trim()
        .to_owned()
}

impl TestHome {
    /// A home whose user key is the default `~/.ssh/id_ed25519`.
    pub fn new() -> TestHome {
        TestHome::build(true)
    }

    /// A home whose user key lives outside `~/.ssh` (for agent and
    /// IdentityFile tests): ops finds no key on its own.
    pub fn with_key_elsewhere() -> TestHome {
        TestHome::build(false)
    }

    fn build(default_key: bool) -> TestHome {
        let dir = tempfile::Builder::new()
            .prefix("ops-home-")
            .tempdir()
            .expect("temp home");
        let ssh = dir.path().join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).unwrap();
        let key = if default_key {
            ssh.join("id_ed25519")
        } else {
            dir.path().join("keys").join("user_key")
        };
        fs::create_dir_all(key.parent().unwrap()).unwrap();
        let public_key = generate_key(&key, "ops-test-user");
        super::warm_components::seed(dir.path());
        TestHome {
            dir,
            key,
            public_key,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.path().join(".ssh")
    }

    pub fn known_hosts_path(&self) -> PathBuf {
        self.ssh_dir().join("known_hosts")
    }

    pub fn user_key_path(&self) -> &Path {
        &self.key
    }

    pub fn user_public_key(&self) -> &str {
        &self.public_key
    }

    /// Records `sshd`'s host key in known_hosts as `[127.0.0.1]:port`.
    pub fn trust(&self, sshd: &Sshd) -> &Self {
        self.append_known_hosts(&sshd.known_hosts_line());
        self
    }

    /// Records `sshd`'s host key in known_hosts, hashed (`ssh-keygen -H`).
    pub fn trust_hashed(&self, sshd: &Sshd) -> &Self {
        self.trust(sshd);
        let status = Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(self.known_hosts_path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen -H failed");
        let _ = fs::remove_file(self.ssh_dir().join("known_hosts.old"));
        assert!(
            self.known_hosts().starts_with("|1|"),
            "known_hosts not hashed"
        );
        self
    }

    pub fn append_known_hosts(&self, line: &str) {
        let mut text = fs::read_to_string(self.known_hosts_path()).unwrap_or_default();
        text.push_str(line);
        text.push('\n');
        fs::write(self.known_hosts_path(), text).unwrap();
    }

    pub fn known_hosts(&self) -> String {
        fs::read_to_string(self.known_hosts_path()).unwrap_or_default()
    }

    pub fn write_ssh_config(&self, text: &str) {
        let path = self.ssh_dir().join("config");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Writes `contents` to `relative` (under the home) and returns its path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.path().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    /// `ops` with this home, run from the home directory.
    pub fn ops(&self) -> OpsCommand {
        OpsCommand::new(self.path())
    }
}

/// The user the tests (and sshd) run as.
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
