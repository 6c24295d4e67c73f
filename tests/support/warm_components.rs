//! Compiled built-in plugins shared by every test home.
//!
//! Each test gets a fresh HOME, and ops compiles the built-in components
//! (docker, git, rsync, token-auth) into `~/.cache/ops/components` on its
//! first load there: about a CPU-second per home, paid by every one of the
//! end-to-end tests. They are compiled once per test build instead, into a
//! shared folder, and each new home starts with copies of them. Only the
//! built-ins are seeded: tests that check when a plugin is compiled (pins,
//! signatures, installs) use plugins of their own, whose artifacts are never
//! seeded. ops loads a seeded artifact as it loads its own (same folder
//! rights, same name: component digest and engine hash).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The sha256 of each built-in component (`plugins/dist/*.wasm`).
fn builtin_digests() -> Vec<String> {
    let mut digests = Vec::new();
    for entry in fs::read_dir(super::repo_root().join("plugins/dist")).expect("plugins/dist") {
        let path = entry.expect("dist entry").path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let bytes = fs::read(&path).expect("read a built-in component");
            digests.push(super::sha256_hex(&bytes));
        }
    }
    digests
}

/// Artifacts in `dir` of the components whose digests are given.
fn artifacts(dir: &Path, digests: &[String]) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".cwasm") && digests.iter().any(|d| name.starts_with(d.as_str()))
        })
        .collect()
}

/// The shared artifacts, compiled by `ops plugin list` (which loads every
/// built-in) when any is missing. Several test processes start at once: a
/// file lock lets one compile while the others wait.
fn shared_artifacts() -> Vec<PathBuf> {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ops-test-warm-home");
    let dir = home.join(".cache/ops/components");
    let digests = builtin_digests();
    fs::create_dir_all(&home).expect("warm home");
    let _lock = super::docker::lock_file(home.join("lock"));
    let found = artifacts(&dir, &digests);
    if found.len() >= digests.len() {
        return found;
    }
    let status = Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(["plugin", "list"])
        .env("HOME", &home)
        .env_remove("OPS_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ops plugin list runs");
    assert!(
        status.success(),
        "ops plugin list failed in {}",
        home.display()
    );
    artifacts(&dir, &digests)
}

/// Copies the compiled built-ins into `home`'s component cache.
pub fn seed(home: &Path) {
    let dir = home.join(".cache/ops/components");
    fs::create_dir_all(&dir).expect("component cache");
    for d in [home.join(".cache"), home.join(".cache/ops"), dir.clone()] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).expect("chmod 700");
    }
    for artifact in shared_artifacts() {
        let name = artifact.file_name().expect("artifact name");
        fs::copy(&artifact, dir.join(name)).expect("copy a compiled built-in");
    }
}
