//! Which agent the sync step's commands get, decided from the loaded sync
//! plugin: its provenance and what its own config asks for.
//!
//! API 0.3.0 has no capability a plugin could declare for an agent, so a
//! plugin that is not built in never gets one, whatever ssh_config says.
//! The built-in git plugin gets the user's agent when `forward_agent` (or,
//! when that is unset, `ForwardAgent` in ssh_config) asks for it, or, when
//! its config names `ssh_key`, an agent holding that key only, served by
//! ops itself: the key is never written on the node.

use std::path::{Path, PathBuf};

use super::SyncStrategy;
use crate::config::{ConfigError, PluginSection, SectionValue};
use crate::remote::{AgentForwarding, DeployKey};

/// The git sync's key naming a deploy key file, read here and served to
/// the node as an agent.
const SSH_KEY: &str = "ssh_key";
/// The git sync's key asking for the user's own agent.
const FORWARD_AGENT: &str = "forward_agent";

/// `[build.git] ssh_key`: a local file whose key reaches the node (as an
/// agent), for the trust rules.
pub const DEPLOY_KEY_PATH: &str = "build.git.ssh_key";
/// `[build.git] forward_agent`: the user's agent reaches the node, for
/// the trust rules.
pub const FORWARD_AGENT_PATH: &str = "build.git.forward_agent";

/// The largest key file read (an RSA 16384 key is about 12 KiB).
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// The agent `sync`'s commands may have, from its `section`.
pub(crate) fn entitled(
    sync: &SyncStrategy,
    section: &PluginSection,
    project_root: &Path,
) -> Result<AgentForwarding, ConfigError> {
    if !sync.plugin().may_use_agent() {
        return Ok(AgentForwarding::Never);
    }
    if let Some(path) = text(section, SSH_KEY) {
        return deploy_key(section, path, project_root).map(AgentForwarding::DeployKey);
    }
    let forward = section
        .entries
        .iter()
        .find_map(|e| match (&*e.key, &e.value) {
            (FORWARD_AGENT, SectionValue::Boolean(b)) => Some(*b),
            _ => None,
        });
    Ok(AgentForwarding::Sync(forward))
}

fn text<'a>(section: &'a PluginSection, key: &str) -> Option<&'a str> {
    section
        .entries
        .iter()
        .find_map(|e| match (&*e.key, &e.value) {
            (k, SectionValue::Text(s) | SectionValue::Secret(s)) if k == key => Some(s.as_str()),
            _ => None,
        })
}

/// Reads and decodes the key at `path` (`~/` is the local home, a relative
/// path starts at the project, as the plugin's own `local.read-file`).
fn deploy_key(
    section: &PluginSection,
    path: &str,
    project_root: &Path,
) -> Result<DeployKey, ConfigError> {
    let key = format!("{}.{SSH_KEY}", section.path);
    let invalid = |message: String| {
        ConfigError::invalid(section.location_of(SSH_KEY).clone(), key.as_str(), message)
    };
    let full = expand(path, project_root).map_err(&invalid)?;
    let text =
        read_bounded(&full).map_err(|e| invalid(format!("cannot read {}: {e}", full.display())))?;
    match russh::keys::decode_secret_key(&text, None) {
        Ok(private) => Ok(DeployKey::new(private)),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(invalid(format!(
            "{} is protected by a passphrase; ops serves the deploy key to git on the node \
             without asking for one: use a key without a passphrase, or add it to your \
             ssh-agent and set forward_agent = true instead of ssh_key",
            full.display()
        ))),
        Err(e) => Err(invalid(format!(
            "{} is not an OpenSSH private key ({e})",
            full.display()
        ))),
    }
}

fn expand(path: &str, root: &Path) -> Result<PathBuf, String> {
    if let Some(rest) = path.strip_prefix("~/") {
        let home = std::env::var_os("HOME").ok_or("cannot expand ~: HOME is not set")?;
        return Ok(PathBuf::from(home).join(rest));
    }
    let p = PathBuf::from(path);
    Ok(if p.is_absolute() { p } else { root.join(p) })
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    file.take(MAX_KEY_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_KEY_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(text)
}
