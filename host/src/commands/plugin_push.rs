//! `ops plugin push <wasm> oci://REF`.

use std::path::PathBuf;
use std::sync::Arc;

use super::plugin_common::CommandError;
use crate::distribution::fetch::oci::{self, Artifact, Reference};
use crate::distribution::signing::PluginSignature;
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
    check_tag(&reference, &name, &version)?;
    let config = serde_json::json!({"apiVersion": meta.api_version.to_string(), "kind": meta.kind.to_string(), "capabilities": super::plugin_common::grant_list(&meta.capabilities)});
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let created_at = created.clone();
    let signature = checked_signature(wasm_path, &wasm)?;
    let target = reference.clone();
    let (task_name, task_version) = (name.clone(), version.clone());
    let pushed = tokio::task::spawn_blocking(move || {
        let artifact = Artifact {
            wasm: &wasm,
            plugin: config,
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
    if let Some(armored) = signature {
        let (target, manifest, created) = (reference.clone(), digest.clone(), created_at);
        let at = tokio::task::spawn_blocking(move || {
            crate::distribution::fetch::push_signature(
                &target,
                &manifest,
                armored.as_bytes(),
                &created,
            )
        })
        .await
        .map_err(|e| Failure::new(Exit::Internal, anyhow::anyhow!("push task failed: {e}")))?
        .map_err(CommandError::from)?;
        printer.info(format!("pushed its signature ({at})"));
    }
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

/// `FILE.sig` beside the file, if there is one; one that does not sign
/// these bytes is refused before anything is pushed.
fn checked_signature(wasm_path: &std::path::Path, wasm: &[u8]) -> Result<Option<String>, Failure> {
    let mut path = wasm_path.as_os_str().to_owned();
    path.push(".sig");
    let path = PathBuf::from(path);
    let armored = match crate::local_file::read_local_text(&path, 64 << 10) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::new(
                Exit::Usage,
                anyhow::anyhow!("{}: {e}", path.display()),
            ))
        }
    };
    let from = path.display().to_string();
    let sig = PluginSignature::parse(&armored, &from)?;
    sig.verify(wasm).map_err(|e| {
        Failure::new(
            Exit::Usage,
            anyhow::anyhow!("{from} does not sign {}: {e}; nothing was pushed. Sign it again with `ops plugin sign`", wasm_path.display()),
        )
    })?;
    Ok(Some(armored))
}

/// A release's tag is its version: version ranges find releases by their
/// tags, and a tag that says another version would be found for the
/// wrong one.
fn check_tag(reference: &Reference, name: &str, version: &str) -> Result<(), Failure> {
    match reference.tag.as_deref() {
        Some(tag) if tag == version => Ok(()),
        tag => Err(Failure::new(
            Exit::Usage,
            anyhow::anyhow!(
                "{reference}: the tag {:?} is not the version of {name} ({version}); nothing was \
                 pushed. Push it as oci://{}/{}:{version} (raise `version` in its Cargo.toml \
                 for a new release)",
                tag.unwrap_or(""),
                reference.registry,
                reference.repository
            ),
        )),
    }
}
