//! `ops plugin list`: every built-in and installed plugin with its kind,
//! version, API version, source and a sha256 prefix.

use std::path::Path;

use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output::{Event, Format, Printer};

use super::{Limits, Registry, Runtime};

pub async fn run(file: &Path, printer: &Printer) -> Result<Exit, Failure> {
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
    let registry = Registry::new(&runtime, &installed)?;

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (name, source) in registry.entries() {
        match registry.get(name).await {
            Ok(plugin) => {
                let meta = plugin.metadata();
                rows.push(Event::Plugin {
                    name: name.to_owned(),
                    kind: meta.kind.to_string(),
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

fn table(rows: &[Event]) -> String {
    let mut cells = vec![[
        "NAME".to_owned(),
        "KIND".to_owned(),
        "VERSION".to_owned(),
        "API".to_owned(),
        "SHA256".to_owned(),
        "SOURCE".to_owned(),
    ]];
    for row in rows {
        if let Event::Plugin {
            name,
            kind,
            version,
            api_version,
            source,
            sha256,
            ..
        } = row
        {
            cells.push([
                name.clone(),
                kind.clone(),
                version.clone(),
                api_version.clone(),
                sha256.chars().take(12).collect(),
                source.clone(),
            ]);
        }
    }
    let mut widths = [0usize; 6];
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let lines: Vec<String> = cells
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            line
        })
        .collect();
    lines.join("\n")
}
