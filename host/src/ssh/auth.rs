//! Public-key authentication in OpenSSH's order: ssh-agent (keys and
//! certificates), then the `IdentityFile`s from ssh_config, then the
//! default key files, each with its certificates first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::Handle;
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};

use super::error::SshError;
use super::host_config::HostConfig;
use super::passphrase;
use super::user_cert::certificates_for;

const DEFAULT_KEYS: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// What was tried, for the error when nothing worked.
#[derive(Default)]
struct Attempts {
    tried: Vec<String>,
    problems: Vec<String>,
}

/// Tries every key until the server accepts one.
pub async fn authenticate<H: russh::client::Handler>(
    handle: &mut Handle<H>,
    host: &HostConfig,
    home: &Path,
    agent_socket: Option<&Path>,
) -> Result<(), SshError> {
    let user = host.user.as_str();
    let mut attempts = Attempts::default();
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();

    let skip_agent = host.identities_only && !host.identity_files.is_empty();
    if let (false, Some(socket)) = (skip_agent, agent_socket) {
        if with_agent(handle, user, socket, rsa_hash, &mut attempts).await {
            return Ok(());
        }
    }

    for (path, configured) in key_files(host, home) {
        if !path.exists() {
            if configured {
                attempts
                    .problems
                    .push(format!("IdentityFile {} does not exist", path.display()));
            }
            continue;
        }
        let key = match load_key(&path).await {
            Ok(key) => key,
            Err(problem) => {
                attempts.problems.push(problem);
                continue;
            }
        };
        if with_key_file(handle, host, &path, key, rsa_hash, &mut attempts).await? {
            return Ok(());
        }
    }

    Err(SshError::Auth {
        user: user.to_owned(),
        host: host.hostname.clone(),
        tried: if attempts.tried.is_empty() {
            "no keys found".into()
        } else {
            attempts.tried.join(", ")
        },
        problems: attempts
            .problems
            .iter()
            .map(|p| format!("\n  note: {p}"))
            .collect::<String>(),
    })
}

/// Tries the certificates for a key file's key, then the key itself; true
/// when one was accepted. Certificates go first: a server that trusts the
/// CA usually has no authorized_keys line for the bare key.
async fn with_key_file<H: russh::client::Handler>(
    handle: &mut Handle<H>,
    host: &HostConfig,
    path: &Path,
    key: PrivateKey,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> Result<bool, SshError> {
    let protocol = |err: russh::Error| SshError::Protocol {
        host: host.hostname.clone(),
        message: err.to_string(),
    };
    let user = host.user.as_str();
    let key = Arc::new(key);
    let certs = certificates_for(
        key.public_key(),
        path,
        &host.certificate_files,
        &mut attempts.problems,
    );
    for (cert_path, cert) in certs {
        attempts
            .tried
            .push(format!("certificate {}", cert_path.display()));
        let result = handle
            .authenticate_openssh_cert(user, key.clone(), cert)
            .await
            .map_err(protocol)?;
        if result.success() {
            return Ok(true);
        }
    }
    attempts.tried.push(path.display().to_string());
    let hash = rsa_hash_for(key.algorithm().is_rsa(), rsa_hash);
    let result = handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(protocol)?;
    Ok(result.success())
}

/// Tries the agent's keys; true when one was accepted.
async fn with_agent<H: russh::client::Handler>(
    handle: &mut Handle<H>,
    user: &str,
    socket: &Path,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> bool {
    let mut agent = match AgentClient::connect_uds(socket).await {
        Ok(agent) => agent,
        Err(err) => {
            attempts.problems.push(format!("ssh-agent: {err}"));
            return false;
        }
    };
    let identities = match agent.request_identities().await {
        Ok(identities) => identities,
        Err(err) => {
            attempts.problems.push(format!("ssh-agent: {err}"));
            return false;
        }
    };
    for identity in identities {
        let result = match identity {
            AgentIdentity::PublicKey { key, comment } => {
                attempts.tried.push(format!("agent key {comment}"));
                let hash = rsa_hash_for(key.algorithm().is_rsa(), rsa_hash);
                handle
                    .authenticate_publickey_with(user, key, hash, &mut agent)
                    .await
            }
            // Certificates the agent holds (`ssh-add` loads the -cert.pub
            // beside a key), signed for by the agent.
            AgentIdentity::Certificate {
                certificate,
                comment,
            } => {
                attempts.tried.push(format!("agent certificate {comment}"));
                let hash = rsa_hash_for(certificate.algorithm().is_rsa(), rsa_hash);
                handle
                    .authenticate_certificate_with(user, certificate, hash, &mut agent)
                    .await
            }
        };
        match result {
            Ok(result) if result.success() => return true,
            Ok(_) => {}
            Err(err) => attempts.problems.push(format!("ssh-agent: {err}")),
        }
    }
    false
}

/// The key files to try, in order: the configured `IdentityFile`s (true),
/// then the default keys (false) unless `IdentitiesOnly` says not to.
fn key_files(host: &HostConfig, home: &Path) -> Vec<(PathBuf, bool)> {
    let mut files: Vec<(PathBuf, bool)> = host
        .identity_files
        .iter()
        .map(|p| (p.clone(), true))
        .collect();
    if !host.identities_only || host.identity_files.is_empty() {
        for name in DEFAULT_KEYS {
            let path = home.join(".ssh").join(name);
            if !files.iter().any(|(p, _)| p == &path) {
                files.push((path, false));
            }
        }
    }
    files
}

fn rsa_hash_for(is_rsa: bool, best: Option<HashAlg>) -> Option<HashAlg> {
    if is_rsa {
        best
    } else {
        None
    }
}

/// Loads a private key, asking for its passphrase on the terminal when it
/// is encrypted. Returns a message for the user when it cannot be used.
async fn load_key(path: &Path) -> Result<PrivateKey, String> {
    crate::local_file::check_local_file(path, crate::local_file::MAX_TEXT_FILE)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let prompt_path = path.to_path_buf();
            let passphrase = tokio::task::spawn_blocking(move || passphrase::ask(&prompt_path))
                .await
                .map_err(|e| e.to_string())?;
            let Some(passphrase) = passphrase else {
                return Err(format!(
                    "{} is encrypted and there is no terminal to ask for its passphrase; \
                     add it to ssh-agent with `ssh-add {}`",
                    path.display(),
                    path.display()
                ));
            };
            russh::keys::load_secret_key(path, Some(&passphrase))
                .map_err(|err| format!("cannot decrypt {}: {err}", path.display()))
        }
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}
