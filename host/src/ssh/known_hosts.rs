//! Host key verification: the `host_key` pin from ops.toml, else
//! known_hosts (hashed and `[host]:port` entries, via russh's helpers).
//! Unknown keys are refused unless the user opted in to `accept-new`;
//! changed keys are always refused.

use std::path::PathBuf;

use russh::keys::known_hosts::{known_host_keys_path, learn_known_hosts_path};
use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::error::SshError;
use super::host_config::HostConfig;

/// How one host's key is checked.
#[derive(Debug, Clone)]
pub struct HostKeyPolicy {
    /// `name` or `[name]:port`, as OpenSSH prints it.
    display: String,
    name: String,
    port: u16,
    pin: Option<PublicKey>,
    user_files: Vec<PathBuf>,
    global_files: Vec<PathBuf>,
    accept_new: bool,
}

/// What happened when a key was accepted, for the user to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Pinned,
    Known,
    /// Added to this known_hosts file under `--accept-new-host-key`.
    Learned {
        file: PathBuf,
        fingerprint: String,
    },
}

impl HostKeyPolicy {
    pub fn new(host: &HostConfig, pin: Option<&str>, accept_new: bool) -> Result<Self, SshError> {
        let name = host.known_hosts_name().to_owned();
        let pin = pin.map(parse_public_key).transpose()?;
        Ok(HostKeyPolicy {
            display: display_name(&name, host.port),
            name,
            port: host.port,
            pin,
            user_files: host.user_known_hosts.clone(),
            global_files: host.global_known_hosts.clone(),
            accept_new: accept_new || host.accept_new,
        })
    }

    /// Key algorithms to offer first, so that the server proves the key we
    /// already know rather than another one (as OpenSSH orders them).
    pub fn known_algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = Vec::new();
        let mut push = |a: Algorithm| {
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        };
        if let Some(pin) = &self.pin {
            push(pin.algorithm());
            return algorithms;
        }
        for (_, _, key) in self.recorded() {
            push(key.algorithm());
        }
        algorithms
    }

    fn recorded(&self) -> Vec<(PathBuf, usize, PublicKey)> {
        let mut out = Vec::new();
        for file in self.user_files.iter().chain(&self.global_files) {
            // An unreadable or malformed file vouches for nothing; it cannot
            // make an unknown key trusted, so skipping it is safe.
            if let Ok(keys) = known_host_keys_path(&self.name, self.port, file) {
                out.extend(
                    keys.into_iter()
                        .map(|(line, key)| (file.clone(), line, key)),
                );
            }
        }
        out
    }

    /// Decides about the key the server proved it holds.
    pub fn verify(&self, key: &PublicKey) -> Result<Accepted, SshError> {
        let fingerprint = fingerprint(key);
        let algorithm = key.algorithm().as_str().to_owned();
        if let Some(pin) = &self.pin {
            if same_key(pin, key) {
                return Ok(Accepted::Pinned);
            }
            return Err(SshError::HostKeyMismatch {
                host: self.display.clone(),
                algorithm,
                fingerprint,
                recorded_in: format!("the host_key pinned in ops.toml ({})", fingerprint_of(pin)),
                fix: "update host_key in ops.toml".into(),
            });
        }
        let recorded = self.recorded();
        if recorded.iter().any(|(_, _, k)| same_key(k, key)) {
            return Ok(Accepted::Known);
        }
        if let Some((file, line, _)) = recorded.first() {
            let fix = format!(
                "remove the old entry with `ssh-keygen -R '{}' -f {}` and connect again with \
                 --accept-new-host-key",
                self.display,
                file.display()
            );
            return Err(SshError::HostKeyMismatch {
                host: self.display.clone(),
                algorithm,
                fingerprint,
                recorded_in: format!("{} line {line}", file.display()),
                fix,
            });
        }
        let target = self
            .user_files
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("~/.ssh/known_hosts"));
        if !self.accept_new {
            return Err(SshError::UnknownHostKey {
                host: self.display.clone(),
                algorithm,
                fingerprint,
                public_key: key.to_openssh().unwrap_or_default(),
                known_hosts: target.display().to_string(),
            });
        }
        learn_known_hosts_path(&self.name, self.port, key, &target).map_err(|err| {
            SshError::KnownHosts {
                path: target.clone(),
                message: err.to_string(),
            }
        })?;
        Ok(Accepted::Learned {
            file: target,
            fingerprint,
        })
    }

    pub fn display(&self) -> &str {
        &self.display
    }
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn fingerprint_of(key: &PublicKey) -> String {
    fingerprint(key)
}

/// `host` for port 22, `[host]:port` otherwise.
pub fn display_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// An OpenSSH public key line (`ssh-ed25519 AAAA... comment`), or just its
/// base64 part.
pub fn parse_public_key(value: &str) -> Result<PublicKey, SshError> {
    let bad = |message: String| SshError::BadPin {
        value: value.to_owned(),
        message,
    };
    let mut parts = value.split_whitespace();
    let first = parts.next().ok_or_else(|| bad("empty".into()))?;
    let base64 = if first.starts_with("AAAA") {
        first
    } else {
        parts
            .next()
            .ok_or_else(|| bad("expected `<type> <base64>`".into()))?
    };
    russh::keys::parse_public_key_base64(base64).map_err(|e| bad(e.to_string()))
}
