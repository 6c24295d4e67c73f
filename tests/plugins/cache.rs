//! The compile cache: a second load is served from disk; anything the host
//! cannot trust or load is recompiled and rewritten.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use ops::plugin::{ComponentCache, Limits, LoadSource, PluginSource, Runtime, BUILTINS};

fn git_bytes() -> Arc<[u8]> {
    Arc::from(BUILTINS.iter().find(|(n, _)| *n == "git").unwrap().1)
}

async fn load(dir: &std::path::Path) -> LoadSource {
    let rt = Runtime::with_cache(Limits::default(), ComponentCache::at(dir)).unwrap();
    let plugin = rt
        .load("git", PluginSource::Builtin, git_bytes(), None)
        .await
        .unwrap();
    assert_eq!(plugin.metadata().name, "git");
    plugin.load_source()
}

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_load_comes_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("components");
    assert_eq!(load(&dir).await, LoadSource::Compiled { stored: true });
    let files = artifacts(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.ends_with(".cwasm"));
    assert!(name.starts_with(&ops_sha(&git_bytes())), "{name}");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);

    // A new runtime (as in the next `ops` run) loads the artifact.
    assert_eq!(load(&dir).await, LoadSource::Cache);

    // A corrupt artifact is recompiled and rewritten, never trusted.
    std::fs::write(&files[0], b"not a compiled component").unwrap();
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(load(&dir).await, LoadSource::Compiled { stored: true });
    assert_eq!(load(&dir).await, LoadSource::Cache);

    // An artifact others could have written is not loaded.
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(load(&dir).await, LoadSource::Compiled { stored: true });
    assert_eq!(load(&dir).await, LoadSource::Cache);
    assert_eq!(artifacts(&dir).len(), 1, "no temp files left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cache_every_load_compiles() {
    let rt = Runtime::with_cache(Limits::default(), ComponentCache::disabled()).unwrap();
    for _ in 0..2 {
        let plugin = rt
            .load("git", PluginSource::Builtin, git_bytes(), None)
            .await
            .unwrap();
        assert_eq!(plugin.load_source(), LoadSource::Compiled { stored: false });
    }
}

fn ops_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
