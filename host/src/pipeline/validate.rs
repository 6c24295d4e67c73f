//! The whole of `ops.toml` checked for a command that only needs part of
//! it (`ops exec`), before that command connects: the host's keys, the
//! values `ops build` would refuse, and every plugin's section as the
//! plugin validates it. A file that `ops build` and `ops config check`
//! refuse at a line is refused at that line by every command, so a typo
//! never waits for the next build to be noticed.

use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, ConfigErrorKind};
use crate::distribution::project::LockMode;
use crate::exit::Failure;
use crate::output::Printer;
use crate::plugin::{Limits, Runtime};

use super::job::{BuildJob, JobError};
use super::plugins::BuildPlugins;
use super::BuildSettings;

/// Checks `config_file` as `ops config check` does (the command line's
/// defaults, as a dry run). Every value the file has is checked; a value only a build needs and the
/// file lacks (no `[build]`, no `build.command`, ...) is the build's to
/// report, since this command does not build; without it there is no
/// build to hand the plugins' sections to. Nothing is written (ops.lock
/// included) and nothing remote is touched.
pub async fn validate(config_file: &Path, printer: &Arc<Printer>) -> Result<(), Failure> {
    let settings = &BuildSettings::checking(config_file);
    let config = Config::load(&settings.config_file, printer.redactor())?;
    if config.build.is_none() {
        return Ok(());
    }
    let job = match BuildJob::new(&config, settings) {
        Ok(job) => job,
        Err(JobError::Config(e)) if matches!(e.kind, ConfigErrorKind::Missing { .. }) => {
            return Ok(())
        }
        Err(e) => return Err(e.into()),
    };
    let project_root = super::project::root(config.dir());
    let runtime = Runtime::new(Limits::from_env())?;
    BuildPlugins::check(
        &runtime,
        &config,
        &job,
        printer,
        &project_root,
        LockMode::Check,
    )
    .await?;
    Ok(())
}
