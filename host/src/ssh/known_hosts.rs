//! Host key verification: the `host_key` pin from ops.toml, else
//! known_hosts as OpenSSH reads it ([`hostfile`](super::hostfile)): host
//! keys, `@cert-authority` CAs whose host certificates are trusted, and
//! `@revoked` keys that nothing can make trusted. Unknown keys are refused
//! unless the user opted in to `accept-new`; changed keys are always
//! refused.

use std::path::PathBuf;

use russh::keys::known_hosts::learn_known_hosts_path;
use russh::keys::{Algorithm, Certificate, EcdsaCurve, HashAlg, PublicKey};

use super::error::SshError;
use super::host_cert;
use super::host_config::HostConfig;
use super::hostfile::{self, Entry, Marker};

/// How one host's key is checked.
#[derive(Debug, Clone)]
pub struct HostKeyPolicy {
    /// `name` or `[name]:port`, as OpenSSH prints it.
    display: String,
    /// What known_hosts lines are matched against: `HostKeyAlias` as is,
    /// else `host` or `[host]:port` (OpenSSH's `get_hostfile_hostname`).
    lookup: String,
    /// The name a host certificate must list as a principal: the host name
    /// or `HostKeyAlias`, without port.
    principal: String,
    learn_host: String,
    learn_port: u16,
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
    /// A host certificate signed by a CA from this known_hosts line.
    Certified {
        file: PathBuf,
        line: usize,
    },
    /// Added to this known_hosts file under `--accept-new-host-key`.
    Learned {
        file: PathBuf,
        fingerprint: String,
    },
}

impl HostKeyPolicy {
    pub fn new(host: &HostConfig, pin: Option<&str>, accept_new: bool) -> Result<Self, SshError> {
        let pin = pin.map(parse_public_key).transpose()?;
        let (lookup, learn_host, learn_port) = match &host.host_key_alias {
            Some(alias) => (alias.to_ascii_lowercase(), alias.to_ascii_lowercase(), 22),
            None => (
                hostfile::lookup_name(&host.hostname, host.port),
                host.hostname.to_ascii_lowercase(),
                host.port,
            ),
        };
        Ok(HostKeyPolicy {
            display: display_name(host.known_hosts_name(), host.port),
            lookup,
            principal: host.known_hosts_name().to_ascii_lowercase(),
            learn_host,
            learn_port,
            pin,
            user_files: host.user_known_hosts.clone(),
            global_files: host.global_known_hosts.clone(),
            accept_new: accept_new || host.accept_new,
        })
    }

    fn entries(&self) -> Vec<Entry> {
        let files: Vec<PathBuf> = self
            .user_files
            .iter()
            .chain(&self.global_files)
            .cloned()
            .collect();
        hostfile::matching(&self.lookup, &files)
    }

    /// Key algorithms to offer first, so that the server proves the key we
    /// already know rather than another one (as OpenSSH orders them).
    pub fn known_algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = Vec::new();
        let keys: Vec<PublicKey> = match &self.pin {
            Some(pin) => vec![pin.clone()],
            None => self
                .entries()
                .into_iter()
                .filter(|e| e.marker == Marker::Key)
                .map(|e| e.key)
                .collect(),
        };
        for key in keys {
            if !algorithms.contains(&key.algorithm()) {
                algorithms.push(key.algorithm());
            }
        }
        algorithms
    }

    /// Host key algorithms whose certificate variants to offer (ahead of
    /// plain keys): all of them when a `@cert-authority` line covers this
    /// host, since the CA may sign a host key of any type; none otherwise,
    /// and none with a pin, which names one exact key.
    pub fn certificate_algorithms(&self) -> Vec<Algorithm> {
        let has_ca = self.pin.is_none()
            && self
                .entries()
                .iter()
                .any(|e| e.marker == Marker::CertAuthority);
        if !has_ca {
            return Vec::new();
        }
        vec![
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521,
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ]
    }

    /// Decides about a host certificate. As in OpenSSH, a revoked key or CA
    /// refuses it outright; a certificate from a listed CA must pass every
    /// check; a certificate no listed CA signed is treated as the plain key
    /// inside it.
    pub fn verify_certificate(&self, cert: &Certificate) -> Result<Accepted, SshError> {
        let key = PublicKey::new(cert.public_key().clone(), "");
        if self.pin.is_some() {
            return self.verify(&key);
        }
        let entries = self.entries();
        let ca_key = PublicKey::new(cert.signature_key().clone(), "");
        if let Some(revoked) = entries
            .iter()
            .find(|e| e.marker == Marker::Revoked && same_key(&e.key, &ca_key))
        {
            return Err(self.revoked(&ca_key, revoked, "certificate authority"));
        }
        self.refuse_revoked(&key, &entries)?;
        let signer = entries
            .iter()
            .find(|e| e.marker == Marker::CertAuthority && same_key(&e.key, &ca_key));
        let Some(signer) = signer else {
            return self.verify_plain(&key, &entries);
        };
        match host_cert::check(cert, &signer.key, &self.principal) {
            Ok(()) => Ok(Accepted::Certified {
                file: signer.file.clone(),
                line: signer.line,
            }),
            // A host key recorded as such still works (OpenSSH retries with
            // the plain key); otherwise the certificate's flaw is the
            // answer, and the key is not learned on top of a bad
            // certificate, so the plain check (which may learn) is not
            // run.
            Err(reason) => {
                let recorded = entries
                    .iter()
                    .any(|e| e.marker == Marker::Key && same_key(&e.key, &key));
                if recorded {
                    return Ok(Accepted::Known);
                }
                Err(SshError::HostCertificate {
                    host: self.display.clone(),
                    reason,
                    ca: format!("{} line {}", signer.file.display(), signer.line),
                })
            }
        }
    }

    /// Decides about the key the server proved it holds.
    pub fn verify(&self, key: &PublicKey) -> Result<Accepted, SshError> {
        if let Some(pin) = &self.pin {
            if same_key(pin, key) {
                return Ok(Accepted::Pinned);
            }
            return Err(SshError::HostKeyMismatch {
                host: self.display.clone(),
                algorithm: key.algorithm().as_str().to_owned(),
                fingerprint: fingerprint(key),
                recorded_in: format!("the host_key pinned in ops.toml ({})", fingerprint(pin)),
                fix: "update host_key in ops.toml".into(),
            });
        }
        let entries = self.entries();
        self.refuse_revoked(key, &entries)?;
        self.verify_plain(key, &entries)
    }

    fn refuse_revoked(&self, key: &PublicKey, entries: &[Entry]) -> Result<(), SshError> {
        match entries
            .iter()
            .find(|e| e.marker == Marker::Revoked && same_key(&e.key, key))
        {
            Some(revoked) => Err(self.revoked(key, revoked, "host key")),
            None => Ok(()),
        }
    }

    fn revoked(&self, key: &PublicKey, entry: &Entry, what: &str) -> SshError {
        SshError::HostKeyRevoked {
            host: self.display.clone(),
            what: what.to_owned(),
            fingerprint: fingerprint(key),
            revoked_in: format!("{} line {}", entry.file.display(), entry.line),
        }
    }

    fn verify_plain(&self, key: &PublicKey, entries: &[Entry]) -> Result<Accepted, SshError> {
        let fingerprint = fingerprint(key);
        let algorithm = key.algorithm().as_str().to_owned();
        let mut recorded = entries.iter().filter(|e| e.marker == Marker::Key);
        if recorded.clone().any(|e| same_key(&e.key, key)) {
            return Ok(Accepted::Known);
        }
        if let Some(old) = recorded.next() {
            let fix = format!(
                "remove the old entry with `ssh-keygen -R '{}' -f {}` and connect again with \
                 --accept-new-host-key",
                self.display,
                old.file.display()
            );
            return Err(SshError::HostKeyMismatch {
                host: self.display.clone(),
                algorithm,
                fingerprint,
                recorded_in: format!("{} line {}", old.file.display(), old.line),
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
        learn_known_hosts_path(&self.learn_host, self.learn_port, key, &target).map_err(|err| {
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
}

/// Whether the user's own known_hosts files (after ssh_config's
/// `HostName`, `Port`, `HostKeyAlias` and `UserKnownHostsFile`) record
/// `pin` as `host`'s key: a pin that only ops.toml vouches for is not.
pub fn confirms_pin(host: &HostConfig, pin: &str) -> bool {
    let (Ok(pin), Ok(policy)) = (parse_public_key(pin), HostKeyPolicy::new(host, None, false))
    else {
        return false;
    };
    policy
        .entries()
        .iter()
        .any(|e| e.marker == Marker::Key && same_key(&e.key, &pin))
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
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
