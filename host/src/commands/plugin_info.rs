//! `ops plugin info <name>`: one plugin, and what the project in the
//! current directory grants it.

use std::path::{Path, PathBuf};

use super::plugin_common::{grant_line, grant_list, CommandError};
use crate::config::{Config, PluginDecl};
use crate::distribution::store::Store;
use crate::distribution::Registry;
use crate::exit::{Exit, Failure};
use crate::output::{Event, Format, Printer};
use crate::plugin::BUILTINS;

struct Shown {
    name: String,
    kind: crate::domain::PluginKind,
    version: String,
    api_version: String,
    source: String,
    sha256: String,
    capabilities: Vec<String>,
    builtin: bool,
}

/// What `ops plugin info` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginInfoSettings {
    pub name: String,
    /// `-f`: the project config whose grant is shown.
    pub config_file: PathBuf,
}

pub async fn run(settings: PluginInfoSettings, printer: &Printer) -> Result<Exit, Failure> {
    let (name, file) = (settings.name.as_str(), settings.config_file.as_path());
    let decls = if file.exists() {
        Some(Config::load(file, printer.redactor())?.plugins)
    } else {
        None
    };
    let store = Store::from_env().map_err(CommandError::from)?;
    let stored = match store.get(name) {
        Ok(found) => found,
        Err(crate::distribution::store::StoreError::BadName(_)) => None,
        Err(e) => return Err(CommandError::from(e).into()),
    };
    let declared_here = decls.iter().flatten().any(|d| d.name == name);
    // A project's own [plugins.<name>] path, url or oci wins over the store;
    // a declaration with none of them (only grants) uses the store's copy.
    let located_here = decls
        .iter()
        .flatten()
        .any(|d| d.name == name && !matches!(d.source, crate::config::DeclSource::Installed));
    let shown = match stored {
        Some(record) if !located_here => Shown {
            name: record.name,
            kind: record.kind,
            version: record.version,
            api_version: record.api_version,
            source: format!("store:{}", record.source),
            sha256: record.sha256,
            capabilities: record.capabilities,
            builtin: false,
        },
        _ if declared_here || BUILTINS.iter().any(|(b, _)| *b == name) => {
            loaded(name, decls.as_deref().unwrap_or(&[]), file).await?
        }
        _ => {
            let builtins: Vec<&str> = BUILTINS.iter().map(|(b, _)| *b).collect();
            return Err(super::plugin_remove::not_installed(&store, name, &builtins)?.into());
        }
    };
    let decl = decls.iter().flatten().find(|d| d.name == name);
    let granted = match (shown.builtin && decl.is_none(), decl) {
        (true, _) => shown.capabilities.clone(),
        (false, Some(decl)) => decl.grants.iter().map(|(g, _)| g.clone()).collect(),
        (false, None) => Vec::new(),
    };
    let config = decls.is_some().then(|| file.display().to_string());
    report(shown, granted, config, decl.is_some(), printer);
    Ok(Exit::Success)
}

/// A built-in, or a plugin the project's config names by path: loaded to
/// read its metadata.
async fn loaded(name: &str, decls: &[PluginDecl], file: &Path) -> Result<Shown, Failure> {
    let runtime = super::plugin_common::runtime()?;
    let mut registry = Registry::new(&runtime, decls)?;
    crate::distribution::ranges::point_at_locked(&mut registry, decls, file);
    let plugin = registry.get(name).await?;
    let meta = plugin.metadata();
    Ok(Shown {
        name: name.to_owned(),
        kind: meta.kind,
        version: meta.version.to_string(),
        api_version: meta.api_version.to_string(),
        source: plugin.source().to_string(),
        sha256: plugin.sha256().to_owned(),
        capabilities: grant_list(&meta.capabilities),
        builtin: matches!(plugin.source(), crate::plugin::PluginSource::Builtin),
    })
}

fn report(
    shown: Shown,
    granted: Vec<String>,
    config: Option<String>,
    declared: bool,
    printer: &Printer,
) {
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let grants = match (&config, declared, shown.builtin) {
        (_, false, true) => format!("{} (built-in: what it declares)", list(&granted)),
        (None, _, _) => "none (no ops.toml in this directory)".to_owned(),
        (Some(file), false, false) => format!(
            "none ({file} has no [plugins.{}]; to grant what it declares add\n              \
             [plugins.{}]\n              {})",
            shown.name,
            shown.name,
            grant_line(&shown.capabilities)
        ),
        (Some(file), true, _) => format!("{} ({file})", list(&granted)),
    };
    if printer.format() == Format::Json {
        printer.emit(&Event::PluginInfo {
            name: shown.name,
            kind: shown.kind,
            version: shown.version,
            api_version: shown.api_version,
            source: shown.source,
            sha256: shown.sha256,
            capabilities: shown.capabilities,
            granted,
            config,
        });
        return;
    }
    printer.data(&format!(
        "name:         {}\n\
         kind:         {}\n\
         version:      {}\n\
         plugin API:   {}\n\
         source:       {}\n\
         sha256:       {}\n\
         capabilities: {}\n\
         granted:      {grants}",
        shown.name,
        shown.kind,
        shown.version,
        shown.api_version,
        shown.source,
        shown.sha256,
        list(&shown.capabilities),
    ));
}
