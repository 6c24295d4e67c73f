//! `ops plugin new`: a new plugin crate, ready to test and build.

use std::path::PathBuf;

use crate::author::NewKind;
use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// What `ops plugin new` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginNewSettings {
    /// The plugin's name.
    pub name: String,
    /// `--kind`.
    pub kind: NewKind,
    /// `--path`: the folder to write (default: ./NAME).
    pub path: Option<PathBuf>,
}

/// `ops plugin new NAME --kind KIND [--path DIR]`.
pub fn run(settings: PluginNewSettings, printer: &Printer) -> Result<Exit, Failure> {
    let PluginNewSettings { name, kind, path } = settings;
    let dir = path.unwrap_or_else(|| PathBuf::from(&name));
    let written = crate::author::write(&name, kind, &dir)?;
    printer.info(format!(
        "wrote the {} plugin {name} in {} ({} files)",
        kind.text(),
        dir.display(),
        written.len()
    ));
    printer.info(format!(
        "next: cd {} && cargo test && ops plugin build",
        dir.display()
    ));
    Ok(Exit::Success)
}
