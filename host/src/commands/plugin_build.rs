//! `ops plugin build`: a plugin crate into a component this ops loads.

use std::path::PathBuf;

use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// What `ops plugin build` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginBuildSettings {
    /// The plugin crate's folder.
    pub dir: PathBuf,
}

/// `ops plugin build [DIR]`: the component's path is the last line of
/// stdout, for scripts.
pub async fn run(settings: PluginBuildSettings, printer: &Printer) -> Result<Exit, Failure> {
    let built = crate::author::build(&settings.dir).await?;
    let meta = &built.metadata;
    let capabilities: Vec<String> = meta.capabilities.iter().map(|c| c.to_string()).collect();
    printer.info(format!(
        "built {} {} ({}, API {}) for {} in {:.1}s: {} bytes; it loads in this ops",
        meta.name,
        meta.version,
        meta.kind,
        meta.api_version,
        built.method.target(),
        built.elapsed.as_secs_f64(),
        built.size,
    ));
    if !capabilities.is_empty() {
        // A capability's kind alone grants everything of that kind it declares.
        let grants: Vec<String> = capabilities
            .iter()
            .map(|c| format!("{:?}", c.split(':').next().unwrap_or(c)))
            .collect();
        printer.info(format!(
            "it declares {}; a project that uses it adds [plugins.{}] grant = [{}]",
            capabilities.join(", "),
            meta.name,
            grants.join(", ")
        ));
    }
    printer.data(&built.path.display().to_string());
    Ok(Exit::Success)
}
