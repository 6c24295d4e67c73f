//! The plugins a project picks by `version = "^1.4"`: the release ops.lock
//! recorded while the requirement is unchanged (fetched by its manifest
//! digest, no tags listed), else the newest release the tags offer that
//! fits (see [`super::versions`]). Either way the registry is told to
//! fetch that exact manifest, so everything after this (pins, signatures,
//! grants) sees one release.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};

use super::fetch::{self, oci::Reference, FetchError};
use super::lockfile::{LockEntry, LockFile, Ranged};
use super::project::{updating, LockMode, ProjectError, Use};
use super::registry::Registry;
use super::versions::{self, Outcome};
use crate::config::{Config, PluginDecl};
use crate::exit::{Exit, ExitStatusOf};
use crate::plugin::{Plugin, PluginSource};

/// A release picked for a requirement.
#[derive(Debug, Clone)]
pub struct Picked {
    pub range: Ranged,
    /// The tag's version.
    pub version: String,
    /// What the tags offered, when they were read on this run.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// Nothing in the repository fits the requirement and this ops.
    #[error("{at}: plugin {plugin}: nothing satisfies plugins.{plugin}.version = {req:?}: {why}")]
    NoFit {
        at: String,
        plugin: String,
        req: String,
        why: String,
    },
    /// `--precise V` with a V the requirement does not allow.
    #[error(
        "--precise {precise}: {precise} does not satisfy plugins.{plugin}.version = {req:?} \
         ({at}); nothing was changed. Change the requirement in ops.toml first"
    )]
    Precise {
        at: String,
        plugin: String,
        req: String,
        precise: String,
    },
    #[error("plugin {plugin}: {source}")]
    Fetch {
        plugin: String,
        #[source]
        source: Box<FetchError>,
    },
    /// `OPS_PLUGIN_MIRROR` is not a mirror.
    #[error(transparent)]
    Mirror(#[from] super::mirror::MirrorError),
    /// The loaded component is not what its release's config or tag said.
    #[error(
        "plugin {plugin} from {from}: {what}; the registry describes this release wrongly, so \
         it was refused before it ran"
    )]
    Misdescribed {
        plugin: String,
        from: String,
        what: String,
    },
}

impl ExitStatusOf for RangeError {
    fn exit(&self) -> Exit {
        match self {
            RangeError::Fetch { source, .. } => source.exit(),
            _ => Exit::Usage,
        }
    }
}

/// The requirement of `name`, as ops.toml writes it.
pub fn requirement_of<'c>(config: &'c Config, name: &str) -> Option<&'c str> {
    decl_of(config, name)
        .and_then(|d| d.version.as_ref())
        .map(|v| v.value.as_str())
}

fn decl_of<'c>(config: &'c Config, name: &str) -> Option<&'c PluginDecl> {
    config.plugins.iter().find(|p| p.name == name)
}

/// Whether ops.lock's `old` entry was recorded for what ops.toml names
/// now: the same source and the same requirement (or none).
pub fn same_origin(old: &LockEntry, config: &Config, source: &str) -> bool {
    old.source == source
        && old.range.as_ref().map(|r| r.requirement.as_str()) == requirement_of(config, &old.name)
}

/// Points the registry's `oci` plugins at the mirror, if there is one;
/// picks a release for every plugin of `uses` that has a requirement and
/// points the registry at it.
pub async fn pick_all(
    registry: &mut Registry,
    config: &Config,
    lock: &LockFile,
    uses: &[Use],
    mode: &LockMode,
) -> Result<BTreeMap<String, Picked>, ProjectError> {
    let mirror = super::mirror::of(config, &|n| std::env::var(n).ok()).map_err(RangeError::from)?;
    if let Some(mirror) = &mirror {
        super::mirror::apply(registry, config, mirror);
    }
    let mut picked = BTreeMap::new();
    for decl in config.plugins.iter() {
        let Some(req) = &decl.version else { continue };
        if picked.contains_key(&decl.name) || !uses.iter().any(|u| u.name == decl.name) {
            continue;
        }
        let locked = lock
            .get(&decl.name)
            .filter(|e| same_origin(e, config, &decl.source_text));
        let one = match (locked, updating(mode, &decl.name)) {
            (Some(entry), false) => Picked {
                range: entry.range.clone().unwrap_or_else(|| Ranged {
                    requirement: req.value.clone(),
                    api: String::new(),
                    manifest: String::new(),
                }),
                version: entry.version.clone(),
                outcome: look_for_newer(registry.notices(), decl, mirror.as_deref()).await,
            },
            _ if *mode == LockMode::Locked => return Err(would_change(lock, decl, &req.value)),
            _ => {
                let at = req.at.to_string();
                pick_one(decl, &req.value, &at, precise(mode), mirror.as_deref()).await?
            }
        };
        if let Some(newer) = one.outcome.as_ref().and_then(|o| newer_in_range(o, &one)) {
            registry.note_newer(&decl.name, newer);
        }
        let mut source = format!("{}@{}", decl.source_text, one.range.manifest);
        if let Some(mirror) = &mirror {
            source = super::mirror::rewrite(&source, mirror);
        }
        registry.pick_source(&decl.name, PluginSource::Oci(source));
        picked.insert(decl.name.clone(), one);
    }
    Ok(picked)
}

/// How long a run waits for the tags when it looks for a newer release of
/// a locked plugin; a registry slower than this costs the notice, not the run.
const NOTICE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// What the tags offer for a locked plugin, read at most once per plugin
/// per [`super::notice::INTERVAL`] and only when `notices` is given (a
/// person at a terminal). Best effort: the listing runs on a thread of its
/// own that the run does not wait for past [`NOTICE_WAIT`], so a registry
/// that hangs neither fails nor holds up the run, nor its exit.
async fn look_for_newer(
    notices: Option<&std::path::Path>,
    decl: &PluginDecl,
    mirror: Option<&str>,
) -> Option<Outcome> {
    let notices = notices?;
    if !super::notice::take(notices, &decl.name, std::time::SystemTime::now()) {
        return None;
    }
    let source = match mirror {
        Some(mirror) => super::mirror::rewrite(&decl.source_text, mirror),
        None => decl.source_text.clone(),
    };
    let reference = Reference::parse(&source).ok()?;
    let req = requirement(decl);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ops-newer-releases".into())
        .spawn(move || {
            let outcome = fetch::tags::list(&reference).and_then(|tags| {
                versions::pick(&req, &tags, None, |tag| {
                    fetch::tags::release(&reference, tag)
                })
            });
            let _ = tx.send(outcome);
        })
        .ok()?;
    match tokio::time::timeout(NOTICE_WAIT, rx).await {
        Ok(Ok(Ok(outcome))) => Some(outcome),
        _ => None,
    }
}

/// The newest release in range this ops loads, when it is newer than the
/// one picked (only `--precise` picks an older one after reading tags).
fn newer_in_range(outcome: &Outcome, one: &Picked) -> Option<String> {
    let picked = Version::parse(&one.version).ok()?;
    outcome
        .in_range_newest
        .as_ref()
        .filter(|v| **v > picked)
        .map(Version::to_string)
}

/// Points `registry`'s range plugins at the releases the ops.lock beside
/// `config_file` records for their requirement, for commands that show
/// plugins without resolving them (`plugin list`, `plugin info`); one not
/// locked yet keeps its bare repository (and fails to fetch as such).
pub fn point_at_locked(
    registry: &mut Registry,
    decls: &[PluginDecl],
    config_file: &std::path::Path,
) {
    let Ok(lock) = LockFile::read(&LockFile::beside(config_file)) else {
        return;
    };
    for decl in decls {
        let Some(req) = &decl.version else { continue };
        let Some(entry) = lock.get(&decl.name) else {
            continue;
        };
        if let Some(range) = entry
            .range
            .as_ref()
            .filter(|r| r.requirement == req.value && entry.source == decl.source_text)
        {
            let source = format!("{}@{}", decl.source_text, range.manifest);
            registry.pick_source(&decl.name, PluginSource::Oci(source));
        }
    }
}

fn precise(mode: &LockMode) -> Option<String> {
    match mode {
        LockMode::Update { precise, .. } => precise.clone(),
        _ => None,
    }
}

fn would_change(lock: &LockFile, decl: &PluginDecl, req: &str) -> ProjectError {
    let name = &decl.name;
    ProjectError::WouldChange(match lock.get(name) {
        Some(old) => format!(
            "{}:{}: plugin {name} is locked at {} for {}, but ops.toml now asks for {:?} from {}; \
             a release would be picked anew",
            lock.path.display(),
            old.line,
            old.version,
            match &old.range {
                Some(r) => format!("{:?}", r.requirement),
                None => format!("{:?}", old.source),
            },
            req,
            decl.source_text
        ),
        None => format!(
            "{} has no entry for plugin {name}; a release of {} satisfying {req:?} would be \
             picked and added",
            lock.path.display(),
            decl.source_text
        ),
    })
}

/// What the tags of `decl`'s repository offer for its requirement
/// (`precise`: that version only); blocking network work off the runtime.
pub async fn survey(
    decl: &PluginDecl,
    precise: Option<&Version>,
    mirror: Option<&str>,
) -> Result<Outcome, ProjectError> {
    let fetch_err = |source: FetchError| RangeError::Fetch {
        plugin: decl.name.clone(),
        source: Box::new(source),
    };
    let req = requirement(decl);
    let source = match mirror {
        Some(mirror) => super::mirror::rewrite(&decl.source_text, mirror),
        None => decl.source_text.clone(),
    };
    let reference = Reference::parse(&source).map_err(fetch_err)?;
    let precise = precise.cloned();
    let outcome = tokio::task::spawn_blocking(move || {
        let tags = fetch::tags::list(&reference)?;
        versions::pick(&req, &tags, precise.as_ref(), |tag| {
            fetch::tags::release(&reference, tag)
        })
    })
    .await
    .map_err(|e| crate::plugin::PluginError::Engine(format!("tag listing failed: {e}")))?
    .map_err(fetch_err)?;
    Ok(outcome)
}

/// `decl`'s requirement, parsed (it was checked when ops.toml was read).
pub fn requirement(decl: &PluginDecl) -> VersionReq {
    decl.version
        .as_ref()
        .and_then(|v| VersionReq::parse(&v.value).ok())
        .unwrap_or(VersionReq::STAR)
}

/// Lists the tags and picks.
async fn pick_one(
    decl: &PluginDecl,
    req_text: &str,
    at: &str,
    precise: Option<String>,
    mirror: Option<&str>,
) -> Result<Picked, ProjectError> {
    let plugin = decl.name.clone();
    let req = requirement(decl);
    let precise = match precise {
        None => None,
        Some(p) => match Version::parse(p.trim_start_matches(['v', '='])) {
            Ok(v) if req.matches(&v) => Some(v),
            _ => {
                return Err(RangeError::Precise {
                    at: at.to_owned(),
                    plugin,
                    req: req_text.to_owned(),
                    precise: p,
                }
                .into())
            }
        },
    };
    let outcome = survey(decl, precise.as_ref(), mirror).await?;
    let Some((version, release)) = outcome.chosen.clone() else {
        let repo = decl.source_text.as_str();
        return Err(RangeError::NoFit {
            at: at.to_owned(),
            plugin,
            req: req_text.to_owned(),
            why: versions::why_none(&outcome, req_text, precise.as_ref(), repo),
        }
        .into());
    };
    Ok(Picked {
        range: Ranged {
            requirement: req_text.to_owned(),
            api: release.api.clone().unwrap_or_default(),
            manifest: release.manifest.clone(),
        },
        version: version.to_string(),
        outcome: Some(outcome),
    })
}

/// Refuses a loaded release whose real version or plugin API is not the
/// one its tag and config claimed (the registry chose what ops picked).
pub fn check_loaded(picked: Option<&Picked>, plugin: &Plugin) -> Result<(), RangeError> {
    let Some(picked) = picked else { return Ok(()) };
    let meta = plugin.metadata();
    let misdescribed = |what: String| RangeError::Misdescribed {
        plugin: plugin.name().to_owned(),
        from: plugin.source().to_string(),
        what,
    };
    let api = meta.api_version.to_string();
    if !picked.range.api.is_empty() && picked.range.api != api {
        return Err(misdescribed(format!(
            "its release config says plugin API {}, but the component targets {api}",
            picked.range.api
        )));
    }
    if Version::parse(&picked.version).ok().as_ref() != Some(&meta.version) {
        return Err(misdescribed(format!(
            "it is tagged {}, but the component says it is version {}",
            picked.version, meta.version
        )));
    }
    Ok(())
}
