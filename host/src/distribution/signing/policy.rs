//! What a project's signature rules decide for one plugin's bytes: run it
//! (and what to record of its signer in ops.lock), or refuse it before
//! any of it is compiled. A bad signature, a revoked key and a signer
//! other than the locked one are refused whether or not a signature was
//! asked for: each means the bytes are not what was trusted before.

use std::time::SystemTime;

use super::sig::PluginSignature;
use super::trust::TrustStore;
use crate::exit::{Exit, ExitStatusOf};

/// What a project asks of one plugin's signature.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// `signed_by`: one of them must be the signer; empty for
    /// `require_signed` (any trusted signer).
    pub principals: Vec<String>,
    /// The key that asks (`plugins.acme.signed_by`) and where it is
    /// written (`ops.toml:12`).
    pub key: String,
    pub at: String,
}

/// The signer ops.lock recorded for the plugin.
#[derive(Debug, Clone)]
pub struct LockedSigner {
    pub principal: Option<String>,
    pub fingerprint: String,
    /// `ops.lock:7`.
    pub at: String,
}

/// A signature found for the plugin, and where.
#[derive(Debug, Clone)]
pub struct Found {
    pub armored: String,
    pub from: String,
}

/// What the check concluded, when it does not refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Unsigned,
    /// A valid signature; `principal` when a trusted line names its key.
    Signed {
        principal: Option<String>,
        fingerprint: String,
    },
}

/// Why a plugin does not run: `at` is the file and line that asked for
/// the check (or that the signer contradicts), and the message names the
/// plugin and what to do. Kept small: it travels in every `Result`.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct Refusal {
    pub at: String,
    pub message: String,
}

const NOTHING_RAN: &str = "nothing of it was compiled or run";

impl ExitStatusOf for Refusal {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// The facts about one plugin the check needs.
pub struct Subject<'a> {
    pub plugin: &'a str,
    pub bytes: &'a [u8],
    pub found: Option<&'a Found>,
    /// Where a signature was looked for, for the unsigned refusal.
    pub looked: &'a str,
    /// Where the plugin's source is written (`ops.toml:9`): the line a
    /// refusal names when no rule asked for a signature.
    pub source_at: &'a str,
}

/// Checks `subject` against `requirement`, the trust files and the locked
/// signer; `accept` is `--accept-signer` (a fingerprint, or `none`).
pub fn check(
    subject: &Subject<'_>,
    requirement: Option<&Requirement>,
    trust: &TrustStore,
    locked: Option<&LockedSigner>,
    accept: Option<&str>,
) -> Result<Checked, Refusal> {
    let plugin = subject.plugin;
    let checked = match subject.found {
        None => match requirement {
            Some(r) => {
                let key = &r.key;
                return Err(Refusal {
                    at: r.at.clone(),
                    message: format!(
                        "plugin {plugin} has no signature, but {key} requires one (looked for \
                         {}); {NOTHING_RAN}. Get the plugin with its signature from its vendor \
                         (they make it with `ops plugin sign`), or remove {key} to accept it \
                         unsigned",
                        subject.looked
                    ),
                });
            }
            None => Checked::Unsigned,
        },
        Some(found) => verified(subject, found, requirement, trust)?,
    };
    check_rotation(subject.plugin, &checked, locked, accept)?;
    Ok(checked)
}

fn verified(
    subject: &Subject<'_>,
    found: &Found,
    requirement: Option<&Requirement>,
    trust: &TrustStore,
) -> Result<Checked, Refusal> {
    let plugin = subject.plugin;
    let at = requirement.map_or(subject.source_at, |r| r.at.as_str());
    let invalid = |why: String| Refusal {
        at: at.to_owned(),
        message: format!(
            "plugin {plugin}: its signature ({}) is not valid for its bytes: {why}; \
             {NOTHING_RAN}. The plugin or its signature was changed after signing: fetch both \
             again from the vendor, and do not run this copy",
            found.from
        ),
    };
    let sig =
        PluginSignature::parse(&found.armored, &found.from).map_err(|e| invalid(e.to_string()))?;
    sig.verify(subject.bytes)
        .map_err(|e| invalid(e.to_string()))?;
    let key = sig.key();
    let fingerprint = sig.fingerprint();
    if let Some(revoked) = trust.revoked(&key) {
        return Err(Refusal {
            at: format!("{}:{}", revoked.file.display(), revoked.line),
            message: format!(
                "plugin {plugin} is signed by key {fingerprint}, which is revoked there; \
                 {NOTHING_RAN}. Ask the vendor for a release signed with their current key"
            ),
        });
    }
    let lines = trust.trusting(&key, SystemTime::now());
    let principal = match requirement {
        Some(r) if !r.principals.is_empty() => r
            .principals
            .iter()
            .find(|p| lines.iter().any(|l| l.names(p)))
            .cloned(),
        _ => lines.first().and_then(|l| l.principals.first().cloned()),
    };
    if let (Some(r), None) = (requirement, &principal) {
        let (whom, principal) = match r.principals.as_slice() {
            [] => ("for any principal".to_owned(), "PRINCIPAL".to_owned()),
            [one] => (format!("for {one:?}"), one.clone()),
            all @ [first, ..] => (format!("for any of {all:?}"), first.clone()),
        };
        return Err(Refusal {
            at: r.at.clone(),
            message: format!(
                "plugin {plugin} is signed by key {fingerprint}, which no allowed_signers file \
                 trusts {whom} (read: {}); {NOTHING_RAN}. Check the fingerprint with the vendor, \
                 then trust it with `ops plugin trust add {principal} KEY.pub`",
                trust.describe()
            ),
        });
    }
    Ok(Checked::Signed {
        principal,
        fingerprint,
    })
}

fn check_rotation(
    plugin: &str,
    checked: &Checked,
    locked: Option<&LockedSigner>,
    accept: Option<&str>,
) -> Result<(), Refusal> {
    let Some(locked) = locked else {
        return Ok(());
    };
    let (now, accept_value) = match checked {
        Checked::Signed {
            fingerprint,
            principal,
        } if *fingerprint != locked.fingerprint => (
            format!(
                "signed by key {fingerprint}{}",
                principal
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
            fingerprint.clone(),
        ),
        Checked::Signed { .. } => return Ok(()),
        Checked::Unsigned => ("unsigned".to_owned(), "none".to_owned()),
    };
    if accept == Some(accept_value.as_str()) {
        return Ok(());
    }
    let was = locked
        .principal
        .as_ref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    Err(Refusal {
        at: locked.at.clone(),
        message: format!(
            "plugin {plugin} is now {now}, but ops.lock records signer {}{was}; {NOTHING_RAN}. \
             If the vendor rotated its key (check with them), accept the new signer with `ops \
             plugin update {plugin} --accept-signer {accept_value}` and commit ops.lock",
            locked.fingerprint
        ),
    })
}
