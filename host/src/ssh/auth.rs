//! Public-key authentication in OpenSSH's order: ssh-agent, then the
//! `IdentityFile`s from ssh_config, then the default key files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::Handle;
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};

use super::error::SshError;
use super::host_config::HostConfig;
use super::passphrase;

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
    if !skip_agent
        // An empty SSH_AUTH_SOCK means no agent, as it does to ssh.
        && std::env::var_os("SSH_AUTH_SOCK").is_some_and(|sock| !sock.is_empty())
        && with_agent(handle, user, rsa_hash, &mut attempts).await
    {
        return Ok(());
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
        attempts.tried.push(path.display().to_string());
        let hash = rsa_hash_for(key.algorithm().clone().is_rsa(), rsa_hash);
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        match handle.authenticate_publickey(user, key).await {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => {}
            Err(err) => {
                return Err(SshError::Protocol {
                    host: host.hostname.clone(),
                    message: err.to_string(),
                })
            }
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

/// Tries the agent's keys; true when one was accepted.
async fn with_agent<H: russh::client::Handler>(
    handle: &mut Handle<H>,
    user: &str,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> bool {
    let mut agent = match AgentClient::connect_env().await {
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
        let AgentIdentity::PublicKey { key, comment } = identity else {
            continue;
        };
        attempts.tried.push(format!("agent key {comment}"));
        let hash = rsa_hash_for(key.algorithm().clone().is_rsa(), rsa_hash);
        match handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
        {
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
