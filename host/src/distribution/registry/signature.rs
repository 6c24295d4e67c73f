//! Where a plugin's signature is found: beside its file or installed
//! copy, beside its URL, among its OCI referrers; for `url`/`oci` plugins
//! kept with the cached download so that a warm run reads no network.

use sha2::{Digest, Sha256};

use super::Registry;
use crate::distribution::signing::Found;
use crate::exit::ExitStatusOf;
use crate::plugin::{PluginError, PluginSource};

/// A signature is a few hundred bytes; anything near this is not one.
const MAX_SIGNATURE: u64 = 64 << 10;

impl Registry {
    /// The signature published with the plugin `name` (a `.sig` beside
    /// its file, URL or installed copy), and where it was looked for. A
    /// built-in is part of ops and has none.
    pub async fn signature(&self, name: &str) -> Result<(Vec<Found>, String), PluginError> {
        let entry = self.entry(name)?;
        let beside = |path: std::path::PathBuf| {
            let mut sig = path.into_os_string();
            sig.push(".sig");
            std::path::PathBuf::from(sig)
        };
        let read = |path: std::path::PathBuf| {
            let text = crate::local_file::read_local_text(&path, MAX_SIGNATURE);
            let from = path.display().to_string();
            match text {
                Ok(armored) => Ok((
                    vec![Found {
                        armored,
                        from: from.clone(),
                    }],
                    from,
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), from)),
                Err(source) => Err(PluginError::Read {
                    plugin: entry.name.clone(),
                    path,
                    source,
                }),
            }
        };
        match &entry.source {
            PluginSource::Builtin => Ok((Vec::new(), "built in".into())),
            PluginSource::Path(path) => read(beside(path.clone())),
            PluginSource::Installed => match self.store.as_ref().map(|s| s.wasm_path(name)) {
                Some(Ok(path)) => read(beside(path)),
                _ => Ok((Vec::new(), "the plugin store".into())),
            },
            PluginSource::Url(url) | PluginSource::Oci(url) => {
                self.fetched_signature(name, url).await
            }
        }
    }

    /// The signatures of a `url`/`oci` plugin: those kept with its
    /// cached bytes when ops.lock pins them (a warm run reaches no
    /// network), else fetched and kept.
    async fn fetched_signature(
        &self,
        name: &str,
        source: &str,
    ) -> Result<(Vec<Found>, String), PluginError> {
        let digest = hex::encode(Sha256::digest(&self.bytes(name).await?));
        let kept = self
            .cached
            .get(name)
            .filter(|d| **d == digest)
            .and_then(|_| self.downloads.signatures(&digest));
        if let Some(kept) = kept {
            let from = format!("{source} (signature kept in the download cache)");
            let found = kept
                .into_iter()
                .map(|armored| Found {
                    armored,
                    from: from.clone(),
                })
                .collect();
            return Ok((found, from));
        }
        let (fetcher, url) = (self.fetcher.clone(), source.to_owned());
        let found = tokio::task::spawn_blocking(move || fetcher.signature(&url))
            .await
            .map_err(|e| PluginError::Engine(format!("fetch task failed: {e}")))?
            .map_err(|source| PluginError::Fetch {
                plugin: name.to_owned(),
                exit: source.exit(),
                source: Box::new(source),
            })?;
        let armored: Vec<String> = found.0.iter().map(|f| f.armored.clone()).collect();
        self.downloads.keep_signatures(&digest, &armored);
        Ok(found)
    }
}
