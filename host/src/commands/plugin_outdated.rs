//! `ops plugin outdated`: for each plugin the project picks by a `version`
//! range, what ops.lock holds, the newest release in range this ops can
//! load (and its plugin API), the newest of all, and why a newer one is
//! held back. It reads tags and release configs only; nothing is
//! downloaded or changed.

use std::path::PathBuf;

use crate::config::Config;
use crate::distribution::lockfile::LockFile;
use crate::distribution::{ranges, versions};
use crate::exit::{Exit, Failure};
use crate::output::{plain_table, Event, Format, Printer};

/// What `ops plugin outdated` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginOutdatedSettings {
    /// `-f`: the config file; ops.lock is beside it.
    pub config_file: PathBuf,
}

pub async fn run(settings: PluginOutdatedSettings, printer: &Printer) -> Result<Exit, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let lock = LockFile::read(&LockFile::beside(&config.file))
        .map_err(crate::distribution::project::ProjectError::from)?;
    let env = |name: &str| std::env::var(name).ok();
    let mirror =
        crate::distribution::mirror::of(&config, &env).map_err(|e| Failure::new(Exit::Usage, e))?;
    let mut rows = Vec::new();
    for decl in &config.plugins {
        let Some(req_text) = &decl.version else {
            continue;
        };
        let outcome = ranges::survey(decl, None, mirror.as_deref()).await?;
        let req = ranges::requirement(decl);
        let chosen = outcome.chosen.as_ref();
        rows.push(Event::PluginOutdated {
            name: decl.name.clone(),
            requirement: req_text.value.clone(),
            locked: lock.get(&decl.name).map(|e| e.version.clone()),
            newest_in_range: chosen.map(|(v, _)| v.to_string()),
            newest_in_range_api: chosen.and_then(|(_, r)| r.api.clone()),
            newest: outcome.newest.as_ref().map(|v| v.to_string()),
            held_back: versions::held_back(&outcome, &req, &req_text.value),
        });
    }
    match printer.format() {
        Format::Json => rows.iter().for_each(|row| printer.emit(row)),
        Format::Human if rows.is_empty() => printer.info(format!(
            "{}: no plugin has a `version` range",
            config.file.display()
        )),
        Format::Human => printer.data(&table(&rows)),
    }
    Ok(Exit::Success)
}

fn table(rows: &[Event]) -> String {
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let rows = rows.iter().filter_map(|row| match row {
        Event::PluginOutdated {
            name,
            requirement,
            locked,
            newest_in_range,
            newest_in_range_api,
            newest,
            held_back,
        } => Some([
            name.clone(),
            requirement.clone(),
            dash(locked),
            dash(newest_in_range),
            dash(newest_in_range_api),
            dash(newest),
            dash(held_back),
        ]),
        _ => None,
    });
    plain_table(
        &[
            "NAME",
            "REQUIREMENT",
            "LOCKED",
            "IN RANGE",
            "API",
            "NEWEST",
            "HELD BACK",
        ],
        rows,
    )
}
