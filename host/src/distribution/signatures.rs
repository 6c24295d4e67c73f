//! A project's signature rules (`[plugins] require_signed`, `signers`,
//! `[plugins.<name>] signed_by`) applied to the plugins it uses, with the
//! signers ops.lock recorded; on the bytes, before anything is compiled.

use std::collections::BTreeMap;

use super::lockfile::LockFile;
use super::project::{LockMode, ProjectError, Use};
use super::registry::Registry;
use super::signing::{
    self, Checked, Found, LockedSigner, PluginSignature, Requirement, Subject, TrustFile,
    TrustStore,
};
use crate::config::Config;
use crate::plugin::PluginSource;

/// What the check found for each plugin that is not built in, by name.
pub(super) async fn check_all(
    registry: &Registry,
    config: &Config,
    lock: &LockFile,
    uses: &[Use],
    mode: &LockMode,
) -> Result<BTreeMap<String, Checked>, ProjectError> {
    let mut trust: Option<TrustStore> = None;
    let nobody = TrustStore::default();
    let mut out = BTreeMap::new();
    for use_ in uses {
        let name = use_.name.as_str();
        if out.contains_key(name) || registry.source_of(name) == Some(&PluginSource::Builtin) {
            continue;
        }
        let bytes = registry.bytes(name).await?;
        let locked = lock.get(name).and_then(|e| {
            Some(LockedSigner {
                principal: e.signer.clone(),
                fingerprint: e.signer_key.clone()?,
                at: format!("{}:{}", lock.path.display(), e.line),
            })
        });
        let (found, looked) = registry.signature(name).await?;
        let found = pick(found, locked.as_ref());
        let requirement = requirement(config, name);
        // The trust files are read once, and only when something needs
        // them: a broken file nobody asks about stops nothing.
        if trust.is_none() && (found.is_some() || requirement.is_some()) {
            trust = Some(load_trust(config)?);
        }
        let trust = trust.as_ref().unwrap_or(&nobody);
        let decl = config.plugins.iter().find(|p| p.name == name);
        let source_at = decl.map_or_else(
            || config.file.display().to_string(),
            |d| d.source_location.to_string(),
        );
        let subject = Subject {
            plugin: name,
            bytes: &bytes,
            found: found.as_ref(),
            looked: &looked,
            source_at: &source_at,
        };
        let checked = signing::check(
            &subject,
            requirement.as_ref(),
            trust,
            locked.as_ref(),
            accepted(mode, name),
        )?;
        out.insert(name.to_owned(), checked);
    }
    Ok(out)
}

/// Of several signatures (an OCI plugin may have a referrer per signing),
/// the one by the locked signer, else the newest.
fn pick(mut found: Vec<Found>, locked: Option<&LockedSigner>) -> Option<Found> {
    let by_locked = locked.and_then(|l| {
        found.iter().position(|f| {
            PluginSignature::parse(&f.armored, &f.from)
                .is_ok_and(|s| s.fingerprint() == l.fingerprint)
        })
    });
    match by_locked {
        Some(i) => Some(found.swap_remove(i)),
        None => found.pop(),
    }
}

/// The trust files of this project and user, read.
pub(super) fn load_trust(config: &Config) -> Result<TrustStore, ProjectError> {
    let env = |name: &str| std::env::var(name).ok();
    let project = config
        .plugin_rules
        .signers
        .as_ref()
        .map(|s| s.value.as_path());
    Ok(TrustStore::load(TrustFile::all(project, &env))?)
}

fn requirement(config: &Config, name: &str) -> Option<Requirement> {
    let decl = config.plugins.iter().find(|p| p.name == name);
    if let Some(signed_by) = decl.and_then(|d| d.signed_by.as_ref()) {
        return Some(Requirement {
            principals: signed_by.value.clone(),
            key: format!("plugins.{name}.signed_by"),
            at: signed_by.at.to_string(),
        });
    }
    config
        .plugin_rules
        .require_signed
        .as_ref()
        .map(|at| Requirement {
            principals: Vec::new(),
            key: "plugins.require_signed".into(),
            at: at.to_string(),
        })
}

fn accepted<'m>(mode: &'m LockMode, name: &str) -> Option<&'m str> {
    match mode {
        LockMode::Update {
            only,
            accept_signer: Some(fingerprint),
            ..
        } if only.as_deref().is_none_or(|o| o == name) => Some(fingerprint.as_str()),
        _ => None,
    }
}
