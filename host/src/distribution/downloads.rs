//! Plugins named by `url` or `oci`, kept content-addressed in
//! `<cache>/downloads/<sha256>.wasm` (beside the compile cache's folder),
//! so that a run whose ops.lock pins a digest already here does not reach
//! the network.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::fetch::FetchError;
use super::signing::Found;

/// Gets the bytes at a `url`/`oci` source; the real one is
/// [`super::fetch::fetch`], tests count calls.
pub trait Fetcher: Send + Sync {
    fn fetch(&self, source: &str) -> Result<Vec<u8>, FetchError>;

    /// The signatures published with `source`, and where they were
    /// looked for.
    fn signature(&self, source: &str) -> Result<(Vec<Found>, String), FetchError> {
        Ok((
            Vec::new(),
            format!("{source} (no signature is looked for there)"),
        ))
    }
}

/// The network.
pub struct NetFetcher;

impl Fetcher for NetFetcher {
    fn fetch(&self, source: &str) -> Result<Vec<u8>, FetchError> {
        super::fetch::fetch(source)
    }

    fn signature(&self, source: &str) -> Result<(Vec<Found>, String), FetchError> {
        super::fetch::signature(source)
    }
}

#[derive(Debug, Clone)]
pub struct Downloads {
    dir: Option<PathBuf>,
}

impl Downloads {
    /// `downloads/` in the cache base ([`crate::plugin::ComponentCache::base_from_env`]).
    pub fn from_env() -> Downloads {
        Downloads {
            dir: crate::plugin::cache_base_from_env().map(|b| b.join("downloads")),
        }
    }

    pub fn at(dir: impl Into<PathBuf>) -> Downloads {
        Downloads {
            dir: Some(dir.into()),
        }
    }

    /// The bytes whose sha256 is `digest`, if they are here (and still
    /// have that digest).
    pub fn cached(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.path_of(digest)?;
        let bytes =
            crate::local_file::read_local_file(&path, crate::local_file::MAX_COMPONENT_FILE)
                .ok()?;
        (hex::encode(Sha256::digest(&bytes)) == digest).then_some(bytes)
    }

    /// The bytes of `source`: from here when `pinned` names a digest that
    /// is here, else fetched (and kept under their digest).
    pub fn get(
        &self,
        source: &str,
        pinned: Option<&str>,
        fetcher: &dyn Fetcher,
    ) -> Result<Vec<u8>, FetchError> {
        if let Some(bytes) = pinned.and_then(|digest| self.cached(digest)) {
            return Ok(bytes);
        }
        let bytes = fetcher.fetch(source)?;
        let digest = hex::encode(Sha256::digest(&bytes));
        // A cache that cannot be written costs a fetch next time, nothing
        // more.
        if let Some(path) = self.path_of(&digest) {
            let _ = store(&path, &bytes);
        }
        Ok(bytes)
    }

    /// The signatures kept for the plugin whose sha256 is `digest` (an
    /// empty list: it had none), if any were kept: a warm run checks them
    /// without the network.
    pub fn signatures(&self, digest: &str) -> Option<Vec<String>> {
        let path = self.path_of(digest)?.with_extension("sigs");
        let text = crate::local_file::read_local_text(&path, 1 << 20).ok()?;
        Some(split_armored(&text))
    }

    /// Keeps `armored` as the signatures of `digest`.
    pub fn keep_signatures(&self, digest: &str, armored: &[String]) {
        if let Some(path) = self.path_of(digest).map(|p| p.with_extension("sigs")) {
            // As for the bytes: a cache that cannot be written costs a
            // fetch next time.
            let _ = store(&path, armored.concat().as_bytes());
        }
    }

    fn path_of(&self, digest: &str) -> Option<PathBuf> {
        // Only a digest names a file here: nothing else can reach the path.
        let valid = format!("sha256:{digest}")
            .parse::<crate::domain::Digest>()
            .is_ok();
        Some(self.dir.as_ref()?.join(format!("{digest}.wasm"))).filter(|_| valid)
    }
}

/// Armored signatures written one after another, apart again.
fn split_armored(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
    text.split(BEGIN)
        .filter(|part| !part.trim().is_empty())
        .map(|part| format!("{BEGIN}{part}"))
        .collect()
}

fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize, Vec<u8>);

    impl Fetcher for Counting {
        fn fetch(&self, _source: &str) -> Result<Vec<u8>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(self.1.clone())
        }
    }

    #[test]
    fn a_pinned_digest_in_the_cache_is_not_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = Downloads::at(dir.path());
        let fetcher = Counting(AtomicUsize::new(0), b"\0asm plugin".to_vec());
        let digest = hex::encode(Sha256::digest(b"\0asm plugin"));
        let source = "https://example.com/p.wasm";

        assert_eq!(
            downloads.get(source, None, &fetcher).unwrap(),
            b"\0asm plugin"
        );
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 1);
        assert!(dir.path().join(format!("{digest}.wasm")).is_file());

        assert_eq!(
            downloads.get(source, Some(&digest), &fetcher).unwrap(),
            b"\0asm plugin"
        );
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 1, "served from the cache");

        // Without a pin (or with one not in the cache) it fetches.
        downloads.get(source, None, &fetcher).unwrap();
        downloads
            .get(source, Some(&"0".repeat(64)), &fetcher)
            .unwrap();
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_changed_cache_file_is_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = Downloads::at(dir.path());
        let fetcher = Counting(AtomicUsize::new(0), b"good".to_vec());
        let digest = hex::encode(Sha256::digest(b"good"));
        downloads.get("https://x/p", None, &fetcher).unwrap();
        std::fs::write(dir.path().join(format!("{digest}.wasm")), b"evil").unwrap();
        assert_eq!(
            downloads
                .get("https://x/p", Some(&digest), &fetcher)
                .unwrap(),
            b"good"
        );
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 2);
    }
}
