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
    /// How ops was started, recorded with the build lock for whoever waits.
    pub command_line: String,
}

#[cfg(test)]
impl BuildSettings {
    /// The spec's defaults for `config_file`, as `ops build -f FILE` gives.
    pub fn new(config_file: impl Into<PathBuf>) -> BuildSettings {
        BuildSettings {
            config_file: config_file.into(),
            reach: ReachSettings::default(),
            git_ref: None,
            service: None,
            tag: Tag::latest(),
            push: true,
            jobs: 5,
            dry_run: false,
            locked: false,
            lock_wait: Duration::from_secs(600),
            command_line: "ops build".into(),
        }
    }
}
