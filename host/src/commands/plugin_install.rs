//! `ops plugin install <file | https://URL | oci://REF> [--sha256 HEX]`.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::plugin_common::{grant_line, grant_list, CommandError};
use crate::distribution::fetch;
use crate::distribution::signing::{self, Checked, Found, Subject, TrustFile, TrustStore};
use crate::distribution::store::{Installed, Store};
use crate::exit::{Exit, Failure};
use crate::output::{Event, Format, Printer};
use crate::plugin::PluginSource;

/// What `ops plugin install` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginInstallSettings {
    /// A .wasm file, an https:// URL or an oci:// reference.
    pub source: String,
    /// `--sha256`: refuse it unless its digest is this.
    pub sha256: Option<String>,
}

pub async fn run(settings: PluginInstallSettings, printer: &Printer) -> Result<Exit, Failure> {
    let (source, sha256) = (settings.source.as_str(), settings.sha256.as_deref());
    let expected = sha256.map(normalise_digest).transpose()?;
    let (bytes, recorded, load_source) = read(source, printer).await?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if let Some(expected) = expected {
        if expected != actual {
            return Err(CommandError::DigestMismatch {
                what: recorded,
                expected,
                actual,
            }
            .into());
        }
    }

    let runtime = super::plugin_common::runtime()?;
    let wasm: Arc<[u8]> = bytes.into();
    let plugin = super::plugin_common::load(&runtime, &recorded, load_source, wasm.clone()).await?;
    let meta = plugin.metadata();
    let capabilities = grant_list(&meta.capabilities);
    let installed = Installed {
        name: meta.name.clone(),
        version: meta.version.to_string(),
        kind: meta.kind,
        api_version: meta.api_version.to_string(),
        source: recorded,
        sha256: actual,
        capabilities,
        description: meta.description.clone(),
    };
    let signed = signature(source, &installed.name, &wasm).await?;
    let store = Store::from_env().map_err(CommandError::from)?;
    let previous = store.get(&installed.name).map_err(CommandError::from)?;
    store.put(&installed, &wasm).map_err(CommandError::from)?;
    let armored = signed.as_ref().map(|(found, _)| found.armored.as_str());
    store
        .put_signature(&installed.name, armored)
        .map_err(CommandError::from)?;
    report(&installed, previous.map(|p| p.version), printer);
    if let Some((_, checked)) = signed {
        printer.info(match checked {
            Checked::Signed {
                principal: Some(p),
                fingerprint,
            } => format!("signed by {p} ({fingerprint})"),
            Checked::Signed { fingerprint, .. } => format!(
                "signed by key {fingerprint}, which none of your allowed_signers files trusts"
            ),
            Checked::Unsigned => "not signed".into(),
        });
    }
    Ok(Exit::Success)
}

/// The signature published with `source` (`FILE.sig`, `URL.sig`, an OCI
/// referrer), checked against the bytes: a signature that does not match
/// installs nothing.
async fn signature(
    source: &str,
    name: &str,
    wasm: &[u8],
) -> Result<Option<(Found, Checked)>, Failure> {
    let owned = source.to_owned();
    let (mut found, looked) = if ["https://", "http://", "oci://"]
        .iter()
        .any(|s| source.starts_with(s))
    {
        tokio::task::spawn_blocking(move || fetch::signature(&owned))
            .await
            .map_err(|e| Failure::new(Exit::Internal, anyhow::anyhow!("fetch task failed: {e}")))?
            .map_err(CommandError::from)?
    } else {
        let path = format!("{source}.sig");
        match crate::local_file::read_local_text(Path::new(&path), 64 << 10) {
            Ok(armored) => (
                vec![Found {
                    armored,
                    from: path.clone(),
                }],
                path,
            ),
            Err(_) => (Vec::new(), path),
        }
    };
    let Some(found) = found.pop() else {
        return Ok(None);
    };
    let env = |name: &str| std::env::var(name).ok();
    let trust = TrustStore::load(TrustFile::all(None, &env))?;
    let subject = Subject {
        plugin: name,
        bytes: wasm,
        found: Some(&found),
        looked: &looked,
        source_at: source,
    };
    let checked = signing::check(&subject, None, &trust, None, None)?;
    Ok(Some((found, checked)))
}

/// Accepts `HEX` or `sha256:HEX`, any case.
fn normalise_digest(value: &str) -> Result<String, CommandError> {
    crate::domain::Digest::from_pin(value)
        .map(|digest| digest.hex().to_owned())
        .map_err(|_| CommandError::BadDigest {
            value: value.to_owned(),
        })
}

/// The bytes, the source as the store records it (a file's absolute
/// path, a URL or reference as given) and the source for error messages.
async fn read(source: &str, printer: &Printer) -> Result<(Vec<u8>, String, PluginSource), Failure> {
    let remote = ["https://", "http://", "oci://"]
        .iter()
        .any(|scheme| source.starts_with(scheme));
    if remote {
        printer.debug(format!("fetching {source}"));
        let owned = source.to_owned();
        let bytes = tokio::task::spawn_blocking(move || fetch::fetch(&owned))
            .await
            .map_err(|e| Failure::new(Exit::Internal, anyhow::anyhow!("fetch task failed: {e}")))?
            .map_err(CommandError::from)?;
        return Ok((bytes, source.to_owned(), PluginSource::Path(source.into())));
    }
    let path = Path::new(source);
    let bytes = super::plugin_common::read_file(path)?;
    // The file was just read, so it exists and resolves.
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let shown = absolute.display().to_string();
    Ok((bytes, shown, PluginSource::Path(absolute)))
}

fn report(installed: &Installed, previous: Option<String>, printer: &Printer) {
    let config = format!(
        "[plugins.{}]\n{}",
        installed.name,
        grant_line(&installed.capabilities)
    );
    if printer.format() == Format::Json {
        printer.emit(&Event::PluginInstalled {
            name: installed.name.clone(),
            version: installed.version.clone(),
            previous_version: previous,
            kind: installed.kind,
            api_version: installed.api_version.clone(),
            source: installed.source.clone(),
            sha256: installed.sha256.clone(),
            capabilities: installed.capabilities.clone(),
            config,
        });
        return;
    }
    let what = match previous {
        Some(old) if old == installed.version => {
            format!("reinstalled {} {old}", installed.name)
        }
        Some(old) => format!(
            "reinstalled {} {old} -> {}",
            installed.name, installed.version
        ),
        None => format!("installed {} {}", installed.name, installed.version),
    };
    let declared = if installed.capabilities.is_empty() {
        "none".to_owned()
    } else {
        installed.capabilities.join(", ")
    };
    printer.data(&format!(
        "{what} ({}, plugin API {})\n\
         source:       {}\n\
         sha256:       {}\n\
         capabilities: {declared}\n\
         \n\
         To use it in a project, add to its ops.toml:\n\
         \n\
         {config}",
        installed.kind, installed.api_version, installed.source, installed.sha256
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_accepted_with_or_without_prefix() {
        let hex = "AB".repeat(32);
        assert_eq!(normalise_digest(&hex).unwrap(), "ab".repeat(32));
        assert_eq!(
            normalise_digest(&format!("sha256:{hex}")).unwrap(),
            "ab".repeat(32)
        );
        assert!(normalise_digest("abc").is_err());
        assert!(normalise_digest(&"g".repeat(64)).is_err());
    }
}
