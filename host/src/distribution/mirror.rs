//! Fetching `oci` plugins from a mirror: `OPS_PLUGIN_MIRROR`, else
//! `[plugins] mirror`, rewrites `oci://vendor-host/acme/sync:1.4` to
//! `oci://mirror-host/prefix/acme/sync:1.4`. Only where the bytes come
//! from changes: ops.lock keeps the vendor's source, and every pin (the
//! component's sha256, a range's manifest digest) is checked as it would
//! be against the vendor, so a mirror can withhold a plugin but not
//! change one.

use crate::config::{check_mirror, Config};
use crate::plugin::PluginSource;

use super::fetch::{self, oci::Reference, FetchError};
use super::lockfile::LockFile;
use super::Registry;

/// The environment variable that names a mirror (it wins over the file).
pub const ENV: &str = "OPS_PLUGIN_MIRROR";

#[derive(Debug, thiserror::Error)]
#[error("{ENV}: {0}")]
pub struct MirrorError(String);

/// The mirror in effect: the environment's, else the project's.
pub fn of(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, MirrorError> {
    if let Some(text) = env(ENV).filter(|t| !t.is_empty()) {
        check_mirror(&text).map_err(MirrorError)?;
        return Ok(Some(text));
    }
    Ok(config.plugin_rules.mirror.as_ref().map(|m| m.value.clone()))
}

/// `source` (an `oci://` reference) as the mirror serves it; anything
/// else as it is. (With a layout folder as `mirror`, the same path under
/// it.)
pub fn rewrite(source: &str, mirror: &str) -> String {
    let Some(rest) = source.strip_prefix("oci://") else {
        return source.to_owned();
    };
    let Some((_, path)) = rest.split_once('/') else {
        return source.to_owned();
    };
    format!("{}/{path}", mirror.trim_end_matches('/'))
}

/// Points every declared `oci` plugin of `registry` at `mirror`.
pub fn apply(registry: &mut Registry, config: &Config, mirror: &str) {
    for decl in &config.plugins {
        if let Some(PluginSource::Oci(source)) = registry.source_of(&decl.name) {
            let mirrored = rewrite(source, mirror);
            registry.pick_source(&decl.name, PluginSource::Oci(mirrored));
        }
    }
}

/// One plugin `copy_locked` copied.
#[derive(Debug, Clone)]
pub struct Mirrored {
    pub name: String,
    pub version: String,
    /// Where it now is.
    pub to: String,
    /// The manifest digest, the same on both sides.
    pub manifest: String,
    pub signatures: usize,
}

/// Copies every `oci` plugin of `lock` (as it locks it: a range's release
/// by its manifest digest, tagged with its version) with its signatures
/// to `mirror`: a registry (`oci://...`), else an OCI image layout folder.
/// Blocking. Plugins from elsewhere are left out (returned by name).
pub fn copy_locked(
    lock: &LockFile,
    mirror: &str,
    created: &str,
) -> Result<(Vec<Mirrored>, Vec<String>), FetchError> {
    let mirror = mirror.trim_end_matches('/');
    let (mut copied, mut skipped) = (Vec::new(), Vec::new());
    for entry in lock.entries() {
        if !entry.source.starts_with("oci://") {
            skipped.push(entry.name.clone());
            continue;
        }
        let (from, to) = match &entry.range {
            Some(range) => (
                format!("{}@{}", entry.source, range.manifest),
                format!("{}:{}", rewrite(&entry.source, mirror), entry.version),
            ),
            None => (entry.source.clone(), rewrite(&entry.source, mirror)),
        };
        let from_ref = Reference::parse(&from)?;
        let (to, manifest, found) = if mirror.starts_with("oci://") {
            let to_ref = Reference::parse(&to)?;
            let manifest = fetch::copy::release(&from_ref, &to_ref)?;
            let found = signatures(&from_ref, &manifest)?;
            for signature in &found {
                fetch::push_signature(&to_ref, &manifest, signature.as_bytes(), created)?;
            }
            (to, manifest, found)
        } else {
            let pulled = fetch::copy::pull_release(&from_ref)?;
            let found = signatures(&from_ref, &pulled.digest)?;
            // `to` is `<mirror>/<repository path>[:tag]`.
            let ref_name = to.get(mirror.len()..).unwrap_or("").trim_start_matches('/');
            let dir = std::path::Path::new(mirror);
            super::layout::add(dir, ref_name, &pulled, &found, created).map_err(|e| {
                FetchError::Transport {
                    url: dir.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            (
                format!("{}#{ref_name}", dir.display()),
                pulled.digest,
                found,
            )
        };
        copied.push(Mirrored {
            name: entry.name.clone(),
            version: entry.version.clone(),
            to,
            manifest,
            signatures: found.len(),
        });
    }
    Ok((copied, skipped))
}

/// The armored signatures of the manifest `digest` in `from`'s repository.
fn signatures(from: &Reference, digest: &str) -> Result<Vec<String>, FetchError> {
    let pinned = Reference {
        tag: None,
        digest: Some(digest.to_owned()),
        ..from.clone()
    };
    let (found, _) = fetch::signature(&pinned.to_string())?;
    Ok(found.into_iter().map(|f| f.armored).collect())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn the_repository_path_goes_under_the_prefix() {
        assert_eq!(
            rewrite("oci://ghcr.io/acme/sync:1.4", "oci://10.0.0.5:5000/mirror"),
            "oci://10.0.0.5:5000/mirror/acme/sync:1.4"
        );
        assert_eq!(
            rewrite("oci://ghcr.io/acme/sync@sha256:ab", "oci://m.internal/"),
            "oci://m.internal/acme/sync@sha256:ab"
        );
        assert_eq!(
            rewrite("https://x.example/a.wasm", "oci://m"),
            "https://x.example/a.wasm"
        );
    }
}
