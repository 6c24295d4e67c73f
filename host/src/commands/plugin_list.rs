//! `ops plugin list`: every built-in plugin, every plugin the project's
//! `[plugins.*]` names and every plugin in the per-user store, with its
//! kind, version, API version, source and a sha256 prefix.

use std::path::PathBuf;

use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output::{plain_table, Event, Format, Printer};

use crate::distribution::store::Store;
use crate::distribution::Registry;
use crate::plugin::{Limits, Runtime};

/// What `ops plugin list` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginListSettings {
    /// `-f`: the config whose `[plugins]` names installed plugins.
    pub config_file: PathBuf,
}

pub async fn run(settings: PluginListSettings, printer: &Printer) -> Result<Exit, Failure> {
    let file = settings.config_file.as_path();
    // Without a config file there are only the built-ins to show.
    let installed = if file.exists() {
        Config::load(file, printer.redactor())?.plugins
    } else {
        printer.debug(format!(
            "{} not found; listing the built-in plugins only",
            file.display()
        ));
        Vec::new()
    };
    let runtime = Runtime::new(Limits::from_env())?;
    let mut registry = Registry::new(&runtime, &installed)?;
    crate::distribution::ranges::point_at_locked(&mut registry, &installed, file);

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (name, source) in registry.entries() {
        match registry.get(name).await {
            Ok(plugin) => {
                let meta = plugin.metadata();
                rows.push(Event::Plugin {
                    name: name.to_owned(),
                    kind: meta.kind,
                    version: meta.version.to_string(),
                    api_version: meta.api_version.to_string(),
                    source: source.to_string(),
                    sha256: plugin.sha256().to_owned(),
                    description: meta.description.clone(),
                });
            }
            Err(err) => failures.push(err),
        }
    }

    rows.extend(stored(printer, &rows));

    match printer.format() {
        Format::Json => rows.iter().for_each(|row| printer.emit(row)),
        Format::Human => printer.data(&table(&rows)),
    }
    if failures.is_empty() {
        return Ok(Exit::Success);
    }
    for failure in &failures[1..] {
        printer.error(failure.to_string(), Exit::Plugin.code());
    }
    let first = failures.swap_remove(0);
    Err(Failure::new(Exit::Plugin, first))
}

/// The store's plugins, from their install records (source
/// `store:<where from>`), but for those the project's config names itself:
/// the project's entry is the one its builds use. One named like a
/// built-in is listed beside it; the SOURCE column tells them apart.
fn stored(printer: &Printer, listed: &[Event]) -> Vec<Event> {
    let records = match Store::from_env().and_then(|store| store.list()) {
        Ok(records) => records,
        Err(err) => {
            printer.debug(format!("not listing installed plugins: {err}"));
            return Vec::new();
        }
    };
    let taken = |name: &str| {
        listed
            .iter()
            .any(|row| matches!(row, Event::Plugin { name: n, source, .. } if n == name && source != "builtin"))
    };
    records
        .into_iter()
        .filter(|record| !taken(&record.name))
        .map(|record| Event::Plugin {
            name: record.name,
            kind: record.kind,
            version: record.version,
            api_version: record.api_version,
            source: format!("store:{}", record.source),
            sha256: record.sha256,
            description: record.description,
        })
        .collect()
}

fn table(rows: &[Event]) -> String {
    let rows = rows.iter().filter_map(|row| match row {
        Event::Plugin {
            name,
            kind,
            version,
            api_version,
            source,
            sha256,
            ..
        } => Some([
            name.as_str(),
            kind.as_str(),
            version.as_str(),
            api_version.as_str(),
            sha256.get(..12).unwrap_or(sha256),
            source.as_str(),
        ]),
        _ => None,
    });
    plain_table(
        &["NAME", "KIND", "VERSION", "API", "SHA256", "SOURCE"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, source: &str) -> Event {
        Event::Plugin {
            name: name.to_owned(),
            kind: crate::domain::PluginKind::SyncStrategy,
            version: "0.1.0".to_owned(),
            api_version: "0.1.0".to_owned(),
            source: source.to_owned(),
            sha256: "0123456789abcdef".to_owned(),
            description: String::new(),
        }
    }

    #[test]
    fn columns_are_aligned_two_spaces_apart_without_trailing_blanks() {
        let rows = [plugin("git", "builtin"), plugin("rogue", "/p/rogue.wasm")];
        assert_eq!(
            table(&rows),
            "NAME   KIND           VERSION  API    SHA256        SOURCE\n\
             git    sync-strategy  0.1.0    0.1.0  0123456789ab  builtin\n\
             rogue  sync-strategy  0.1.0    0.1.0  0123456789ab  /p/rogue.wasm"
        );
    }

    #[test]
    fn no_plugins_is_just_the_header() {
        assert_eq!(table(&[]), "NAME  KIND  VERSION  API  SHA256  SOURCE");
    }
}
