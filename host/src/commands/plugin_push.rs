//! `ops plugin push <wasm> oci://REF`.

use std::path::PathBuf;
use std::sync::Arc;

use super::plugin_common::CommandError;
use crate::distribution::fetch::oci::{self, Artifact, Reference};
use crate::exit::{Exit, Failure};
use crate::output::{Event, Format, Printer};
use crate::plugin::PluginSource;

/// What `ops plugin push` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginPushSettings {
    /// The component to publish.
    pub wasm: PathBuf,
    /// oci://HOST[:PORT]/REPO:TAG
    pub reference: String,
    /// `--force`: move the tag even when it names other content.
    pub force: bool,
}

pub async fn run(settings: PluginPushSettings, printer: &Printer) -> Result<Exit, Failure> {
    let (wasm_path, reference, force) = (
        settings.wasm.as_path(),
        settings.reference.as_str(),
        settings.force,
    );
    // A bad reference is refused before anything is compiled.
    let reference = Reference::parse(reference).map_err(CommandError::from)?;
    let wasm: Arc<[u8]> = super::plugin_common::read_file(wasm_path)?.into();
    let what = wasm_path.display().to_string();
    let runtime = super::plugin_common::runtime()?;
    let plugin = super::plugin_common::load(
        &runtime,
        &what,
        PluginSource::Path(wasm_path.to_owned()),
        wasm.clone(),
    )
    .await?;
    let (imports, exports) = runtime.interfaces(&what, wasm.clone()).await?;
    let meta = plugin.metadata();
    let (name, version) = (meta.name.clone(), meta.version.to_string());
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let target = reference.clone();
    let (task_name, task_version) = (name.clone(), version.clone());
    let pushed = tokio::task::spawn_blocking(move || {
        let artifact = Artifact {
            wasm: &wasm,
            name: &task_name,
            version: &task_version,
            imports,
            exports,
            created,
        };
        oci::push(&target, &artifact, force)
    })
    .await
    .map_err(|e| Failure::new(Exit::Internal, anyhow::anyhow!("push task failed: {e}")))?
    .map_err(CommandError::from)?;

    let digest = pushed.digest;
    match printer.format() {
        Format::Json => printer.emit(&Event::PluginPushed {
            name,
            version,
            reference: reference.to_string(),
            digest,
        }),
        Format::Human => {
            printer.info(if pushed.unchanged {
                format!("{reference} already has {name} {version}; nothing was pushed")
            } else {
                format!("pushed {name} {version} to {reference}")
            });
            // The digest alone on stdout, for `digest=$(ops plugin push ...)`.
            printer.data(&digest);
        }
    }
    Ok(Exit::Success)
}
