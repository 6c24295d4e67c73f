//! The plugins one project uses: each name resolved (built-in, declared in
//! `[plugins.<name>]`, or installed in the user's store), loaded, checked
//! for its kind, stopped if it declares capabilities it was not granted,
//! and checked against ops.lock (which records it on first use). All of
//! this happens before anything remote.

use std::path::Path;

use super::capability::grant_items;
use super::lockfile::{LockEntry, LockError, LockFile};
use super::metadata::Kind;
use super::registry::{Registry, BUILTINS};
use super::runtime::PluginSource;
use super::{Plugin, PluginError};
use crate::config::{Config, ConfigError};
use crate::exit::{Exit, ExitStatusOf};

/// What a project uses a plugin for, and the key that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub name: String,
    pub kind: Kind,
    /// `build.source`, `build.image.plugin`, `build.image.auth`.
    pub key: String,
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
    /// record them (only `NAME`'s entry, when given).
    Update(Option<String>),
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
    /// The plugin declares capabilities its grant does not cover.
    #[error("{0}")]
    Escalation(String),
    /// The plugin is not the one ops.lock pins.
    #[error(transparent)]
    LockMismatch(Box<LockMismatch>),
    /// `--locked`, and ops.lock would change.
    #[error("--locked: {0}; nothing was run. Run without --locked (or `ops plugin update`) and commit ops.lock")]
    WouldChange(String),
}

/// A plugin whose digest is not the one ops.lock pins.
#[derive(Debug, thiserror::Error)]
#[error(
    "{lock}:{line}: plugin {plugin} now has sha256 {actual} (version {version}), but ops.lock \
     pins sha256 {expected} (version {locked_version}); nothing was run. If the change is \
     the one you want, accept it with `ops plugin update {plugin}` and commit ops.lock"
)]
pub struct LockMismatch {
    pub lock: String,
    pub line: usize,
    pub plugin: String,
    pub actual: String,
    pub version: String,
    pub expected: String,
    pub locked_version: String,
}

impl ExitStatusOf for ProjectError {
    fn exit(&self) -> Exit {
        match self {
            ProjectError::Config(e) => e.exit(),
            ProjectError::Plugin(e) => e.exit(),
            ProjectError::Lock(e) => e.exit(),
            ProjectError::Escalation(_)
            | ProjectError::LockMismatch(_)
            | ProjectError::WouldChange(_) => Exit::Usage,
        }
    }
}

/// Resolves and loads every plugin of `uses` (in order), checks them, and
/// brings ops.lock (beside `config.file`) up to date as `mode` says.
pub async fn resolve(
    registry: &mut Registry,
    config: &Config,
    uses: &[Use],
    mode: &LockMode,
) -> Result<(Vec<Plugin>, Vec<LockChange>), ProjectError> {
    let mut lock = LockFile::read(&LockFile::beside(&config.file))?;
    for use_ in uses {
        check_name(registry, config, use_)?;
        if let (Some(entry), false) = (lock.get(&use_.name), updating(mode, &use_.name)) {
            registry.prefer_cached(&use_.name, &entry.sha256);
        }
    }
    let mut plugins = Vec::new();
    let mut changes: Vec<LockChange> = Vec::new();
    for use_ in uses {
        let plugin = registry.get(&use_.name).await?;
        if plugin.kind() != use_.kind {
            return Err(ConfigError::invalid(
                config.location_of(&use_.key),
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
            )
            .into());
        }
        if plugin.source() != &PluginSource::Builtin {
            check_grants(config, &plugin, lock.get(&use_.name))?;
            if let Some(change) = check_lock(config, &lock, &plugin, mode)? {
                if !changes.iter().any(|c| c.new.name == change.new.name) {
                    changes.push(change);
                }
            }
        }
        plugins.push(plugin);
    }
    let write = matches!(mode, LockMode::Write | LockMode::Update(_));
    if write && !changes.is_empty() {
        for change in &changes {
            lock.set(change.new.clone());
        }
        lock.write()?;
    }
    Ok((plugins, changes))
}

fn updating(mode: &LockMode, name: &str) -> bool {
    match mode {
        LockMode::Update(None) => true,
        LockMode::Update(Some(only)) => only == name,
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
        config.location_of(&use_.key),
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
    plugin: &Plugin,
    locked: Option<&LockEntry>,
) -> Result<(), ProjectError> {
    let missing = plugin
        .inner
        .grants
        .ungranted(&plugin.metadata().capabilities);
    if missing.is_empty() {
        return Ok(());
    }
    let name = plugin.name();
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

/// The lock entry `plugin` should have, and the change to make, if any.
fn check_lock(
    config: &Config,
    lock: &LockFile,
    plugin: &Plugin,
    mode: &LockMode,
) -> Result<Option<LockChange>, ProjectError> {
    let name = plugin.name();
    let new = LockEntry {
        name: name.to_owned(),
        source: source_text(config, name),
        version: plugin.metadata().version.to_string(),
        sha256: plugin.sha256().to_owned(),
        capabilities: grant_items(&plugin.metadata().capabilities),
        line: 0,
    };
    let old = lock.get(name).cloned();
    if updating(mode, name) {
        let same = old.as_ref().is_some_and(|o| {
            LockEntry {
                line: 0,
                ..o.clone()
            } == new
        });
        return Ok((!same).then_some(LockChange { old, new }));
    }
    match old {
        Some(old) if old.sha256 == new.sha256 => Ok(None),
        Some(old) => Err(ProjectError::LockMismatch(Box::new(LockMismatch {
            lock: display(&lock.path),
            line: old.line,
            plugin: name.to_owned(),
            actual: new.sha256,
            version: new.version,
            expected: old.sha256,
            locked_version: old.version,
        }))),
        None if *mode == LockMode::Locked => Err(ProjectError::WouldChange(if lock.exists {
            format!(
                "{} has no entry for plugin {name}; it would be added with version {} and \
                 sha256 {}",
                display(&lock.path),
                new.version,
                new.sha256
            )
        } else {
            format!(
                "{} does not exist; it would be written with plugin {name} version {} and \
                 sha256 {}",
                display(&lock.path),
                new.version,
                new.sha256
            )
        })),
        None => Ok(Some(LockChange { old: None, new })),
    }
}

fn source_text(config: &Config, name: &str) -> String {
    config
        .plugins
        .iter()
        .find(|p| p.name == name)
        .map_or_else(|| "installed".to_owned(), |p| p.source_text.clone())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
