//! Version ranges against the harness's registry (htpasswd auth):
//! `[plugins.NAME] oci = "oci://host/repo"` with `version = "^1.4"` picks
//! the newest release that fits from the repository's tags, reading only
//! the releases' configs; ops.lock keeps it while the requirement stays.
//!
//! Releases: the committed `dir-sync` test plugin with its version string
//! ("0.1.0", which occurs once in the component, in its data) replaced by
//! another of the same length: a real component, built by the toolchain,
//! whose `metadata` says that version, without compiling one per version.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::support::build::BuildFixture;

const REPO: &str = "plugins/dir-sync";

pub fn dist_dir_sync() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/testing/dir-sync.wasm"),
    )
    .unwrap()
}

/// The dir-sync component saying it is `version` (5 characters).
pub fn as_version(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 5, "{version}");
    let mut bytes = dist_dir_sync();
    let at: Vec<usize> = bytes
        .windows(5)
        .enumerate()
        .filter(|(_, w)| *w == b"0.1.0")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "the version string occurs once in dir-sync.wasm"
    );
    bytes[at[0]..at[0] + 5].copy_from_slice(version.as_bytes());
    bytes
}

/// Pushes dir-sync `version` with `ops plugin push`.
pub fn release(fx: &BuildFixture, version: &str) -> PathBuf {
    let wasm = fx.home.path().join(format!("rel-{version}/dir-sync.wasm"));
    std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
    std::fs::write(&wasm, as_version(version)).unwrap();
    let reference = format!("oci://{}/{REPO}:{version}", fx.registry.host());
    fx.ops()
        .args(["plugin", "push"])
        .arg(&wasm)
        .arg(&reference)
        .run()
        .expect_success();
    wasm
}

/// Rewrites the config of `REPO:tag` to claim plugin API `api`, through
/// the registry's API: what a registry holding such a release serves.
pub fn claim_api(fx: &BuildFixture, tag: &str, api: &str) {
    let manifest = fx.registry.manifest(REPO, tag).unwrap().json;
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let mut config: Value = serde_json::from_slice(&fx.registry.blob(REPO, config_digest)).unwrap();
    config["ops"]["apiVersion"] = json!(api);
    let config = serde_json::to_vec(&config).unwrap();
    let digest = upload(fx, &config);
    let mut manifest = manifest.clone();
    manifest["config"]["digest"] = json!(digest);
    manifest["config"]["size"] = json!(config.len());
    put(
        fx,
        &format!("/v2/{REPO}/manifests/{tag}"),
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
}

fn basic(fx: &BuildFixture) -> String {
    let pair = format!("{}:{}", fx.registry.username(), fx.registry.token());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn upload(fx: &BuildFixture, bytes: &[u8]) -> String {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    let agent = ureq::Agent::new_with_defaults();
    let url = format!("http://{}/v2/{REPO}/blobs/uploads/", fx.registry.host());
    let answer = agent
        .post(&url)
        .header("Authorization", &basic(fx))
        .send(&[][..])
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let location = if location.starts_with("http") {
        location
    } else {
        format!("http://{}{location}", fx.registry.host())
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    agent
        .put(&format!("{location}{sep}digest={digest}"))
        .header("Authorization", &basic(fx))
        .header("Content-Type", "application/octet-stream")
        .send(bytes)
        .unwrap();
    digest
}

fn put(fx: &BuildFixture, path: &str, content_type: &str, bytes: &[u8]) {
    ureq::Agent::new_with_defaults()
        .put(&format!("http://{}{path}", fx.registry.host()))
        .header("Authorization", &basic(fx))
        .header("Content-Type", content_type)
        .send(bytes)
        .unwrap();
}

pub fn project(fx: &BuildFixture, requirement: &str) {
    let toml = format!(
        "{}\n[build.dir-sync]\ngreeting = \"hello ranges\"\n\n[plugins.dir-sync]\n\
         oci = \"oci://{}/{REPO}\"\nversion = \"{requirement}\"\ngrant = [\"remote-exec\"]\n",
        fx.config.to_toml(),
        fx.registry.host()
    );
    fx.home.write("ops.toml", &toml);
}

pub fn fixture() -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    fx.docker_login();
    fx
}

pub fn lock(fx: &BuildFixture) -> String {
    std::fs::read_to_string(fx.home.path().join("ops.lock")).unwrap_or_default()
}

/// The line of `needle` in ops.toml.
pub fn line_of(fx: &BuildFixture, needle: &str) -> usize {
    let text = std::fs::read_to_string(fx.home.path().join("ops.toml")).unwrap();
    text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
}

fn tag_listings(fx: &BuildFixture) -> usize {
    fx.registry.log().matches("/tags/list").count()
}

#[test]
fn a_range_picks_the_newest_release_that_fits_and_keeps_it_while_locked() {
    let fx = fixture();
    for v in ["1.3.0", "1.4.0", "1.5.0"] {
        release(&fx, v);
    }
    project(&fx, "^1.4");
    fx.ops().arg("build").run().expect_success();
    let text = lock(&fx);
    assert!(text.contains("version = \"1.5.0\""), "{text}");
    assert!(text.contains("requirement = \"^1.4\""), "{text}");
    assert!(
        text.contains("api = \"0.2.0\"") || text.contains("api = \"0."),
        "{text}"
    );
    assert!(text.contains("manifest = \"sha256:"), "{text}");
    assert!(
        text.contains(&format!("source = \"oci://{}/{REPO}\"", fx.registry.host())),
        "{text}"
    );

    // `plugin list` and `info` show the locked release.
    let out = fx.ops().args(["plugin", "list"]).run();
    out.expect_success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("dir-sync"))
        .unwrap_or_default();
    assert!(row.contains(" 1.5.0 "), "{}", out.stdout);
    let out = fx.ops().args(["plugin", "info", "dir-sync"]).run();
    out.expect_success();
    out.expect_stdout_contains("1.5.0");

    // A newer release in range: runs keep the locked one and list no tags.
    release(&fx, "1.6.0");
    let listed = tag_listings(&fx);
    fx.ops().args(["build", "--locked"]).run().expect_success();
    fx.ops().arg("build").run().expect_success();
    assert_eq!(lock(&fx), text);
    assert_eq!(tag_listings(&fx), listed, "a locked range lists no tags");

    // A changed requirement is a change ops.lock does not have.
    project(&fx, "~1.4");
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_code(2);
    out.expect_stderr_contains("--locked: ");
    out.expect_stderr_contains(
        "plugin dir-sync is locked at 1.5.0 for \"^1.4\", but ops.toml now asks for \"~1.4\"",
    );
    assert_eq!(lock(&fx), text);
    // Without --locked it is picked anew: ~1.4 allows 1.4.x only.
    fx.ops().arg("build").run().expect_success();
    assert!(lock(&fx).contains("version = \"1.4.0\""), "{}", lock(&fx));
}

#[test]
fn a_release_for_an_api_this_ops_cannot_load_is_skipped_and_named() {
    let fx = fixture();
    release(&fx, "1.9.3");
    release(&fx, "2.0.0");
    claim_api(&fx, "2.0.0", "0.9.0");
    // In a wide range it is passed over for the newest that fits.
    project(&fx, ">=1.4");
    fx.ops().arg("build").run().expect_success();
    assert!(lock(&fx).contains("version = \"1.9.3\""), "{}", lock(&fx));

    // When it is all the range allows: exit 2, why, and what would fit.
    std::fs::remove_file(fx.home.path().join("ops.lock")).unwrap();
    project(&fx, "^2");
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    let line = line_of(&fx, "version = ");
    out.expect_stderr_contains(&format!("ops.toml:{line}"));
    out.expect_stderr_contains(
        "plugin dir-sync: nothing satisfies plugins.dir-sync.version = \"^2\"",
    );
    out.expect_stderr_contains("2.0.0 targets plugin API 0.9.0, this ops implements 0.1.0-");
    out.expect_stderr_contains("; newest that fits: 1.9.3");
    assert_eq!(fx.node.logins(), before, "refused before anything remote");
    assert!(!fx.home.path().join("ops.lock").exists());
}

#[test]
fn outdated_shows_what_is_held_back_and_update_moves_within_the_range() {
    let fx = fixture();
    for v in ["1.4.0", "1.5.0", "1.6.0"] {
        release(&fx, v);
    }
    claim_api(&fx, "1.6.0", "0.9.0");
    project(&fx, "^1.4");

    // --precise outside the range: refused, nothing written.
    let out = fx
        .ops()
        .args(["plugin", "update", "dir-sync", "--precise", "1.3.0"])
        .run();
    out.expect_code(2);
    out.expect_stderr_contains(
        "--precise 1.3.0: 1.3.0 does not satisfy plugins.dir-sync.version = \"^1.4\"",
    );
    assert!(!fx.home.path().join("ops.lock").exists());

    let out = fx
        .ops()
        .args(["plugin", "update", "dir-sync", "--precise", "1.4.0"])
        .run();
    out.expect_success();
    out.expect_stderr_contains("dir-sync: added 1.4.0");
    out.expect_stderr_contains("dir-sync: 1.5.0 is the newest release within its range");
    assert!(lock(&fx).contains("version = \"1.4.0\""), "{}", lock(&fx));

    // 1.6.0 is in range but for an API this ops cannot load.
    let out = fx.ops().args(["plugin", "outdated"]).run();
    out.expect_success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("dir-sync"))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_owned();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..6],
        [
            "dir-sync",
            "^1.4",
            "1.4.0",
            "1.5.0",
            ops::plugin::API_VERSION,
            "1.6.0"
        ],
        "{row}"
    );
    assert!(
        row.contains("1.6.0 targets plugin API 0.9.0, this ops implements 0.1.0-"),
        "{row}"
    );

    // A release outside the range, in JSON.
    release(&fx, "2.0.0");
    let out = fx
        .ops()
        .args(["--output", "json", "plugin", "outdated"])
        .run();
    out.expect_success();
    let event: Value = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "plugin_outdated")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(event["name"], "dir-sync");
    assert_eq!(event["locked"], "1.4.0");
    assert_eq!(event["newest_in_range"], "1.5.0");
    assert_eq!(event["newest"], "2.0.0");
    assert_eq!(event["held_back"], "2.0.0 is outside \"^1.4\"");

    // update moves to the newest that fits, and says so.
    let before = lock(&fx);
    let out = fx.ops().args(["plugin", "update", "dir-sync"]).run();
    out.expect_success();
    out.expect_stderr_contains("dir-sync: 1.4.0 -> 1.5.0 (sha256 ");
    let after = lock(&fx);
    assert!(after.contains("version = \"1.5.0\""), "{after}");
    assert_ne!(before, after);
    fx.ops().args(["build", "--locked"]).run().expect_success();
}

/// Puts the manifest `REPO:from` under `tag` as well, through the
/// registry's API: a tag that lies about the version it names.
fn retag(fx: &BuildFixture, from: &str, tag: &str) {
    let manifest = fx.registry.manifest(REPO, from).unwrap().json;
    put(
        fx,
        &format!("/v2/{REPO}/manifests/{tag}"),
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
}

#[test]
fn a_release_whose_config_or_tag_lies_is_refused_at_load() {
    let fx = fixture();
    release(&fx, "1.4.0");
    release(&fx, "1.5.0");
    // 1.5.0's config claims the other API this ops implements.
    claim_api(&fx, "1.5.0", "0.1.0");
    project(&fx, "^1.4");
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!(
        "its release config says plugin API 0.1.0, but the component targets {}; the \
         registry describes this release wrongly, so it was refused before it ran",
        ops::plugin::API_VERSION
    ));
    assert_eq!(fx.node.logins(), before);
    assert!(!fx.home.path().join("ops.lock").exists());

    // A tag 1.6.0 that names the 1.4.0 component.
    retag(&fx, "1.4.0", "1.6.0");
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains("it is tagged 1.6.0, but the component says it is version 1.4.0");
}

/// A person at a terminal hears of a newer release in range of a locked
/// plugin once, and then not again for 14 days; the tags are read for it
/// on that one run only. CI and JSON output never hear of it.
#[test]
fn a_terminal_run_says_once_that_a_newer_release_in_range_is_out() {
    let fx = fixture();
    release(&fx, "1.4.0");
    project(&fx, "^1.4");
    fx.ops().arg("build").run().expect_success();
    let locked = lock(&fx);
    assert!(locked.contains("version = \"1.4.0\""), "{locked}");
    release(&fx, "1.5.0");
    let notice = "plugin dir-sync 1.5.0 is out, within its version range; take it with \
                  `ops plugin update dir-sync`";

    // Not in CI, not in JSON output, not when nobody watches: and then no
    // tags are read either.
    let listed = tag_listings(&fx);
    let out = fx.ops().env("CI", "true").arg("build").run_on_terminal();
    out.expect_success();
    assert!(!out.stdout.contains("is out, within"), "{}", out.stdout);
    let out = fx
        .ops()
        .args(["build", "--output", "json"])
        .run_on_terminal();
    out.expect_success();
    assert!(!out.stdout.contains("is out, within"), "{}", out.stdout);
    let out = fx.ops().arg("build").run();
    out.expect_success();
    assert!(!out.stderr.contains("is out, within"), "{}", out.stderr);
    assert_eq!(tag_listings(&fx), listed);

    // At a terminal: once, with the tags read on that run only (the
    // registry logs each request of a listing, challenge included), and
    // ops.lock unchanged.
    let out = fx.ops().arg("build").run_on_terminal();
    out.expect_success();
    assert!(out.stdout.contains(notice), "{}", out.stdout);
    let read = tag_listings(&fx);
    assert!(read > listed, "the tags were not read");
    let out = fx.ops().arg("build").run_on_terminal();
    out.expect_success();
    assert!(!out.stdout.contains("is out, within"), "{}", out.stdout);
    assert_eq!(tag_listings(&fx), read, "the tags were read again");
    assert_eq!(lock(&fx), locked);
    let state = fx.home.path().join(".local/state/ops/notices");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}
