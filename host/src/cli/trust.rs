//! `ops trust` and the trust gate in front of the commands that read
//! ops.toml and could send something.

use std::path::Path;

use super::args::TrustArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// Refuses `file` (exit 2) unless it needs no trust or has it; run before
/// the command connects or asks the API anything.
pub fn gate(file: &Path, printer: &Printer) -> Result<(), Failure> {
    let config = Config::load(file, printer.redactor())?;
    crate::trust::gate(&config, printer)?;
    Ok(())
}

pub fn run(args: TrustArgs, printer: &Printer) -> Result<Exit, Failure> {
    let config = Config::load(&args.file, printer.redactor())?;
    crate::trust::record(&config, args.revoke, printer)?;
    Ok(Exit::Success)
}
