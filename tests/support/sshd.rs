//! A real OpenSSH server (Debian's `/usr/sbin/sshd`) on 127.0.0.1 with a
//! free port, its own host key, `authorized_keys` and log, running as the
//! current user in the foreground.
//!
//! ```ignore
//! let home = TestHome::new();
//! let sshd = Sshd::builder().authorize(home.user_public_key()).start();
//! home.trust(&sshd);
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually::eventually;
use super::home::{current_user, generate_key};
use super::port::ReservedPort;

pub struct SshdBuilder {
    authorized: Vec<String>,
    extra: Vec<String>,
    host_certificate: Option<(PathBuf, String, Option<String>)>,
}

pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    user: String,
    host_public_key: String,
}

impl SshdBuilder {
    /// Lets the holder of this public key (an `authorized_keys` line) in.
    pub fn authorize(mut self, public_key: &str) -> Self {
        self.authorized.push(public_key.to_owned());
        self
    }

    /// Presents a host certificate for its key, signed with the CA private
    /// key at `ca` for these comma-separated principals (`""`: none, valid
    /// for any host name).
    pub fn host_certificate(mut self, ca: &Path, principals: &str) -> Self {
        self.host_certificate = Some((ca.to_path_buf(), principals.to_owned(), None));
        self
    }

    /// As [`host_certificate`](Self::host_certificate), valid only for
    /// `validity` (`ssh-keygen -V`, e.g. `20200101:20210101`).
    pub fn host_certificate_valid(mut self, ca: &Path, principals: &str, validity: &str) -> Self {
        self.host_certificate = Some((
            ca.to_path_buf(),
            principals.to_owned(),
            Some(validity.to_owned()),
        ));
        self
    }

    /// Any other sshd_config line.
    pub fn config_line(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }

    /// Starts sshd and waits until it listens.
    pub fn start(self) -> Sshd {
        // Root's sshd wants its privilege separation directory.
        let _ = fs::create_dir_all("/run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("ops-sshd-")
            .tempdir()
            .expect("sshd dir");
        let host_key = dir.path().join("host_ed25519");
        let host_public_key = generate_key(&host_key, "ops-test-host");
        let authorized = dir.path().join("authorized_keys");
        fs::write(&authorized, self.authorized.join("\n") + "\n").unwrap();
        // Held until sshd listens on the port, so nobody else takes it.
        let reserved = ReservedPort::new();
        let port = reserved.port();
        let config = dir.path().join("sshd_config");
        let mut text = format!(
            "ListenAddress 127.0.0.1:{port}\n\
             HostKey {host_key}\n\
             AuthorizedKeysFile {authorized}\n\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             LogLevel VERBOSE\n\
             MaxSessions 10\n\
             MaxStartups 100\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\n\
             AllowTcpForwarding yes\n",
            host_key = host_key.display(),
            authorized = authorized.display(),
        );
        if let Some((ca, principals, validity)) = &self.host_certificate {
            let public = host_key.with_extension("pub");
            let validity = validity.as_deref();
            let cert = sign_key_valid(ca, &public, "ops-test-host", principals, true, validity);
            text.push_str(&format!("HostCertificate {}\n", cert.display()));
        }
        for line in &self.extra {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&config, text).unwrap();
        let log = dir.path().join("sshd.log");
        let log_file = fs::File::create(&log).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start /usr/sbin/sshd (package openssh-server)");
        let mut sshd = Sshd {
            dir,
            child,
            port,
            user: current_user(),
            host_public_key,
        };
        sshd.wait_listening();
        sshd
    }
}

impl Sshd {
    pub fn builder() -> SshdBuilder {
        SshdBuilder {
            authorized: Vec::new(),
            extra: Vec::new(),
            host_certificate: None,
        }
    }

    /// An sshd that lets `home`'s user key in, already in `home`'s
    /// known_hosts.
    pub fn trusted_by(home: &super::home::TestHome) -> Sshd {
        let sshd = Sshd::builder().authorize(home.user_public_key()).start();
        home.trust(&sshd);
        sshd
    }

    fn wait_listening(&mut self) {
        eventually(Duration::from_secs(10), "sshd listening", || {
            let log = self.log();
            if log.contains("Server listening on") {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited ({status}):\n{log}");
            }
            Err(log)
        })
    }

    /// The listening sshd's process id (connections are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// `user@127.0.0.1:port`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.port)
    }

    /// `ssh-ed25519 AAAA... comment`.
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// `[127.0.0.1]:port ssh-ed25519 AAAA...`.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_public_key)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Successful logins so far ("Accepted publickey" lines).
    pub fn logins(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }

    /// A scratch directory beside the server, for marker files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ssh-keygen -s ca [-h] -n principals -I id key.pub`: the certificate
/// beside the key, `<key>-cert.pub`.
pub fn sign_key(ca: &Path, public_key: &Path, id: &str, principals: &str, host: bool) -> PathBuf {
    sign_key_valid(ca, public_key, id, principals, host, None)
}

/// [`sign_key`] with an `ssh-keygen -V` validity interval.
pub fn sign_key_valid(
    ca: &Path,
    public_key: &Path,
    id: &str,
    principals: &str,
    host: bool,
    validity: Option<&str>,
) -> PathBuf {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-s"]).arg(ca).args(["-I", id]);
    if let Some(validity) = validity {
        cmd.args(["-V", validity]);
    }
    if host {
        cmd.arg("-h");
    }
    if !principals.is_empty() {
        cmd.args(["-n", principals]);
    }
    let status = cmd.arg(public_key).status().expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen -s failed");
    let name = public_key.file_name().unwrap().to_string_lossy();
    let stem = name.strip_suffix(".pub").unwrap_or(&name);
    public_key.with_file_name(format!("{stem}-cert.pub"))
}
