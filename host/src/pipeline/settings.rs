//! What `ops build` was asked to do, as the pipeline sees it: built by the
//! command line (`cli`) from its arguments, so that nothing here depends on
//! how they were spelled.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::{GitRef, Tag};
use crate::node::ReachSettings;

#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// `-f`: the config file.
    pub config_file: PathBuf,
    pub reach: ReachSettings,
    /// `--ref`: a commit SHA, branch or tag.
    pub git_ref: Option<GitRef>,
    /// `--service`: build only this one.
    pub service: Option<String>,
    /// `--tag`.
    pub tag: Tag,
    /// False with `--no-push`.
    pub push: bool,
    /// `-j`: image builds at once.
    pub jobs: usize,
    /// `--dry-run`: print the plan, touch nothing.
    pub dry_run: bool,
    /// `--locked`: refuse to run when ops.lock would change.
    pub locked: bool,
    /// `--lock-wait`: how long to wait for another build of the path.
    pub lock_wait: Duration,
    /// False with `--no-hooks`: run none of the project's `[hooks]`.
    pub hooks: bool,
    /// `--artifacts-dir`: where `build.artifacts` are written (default
    /// `ops-artifacts/` beside the config file).
    pub artifacts_dir: Option<PathBuf>,
    /// How ops was started, recorded with the build lock for whoever waits.
    pub command_line: String,
}

/// `--tag` when none is given.
pub const DEFAULT_TAG: &str = Tag::LATEST;
/// `-j` when none is given.
pub const DEFAULT_JOBS: usize = 5;
/// `--lock-wait` when none is given.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

impl BuildSettings {
    /// The spec's defaults for `config_file`, as `ops build -f FILE` gives;
    /// also what the commands that check a project without building it
    /// (`ops config check`, `ops plugin update`) assume.
    pub fn defaults(config_file: impl Into<PathBuf>) -> BuildSettings {
        BuildSettings {
            config_file: config_file.into(),
            reach: ReachSettings::default(),
            git_ref: None,
            service: None,
            tag: Tag::latest(),
            push: true,
            jobs: DEFAULT_JOBS,
            dry_run: false,
            locked: false,
            lock_wait: DEFAULT_LOCK_WAIT,
            hooks: true,
            artifacts_dir: None,
            command_line: command_line(),
        }
    }

    /// The defaults as a dry run: what checking `config_file` without
    /// building it (`ops config check`, the check before `ops exec` and
    /// `ops lock`) assumes.
    pub fn checking(config_file: impl Into<PathBuf>) -> BuildSettings {
        BuildSettings {
            dry_run: true,
            ..BuildSettings::defaults(config_file)
        }
    }
}

/// ops's own command line, as the user typed it (for the lock's record).
fn command_line() -> String {
    let words: Vec<String> = std::env::args().collect();
    let name = std::path::Path::new(words.first().map(String::as_str).unwrap_or("ops"))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ops".into());
    std::iter::once(name)
        .chain(words.into_iter().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}
