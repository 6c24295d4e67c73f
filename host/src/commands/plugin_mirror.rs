//! `ops plugin mirror oci://HOST[:PORT][/PREFIX]`: copies every `oci`
//! plugin ops.lock pins, with its signatures, to a mirror registry, under
//! the same repository paths, so that a project with `[plugins] mirror`
//! (or `OPS_PLUGIN_MIRROR`) runs where the vendors' registries cannot be
//! reached, with the same ops.lock.

use std::path::PathBuf;

use crate::config::check_mirror;
use crate::distribution::lockfile::LockFile;
use crate::distribution::mirror;
use crate::distribution::project::ProjectError;
use crate::exit::{Exit, ExitStatusOf, Failure};
use crate::output::Printer;

/// What `ops plugin mirror` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginMirrorSettings {
    /// `-f`: the config file; ops.lock is beside it.
    pub config_file: PathBuf,
    /// `oci://host[:port][/prefix]`.
    pub target: String,
}

pub async fn run(settings: PluginMirrorSettings, printer: &Printer) -> Result<Exit, Failure> {
    let target = &settings.target;
    let checked = if target.starts_with("oci://") {
        check_mirror(target)
    } else if target.starts_with('/') || target.starts_with('.') {
        Ok(())
    } else {
        Err(format!(
            "{target:?} is neither a registry nor a folder; expected \
             oci://HOST[:PORT][/PREFIX], or a path (./folder, /folder) for an OCI image layout"
        ))
    };
    if let Err(message) = checked {
        return Err(Failure::new(
            Exit::Usage,
            anyhow::anyhow!("ops plugin mirror: {message}"),
        ));
    }
    let lock =
        LockFile::read(&LockFile::beside(&settings.config_file)).map_err(ProjectError::from)?;
    if !lock.exists || lock.entries().is_empty() {
        printer.info(format!(
            "{}: no plugins are locked; run `ops build` or `ops plugin update` first",
            lock.path.display()
        ));
        return Ok(Exit::Usage);
    }
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let target = settings.target.clone();
    let copied = tokio::task::spawn_blocking(move || mirror::copy_locked(&lock, &target, &created))
        .await
        .map_err(|e| Failure::new(Exit::Internal, anyhow::anyhow!("mirror task failed: {e}")))?;
    let (copied, skipped) = copied.map_err(|e| Failure::new(e.exit(), e))?;
    for m in &copied {
        printer.info(format!(
            "mirrored {} {} to {} ({}, {} signature{})",
            m.name,
            m.version,
            m.to,
            m.manifest,
            m.signatures,
            if m.signatures == 1 { "" } else { "s" }
        ));
    }
    for name in &skipped {
        printer.info(format!("{name}: not from an oci:// registry; not mirrored"));
    }
    Ok(Exit::Success)
}
