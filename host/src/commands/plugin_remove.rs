//! `ops plugin remove <name>`.

use super::plugin_common::CommandError;
use crate::distribution::store::Store;
use crate::exit::{Exit, Failure};
use crate::output::{Event, Format, Printer};
use crate::plugin::BUILTINS;

/// What `ops plugin remove` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginRemoveSettings {
    pub name: String,
}

pub fn run(settings: PluginRemoveSettings, printer: &Printer) -> Result<Exit, Failure> {
    let name = settings.name.as_str();
    let store = Store::from_env().map_err(CommandError::from)?;
    let installed = match store.get(name) {
        Ok(found) => found,
        // A name the store cannot hold is not installed either; say so
        // the same way, with the names that are.
        Err(crate::distribution::store::StoreError::BadName(_)) => None,
        Err(e) => return Err(CommandError::from(e).into()),
    };
    let Some(installed) = installed else {
        if BUILTINS.iter().any(|(builtin, _)| *builtin == name) {
            return Err(CommandError::Builtin {
                name: name.to_owned(),
            }
            .into());
        }
        return Err(not_installed(&store, name, &[])?.into());
    };
    store.remove(name).map_err(CommandError::from)?;
    match printer.format() {
        Format::Json => printer.emit(&Event::PluginRemoved {
            name: installed.name,
            version: installed.version,
        }),
        Format::Human => printer.data(&format!("removed {} {}", installed.name, installed.version)),
    }
    Ok(Exit::Success)
}

/// The error for `name`, listing what is installed and the closest of
/// those and `also` (names known besides the store's).
pub(super) fn not_installed(
    store: &Store,
    name: &str,
    also: &[&str],
) -> Result<CommandError, CommandError> {
    let all = store.list()?;
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    let candidates: Vec<&str> = names.iter().chain(also).copied().collect();
    let installed = if names.is_empty() {
        "none are installed".to_owned()
    } else {
        format!("installed: {}", names.join(", "))
    };
    let hint = crate::config::closest(name, &candidates)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Ok(CommandError::NotInstalled {
        name: name.to_owned(),
        installed,
        hint,
    })
}
