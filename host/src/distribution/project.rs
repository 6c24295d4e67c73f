//! The plugins one project uses: each name resolved (built-in, declared in
//! `[plugins.<name>]`, or installed in the user's store), loaded, checked
//! for its kind, stopped if it declares capabilities it was not granted,
//! and checked against ops.lock (which records it on first use). The pins
//! are checked on the bytes, before anything is compiled; all of this
//! happens before anything remote.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::lockfile::{LockEntry, LockError, LockFile, Ranged};
use super::ranges::same_origin;
use super::registry::Registry;
use super::signing::Checked;
use crate::config::{Config, ConfigError, Location};
use crate::exit::{Exit, ExitStatusOf};
use crate::plugin::{grant_items, Grants, Kind, Plugin, PluginError, PluginSource, BUILTINS};

/// What a project uses a plugin for, and the key that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub name: String,
    pub kind: Kind,
    /// `build.source`, `build.image.plugin`, `build.image.auth`.
    pub key: String,
    /// Where the key is written, or the header of the section that leaves
    /// it to its default.
    pub at: Location,
}

/// What to do with ops.lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockMode {
    /// Check every entry; add the missing ones and write the file.
    Write,
    /// Check every entry; write nothing (`--dry-run`, `ops config check`).
    Check,
    /// `--locked`: refuse anything that would change the file.
    Locked,
    /// `ops plugin update [NAME]`: take the plugins as they are now and
    /// record them (only `only`'s entry, when given); `accept_signer`: the
    /// fingerprint of a new signer to accept (`none`: unsigned); `precise`:
    /// the version a range plugin moves to (else the newest that fits).
    Update {
        only: Option<String>,
        accept_signer: Option<String>,
        precise: Option<String>,
    },
}

impl LockMode {
    /// `ops plugin update [NAME]` accepting no new signer.
    pub fn update(only: Option<String>) -> LockMode {
        LockMode::Update {
            only,
            accept_signer: None,
            precise: None,
        }
    }
}

/// One ops.lock entry that a resolution added or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockChange {
    pub old: Option<LockEntry>,
    pub new: LockEntry,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Range(#[from] super::ranges::RangeError),
    /// The plugin declares capabilities its grant does not cover.
    #[error("{0}")]
    Escalation(String),
    /// The plugin is not the one ops.lock pins.
    #[error(transparent)]
    LockMismatch(Box<super::pins::LockMismatch>),
    /// A signature rule refuses the plugin.
    #[error(transparent)]
    Signature(#[from] crate::distribution::signing::Refusal),
    /// An allowed_signers file cannot be read.
    #[error(transparent)]
    Trust(#[from] crate::distribution::signing::SignError),
    /// `--locked`, and ops.lock would change.
    #[error("--locked: {0}; nothing was run. Run without --locked (or `ops plugin update`) and commit ops.lock")]
    WouldChange(String),
}

impl ExitStatusOf for ProjectError {
    fn exit(&self) -> Exit {
        match self {
            ProjectError::Config(e) => e.exit(),
            ProjectError::Plugin(e) => e.exit(),
            ProjectError::Lock(e) => e.exit(),
            ProjectError::Range(e) => e.exit(),
            ProjectError::Escalation(_)
            | ProjectError::Signature(_)
            | ProjectError::Trust(_)
            | ProjectError::LockMismatch(_)
            | ProjectError::WouldChange(_) => Exit::Usage,
        }
    }
}

/// Resolves and loads every plugin of `uses` (in order), checks them, and
/// brings ops.lock (beside `config.file`) up to date as `mode` says.
///
/// Every pin (ops.toml's `sha256`, ops.lock's source and digest) is
/// checked on the bytes of every plugin before any of them is compiled:
/// a plugin that is not the one pinned never runs, not even its
/// `metadata`.
pub async fn resolve(
    registry: &mut Registry,
    config: &Config,
    uses: &[Use],
    mode: &LockMode,
) -> Result<(Vec<Plugin>, Vec<LockChange>), ProjectError> {
    let mut lock = LockFile::read(&LockFile::beside(&config.file))?;
    for use_ in uses {
        check_name(registry, config, use_)?;
        // The download cached under the pinned digest stands for the
        // source ops.lock recorded, not for whatever ops.toml names now.
        if let (Some(entry), false) = (lock.get(&use_.name), updating(mode, &use_.name)) {
            if same_origin(entry, config, &source_text(config, &use_.name)) {
                registry.prefer_cached(&use_.name, &entry.sha256);
            }
        }
    }
    let picked = super::ranges::pick_all(registry, config, &lock, uses, mode).await?;
    for use_ in uses {
        if registry.source_of(&use_.name) == Some(&PluginSource::Builtin) {
            continue;
        }
        let bytes = registry.bytes(&use_.name).await?;
        let digest = hex::encode(Sha256::digest(&bytes));
        super::pins::check_pin(config, &lock, &use_.name, &digest, mode)?;
    }
    let signers = super::signatures::check_all(registry, config, &lock, uses, mode).await?;
    let mut plugins = Vec::new();
    let mut changes: Vec<LockChange> = Vec::new();
    for use_ in uses {
        let plugin = registry.get(&use_.name).await?;
        check_kind(use_, &plugin)?;
        super::ranges::check_loaded(picked.get(&use_.name), &plugin)?;
        if plugin.source() != &PluginSource::Builtin {
            check_grants(config, registry, &plugin, lock.get(&use_.name))?;
            let (signer, range) = (signers.get(&use_.name), picked.get(&use_.name));
            let range = range.map(|p| p.range.clone());
            if let Some(change) = lock_change(config, &lock, &plugin, (signer, range), mode) {
                if !changes.iter().any(|c| c.new.name == change.new.name) {
                    changes.push(change);
                }
            }
        }
        plugins.push(plugin);
    }
    let write = matches!(mode, LockMode::Write | LockMode::Update { .. });
    if write && !changes.is_empty() {
        for change in &changes {
            lock.set(change.new.clone());
        }
        lock.write()?;
    }
    Ok((plugins, changes))
}

fn check_kind(use_: &Use, plugin: &Plugin) -> Result<(), ConfigError> {
    if plugin.kind() == use_.kind {
        return Ok(());
    }
    Err(ConfigError::invalid(
        use_.at.clone(),
        &use_.key,
        format!(
            "`{}` is a {} plugin, but {} must name a{} {} plugin",
            use_.name,
            plugin.kind(),
            use_.key,
            if use_.kind == Kind::ImageBuilder {
                "n"
            } else {
                ""
            },
            use_.kind
        ),
    ))
}

pub(super) fn updating(mode: &LockMode, name: &str) -> bool {
    match mode {
        LockMode::Update { only, .. } => only.as_deref().is_none_or(|o| o == name),
        _ => false,
    }
}

/// A name that is neither built in, declared, nor installed is a config
/// error at the key that names it.
fn check_name(registry: &mut Registry, config: &Config, use_: &Use) -> Result<(), ConfigError> {
    if registry.source_of(&use_.name).is_some() || registry.add_installed(&use_.name) {
        return Ok(());
    }
    let mut known: Vec<String> = BUILTINS.iter().map(|(n, _)| (*n).to_owned()).collect();
    if use_.key == "build.source" {
        known.extend(
            crate::config::BUILTIN_SOURCES
                .iter()
                .map(|(s, _)| (*s).to_owned()),
        );
    }
    known.extend(config.plugins.iter().map(|p| p.name.clone()));
    if let Some(store) = registry.store() {
        known.extend(store.list().unwrap_or_default().into_iter().map(|i| i.name));
    }
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = crate::config::closest(&use_.name, &known)
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Err(ConfigError::invalid(
        use_.at.clone(),
        &use_.key,
        format!(
            "no plugin named `{}`: it is not built in, not declared in [plugins.{}], and not \
             installed; {hint}install it with `ops plugin install <file | https://URL | oci://REF>`",
            use_.name, use_.name
        ),
    ))
}

/// No silent escalation: every capability the plugin declares must be
/// granted before it runs at all.
fn check_grants(
    config: &Config,
    registry: &Registry,
    plugin: &Plugin,
    locked: Option<&LockEntry>,
) -> Result<(), ProjectError> {
    let name = plugin.name();
    // What the project grants, not what this instance holds: a check
    // loads plugins with everything withheld.
    let declared = &plugin.metadata().capabilities;
    let granted = registry.grants_of(name).unwrap_or_default();
    let missing = Grants::installed(name, declared, granted).ungranted(declared);
    if missing.is_empty() {
        return Ok(());
    }
    let version = &plugin.metadata().version;
    let declared = grant_items(&plugin.metadata().capabilities);
    let quoted: Vec<String> = declared.iter().map(|c| format!("\"{c}\"")).collect();
    let decl = config.plugins.iter().find(|p| p.name == name);
    let whereto = match decl {
        Some(d) => format!("under [plugins.{name}] ({})", d.location),
        None => format!("in a [plugins.{name}] table of {}", config.file.display()),
    };
    let mut message = format!(
        "plugin {name} {version} declares capabilities it was not granted: {}; it was stopped \
         before it ran.",
        missing.join(", ")
    );
    if let Some(entry) = locked.filter(|e| e.sha256 != plugin.sha256()) {
        let new: Vec<&String> = declared
            .iter()
            .filter(|c| !entry.capabilities.contains(c))
            .collect();
        if !new.is_empty() {
            let new: Vec<&str> = new.iter().map(|s| s.as_str()).collect();
            message.push_str(&format!(
                "\n{name} {version} declares capabilities that {} in ops.lock did not: {}",
                entry.version,
                new.join(", ")
            ));
        }
    }
    message.push_str(&format!(
        "\nTo allow them, put this line {whereto}:\n    grant = [{}]",
        quoted.join(", ")
    ));
    Err(ProjectError::Escalation(message))
}

/// The ops.lock entry `plugin` (loaded, its pin checked) should have, if
/// that is a change.
fn lock_change(
    config: &Config,
    lock: &LockFile,
    plugin: &Plugin,
    (signer, range): (Option<&Checked>, Option<Ranged>),
    mode: &LockMode,
) -> Option<LockChange> {
    let name = plugin.name();
    let (signer, signer_key) = match signer {
        Some(Checked::Signed {
            principal,
            fingerprint,
        }) => (principal.clone(), Some(fingerprint.clone())),
        _ => (None, None),
    };
    let new = LockEntry {
        name: name.to_owned(),
        source: source_text(config, name),
        version: plugin.metadata().version.to_string(),
        sha256: plugin.sha256().to_owned(),
        capabilities: grant_items(&plugin.metadata().capabilities),
        signer,
        signer_key,
        range,
        line: 0,
    };
    let old = lock.get(name).cloned();
    let same = old.as_ref().is_some_and(|o| {
        LockEntry {
            line: 0,
            ..o.clone()
        } == new
    });
    // Outside an update, an entry of the same source has the same digest
    // (`check_pin`) and the same signer (`signing::check`), so only a new
    // entry, a new source or a first signature is a change.
    let changed = match &old {
        _ if updating(mode, name) => !same,
        Some(o) => {
            !same_origin(o, config, &new.source)
                || (o.signer_key.is_none() && new.signer_key.is_some())
        }
        None => true,
    };
    changed.then_some(LockChange { old, new })
}

pub(super) fn source_text(config: &Config, name: &str) -> String {
    config
        .plugins
        .iter()
        .find(|p| p.name == name)
        .map_or_else(|| "installed".to_owned(), |p| p.source_text.clone())
}

pub(super) fn display(path: &Path) -> String {
    path.display().to_string()
}
