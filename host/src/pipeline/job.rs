//! Turns `ops.toml` and the command line into a [`BuildJob`]: everything
//! `ops build` will do, checked before anything remote happens. Errors here
//! are config or usage errors (exit 2) that point at the file, line and
//! column, or name the bad option.

use crate::config::{BuildConfig, Config, ConfigError, Located, Location, PluginSection};
use crate::domain::{GitRef, PluginName, PluginNameError};
use crate::exit::{Exit, ExitStatusOf};
use crate::remote::AgentForwarding;

use super::image_job::ImageJob;
use super::plan::PlanError;
use super::BuildSettings;

/// A checked build.
#[derive(Debug, Clone)]
pub struct BuildJob {
    /// `build.path` on the node.
    pub path: String,
    /// `build.command`, run with `sh -c` in `path`.
    pub command: String,
    /// The sync-strategy plugin it picks.
    pub sync_plugin: Located<PluginName>,
    /// The section the sync plugin validates and receives.
    pub sync_section: PluginSection,
    pub git_ref: Option<GitRef>,
    pub branch: Option<GitRef>,
    /// `build.artifacts`: checked patterns relative to `path`.
    pub artifacts: Vec<String>,
    /// Where the artifacts are written on this machine.
    pub artifacts_dir: std::path::PathBuf,
    /// `--artifacts-dir` named it: the user's own choice, which may be a
    /// symlink. The default, in the project's folder, may not.
    pub artifacts_dir_chosen: bool,
    /// `None` when there is no `[build.image]`: sync and build only.
    pub images: Option<ImageJob>,
    pub push: bool,
    pub jobs: usize,
    /// The agent the sync's commands get: none until the loaded sync
    /// plugin shows it is entitled to one ([`crate::plugin::sync_agent`]).
    pub sync_agent: AgentForwarding,
    /// `--lock-wait`.
    pub lock_wait: std::time::Duration,
    /// What the build lock records about this run.
    pub lock_holder: String,
    /// The `[node]` policy's prune after a push, if it asks for one.
    pub prune: Option<crate::housekeeping::PruneSettings>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl ExitStatusOf for JobError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl ExitStatusOf for PlanError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl BuildJob {
    pub fn new(config: &Config, settings: &BuildSettings) -> Result<BuildJob, JobError> {
        // Command-line checks first: they need no config and are the cheapest
        // to fix.
        if settings.jobs == 0 {
            return Err(PlanError::ZeroJobs.into());
        }

        let Some(build) = &config.build else {
            return Err(ConfigError::missing(config.top(), "build").into());
        };
        let path = build_path(build)?;
        let command = required("build.command", build.command.as_ref(), &build.location)?;

        let source = build.source_name().to_owned();
        let sync_section = sync_section(build, &source, settings)?;
        let branch = match &build.branch {
            Some(branch) => Some(branch.parse::<GitRef>().map_err(|_| {
                ConfigError::invalid(
                    branch.at.clone(),
                    "build.branch",
                    format!("{:?} is not a valid git branch name", branch.value),
                )
            })?),
            None => None,
        };

        let images = match &build.image {
            Some(image) => Some(ImageJob::new(config, image, settings)?),
            None => {
                if let Some(service) = &settings.service {
                    return Err(PlanError::ServiceWithoutImages(service.clone()).into());
                }
                None
            }
        };

        let artifacts = build
            .artifacts
            .iter()
            .map(super::artifact_paths::check_pattern)
            .collect::<Result<Vec<_>, _>>()?;
        let artifacts_dir = settings
            .artifacts_dir
            .clone()
            .unwrap_or_else(|| config.dir().join("ops-artifacts"));

        Ok(BuildJob {
            path: path.to_owned(),
            command: command.value.clone(),
            artifacts,
            artifacts_dir,
            artifacts_dir_chosen: settings.artifacts_dir.is_some(),
            sync_plugin: plugin_name(
                build.sync_plugin(),
                "build.source",
                build.source.as_ref().map_or(&build.location, |s| &s.at),
            )?,
            sync_section,
            git_ref: settings.git_ref.clone(),
            branch,
            images,
            push: settings.push,
            jobs: settings.jobs,
            sync_agent: AgentForwarding::Never,
            lock_wait: settings.lock_wait,
            prune: super::node_policy::settings(&config.node),
            lock_holder: super::lock::holder_line(
                settings
                    .git_ref
                    .as_ref()
                    .map(GitRef::as_str)
                    .or(build.branch.as_ref().map(|b| b.as_str())),
                &settings.command_line,
            ),
        })
    }
}

/// The section the sync plugin for `source` validates and receives:
/// `[build.<source>]` (`[build.git]`, `[build.push]`, `[build.acme-sync]`).
fn sync_section(
    build: &BuildConfig,
    source: &str,
    settings: &BuildSettings,
) -> Result<PluginSection, ConfigError> {
    let section_name = format!("build.{source}");
    let section = build.section(source).cloned();
    if !build.source_takes_ref() && settings.git_ref.is_some() {
        // The pushed tree is the working tree as it is; building another
        // ref from it would silently build something else.
        return Err(ConfigError::invalid(
            build
                .source
                .as_ref()
                .map_or_else(|| build.location.clone(), |s| s.at.clone()),
            "build.source",
            "--ref cannot be used with source = \"push\", which sends the local working \
             tree as it is (uncommitted changes included); check out the ref locally, or \
             use source = \"git\"",
        ));
    }
    match section {
        Some(section) => Ok(section),
        None if build.source_needs_section() => Err(ConfigError::missing(
            build.location.clone(),
            "build.git (with `repo`, for source = \"git\")",
        )),
        None => Ok(PluginSection {
            path: section_name,
            entries: Vec::new(),
            location: build.location.clone(),
        }),
    }
}

/// `build.path`: absolute, or in the node user's home (`~`, `~/...`),
/// one line, no `..`. A relative path would depend on where the node's
/// shell starts, could climb out with `..`, and one starting with `-`
/// would be read as an option by the programs it is given to.
pub(crate) fn build_path(build: &BuildConfig) -> Result<&str, ConfigError> {
    let written = required("build.path", build.path.as_ref(), &build.location)?;
    let path = written.as_str();
    let invalid = |message: &str| ConfigError::invalid(written.at.clone(), "build.path", message);
    if path.contains(['\n', '\r', '\0']) {
        return Err(invalid("must be a single line"));
    }
    if !(path.starts_with('/') || path == "~" || path.starts_with("~/")) {
        return Err(invalid(&format!(
            "{path:?} must be an absolute path (or start with ~/ for the node user's home)"
        )));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(invalid(&format!("{path:?} must not contain `..`")));
    }
    Ok(path)
}

/// A plugin name the config reader has checked, typed. A name it let
/// through that is not one is reported at its key, not trusted.
/// The plugin `key` names, with where it is named (the section header for
/// a default), so that what is later found wrong with the plugin points
/// there.
pub(super) fn plugin_name(
    name: &str,
    key: &str,
    at: &Location,
) -> Result<Located<PluginName>, ConfigError> {
    let value = name
        .parse()
        .map_err(|e: PluginNameError| ConfigError::invalid(at.clone(), key, e.to_string()))?;
    Ok(Located {
        value,
        at: at.clone(),
    })
}

/// `value`, which must be there and not blank; a missing one is reported
/// at `section`, the header of the table it belongs in.
pub(super) fn required<'a>(
    key: &str,
    value: Option<&'a Located<String>>,
    section: &Location,
) -> Result<&'a Located<String>, ConfigError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(v) => Err(ConfigError::invalid(v.at.clone(), key, "must not be empty")),
        None => Err(ConfigError::missing(section.clone(), key)),
    }
}

#[cfg(test)]
#[path = "job_tests.rs"]
mod tests;
