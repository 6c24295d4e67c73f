//! `ops plugin update [NAME]`: resolves the plugins the project uses again
//! and rewrites their ops.lock entries, which is how a new version of a
//! plugin is accepted deliberately. A new version that declares more than
//! its grant covers is refused here as it is by `ops build`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::distribution::lockfile::LockFile;
use crate::distribution::project::{self, LockChange, LockMode};
use crate::distribution::Registry;
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::plugin::{Limits, Runtime};

use crate::pipeline::{BuildJob, BuildSettings};

/// What `ops plugin update` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginUpdateSettings {
    /// `-f`: the config file; ops.lock is beside it.
    pub config_file: PathBuf,
    /// Only this plugin's entry.
    pub name: Option<String>,
    /// `--accept-signer FINGERPRINT`: the new signer of `name` to accept.
    pub accept_signer: Option<String>,
    /// `--precise VERSION`: the version `name` (picked by a range) moves to.
    pub precise: Option<String>,
}

pub async fn run(settings: PluginUpdateSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    let (name, accept_signer, precise) = (settings.name, settings.accept_signer, settings.precise);
    // The plugins `ops build` with the command line's defaults would use.
    let settings = BuildSettings::defaults(settings.config_file);
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let job = BuildJob::new(&config, &settings)?;
    let uses = crate::pipeline::plugin_uses(&job);
    let runtime = Runtime::new(Limits::from_env())?;
    let mut registry = Registry::new(&runtime, &config.plugins)?;
    if let Some(name) = &name {
        if !uses.iter().any(|u| &u.name == name) {
            let used: Vec<&str> = uses.iter().map(|u| u.name.as_str()).collect();
            return Err(ConfigError::invalid(
                config.build_location(),
                "build",
                format!(
                    "this project does not use a plugin named `{name}` (it uses {})",
                    used.join(", ")
                ),
            )
            .into());
        }
    }
    let mode = LockMode::Update {
        only: name,
        accept_signer,
        precise,
    };
    let (_, changes) = project::resolve(&mut registry, &config, &uses, &mode).await?;
    for (name, version) in registry.newer_in_range() {
        printer.info(format!(
            "{name}: {version} is the newest release within its range"
        ));
    }
    let lock = LockFile::beside(&config.file);
    if changes.is_empty() {
        printer.info(format!("{}: up to date", lock.display()));
        return Ok(Exit::Success);
    }
    for change in changes {
        let new = &change.new;
        let signer = match (&new.signer_key, &new.signer) {
            (Some(key), Some(principal)) => format!(", signed by {principal} ({key})"),
            (Some(key), None) => format!(", signed by untrusted key {key}"),
            _ => String::new(),
        };
        printer.info(match &change.old {
            Some(old) => format!(
                "{}: {} -> {} (sha256 {} -> {}){signer}",
                new.name, old.version, new.version, old.sha256, new.sha256
            ),
            None => format!(
                "{}: added {} (sha256 {}){signer}",
                new.name, new.version, new.sha256
            ),
        });
        new_capabilities(&printer, &change);
    }
    printer.info(format!("{} updated; commit it", lock.display()));
    Ok(Exit::Success)
}

/// Capabilities the new version declares that the old one did not: they
/// are granted (else the update was refused), but worth a look.
fn new_capabilities(printer: &Printer, change: &LockChange) {
    let Some(old) = &change.old else { return };
    let new: Vec<&str> = change
        .new
        .capabilities
        .iter()
        .filter(|c| !old.capabilities.contains(c))
        .map(String::as_str)
        .collect();
    if !new.is_empty() {
        printer.info(format!(
            "{}: new capabilities since {}: {} (granted in ops.toml)",
            change.new.name,
            old.version,
            new.join(", ")
        ));
    }
}
