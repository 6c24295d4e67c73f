//! ops.lock's pins, checked on a plugin's bytes before anything of it is
//! compiled: the digest recorded for the source (and version requirement)
//! ops.toml names now.

use super::lockfile::LockFile;
use super::project::{display, source_text, updating, LockMode, ProjectError};
use super::ranges::same_origin;
use crate::config::Config;

/// A plugin whose digest is not the one ops.lock pins.
#[derive(Debug, thiserror::Error)]
#[error(
    "{lock}:{line}: plugin {plugin} ({from}) now has sha256 {actual}, but ops.lock pins \
     sha256 {expected} (version {locked_version}); nothing of it was compiled or run. If the \
     change is the one you want, accept it with `ops plugin update {plugin}` and commit ops.lock"
)]
pub struct LockMismatch {
    pub lock: String,
    pub line: usize,
    pub plugin: String,
    /// The source, as ops.toml names it now.
    pub from: String,
    pub actual: String,
    pub expected: String,
    pub locked_version: String,
}

/// Refuses, before anything of it is compiled, a plugin whose bytes are
/// not the ones ops.lock pins (the entry of a source ops.toml no longer
/// names pins nothing: that plugin is pinned anew), and under `--locked`
/// anything that would change ops.lock.
pub(super) fn check_pin(
    config: &Config,
    lock: &LockFile,
    name: &str,
    digest: &str,
    mode: &LockMode,
) -> Result<(), ProjectError> {
    if updating(mode, name) {
        return Ok(());
    }
    let source = source_text(config, name);
    let locked = *mode == LockMode::Locked;
    match lock.get(name) {
        Some(old) if !same_origin(old, config, &source) && locked => {
            Err(ProjectError::WouldChange(format!(
                "{}:{}: plugin {name} is pinned from {:?}, but ops.toml now names {source:?}; it \
             would be pinned anew with sha256 {digest}",
                display(&lock.path),
                old.line,
                old.source
            )))
        }
        Some(old) if !same_origin(old, config, &source) || old.sha256 == digest => Ok(()),
        Some(old) => Err(ProjectError::LockMismatch(Box::new(LockMismatch {
            lock: display(&lock.path),
            line: old.line,
            plugin: name.to_owned(),
            from: source,
            actual: digest.to_owned(),
            expected: old.sha256.clone(),
            locked_version: old.version.clone(),
        }))),
        None if locked => Err(ProjectError::WouldChange(if lock.exists {
            format!(
                "{} has no entry for plugin {name}; it would be added with sha256 {digest}",
                display(&lock.path),
            )
        } else {
            format!(
                "{} does not exist; it would be written with plugin {name} sha256 {digest}",
                display(&lock.path),
            )
        })),
        None => Ok(()),
    }
}
