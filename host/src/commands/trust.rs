//! `ops trust` and the trust gate in front of the commands that read
//! ops.toml and could send something.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// Refuses `file` (exit 2) unless it needs no trust or has it; run before
/// the command connects or asks the API anything. `hooks`: the command
/// runs the file's local hooks, so they are judged too.
pub fn gate(file: &Path, hooks: bool, printer: &Printer) -> Result<(), Failure> {
    let config = Config::load(file, printer.redactor())?;
    crate::trust::gate(&config, hooks, printer)?;
    Ok(())
}

/// What `ops trust` was asked to do.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    /// `-f`: the config file to trust.
    pub config_file: PathBuf,
    /// `--revoke`: forget the trust given to it instead.
    pub revoke: bool,
}

pub fn run(settings: TrustSettings, printer: &Printer) -> Result<Exit, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    crate::trust::record(&config, settings.revoke, printer)?;
    Ok(Exit::Success)
}
