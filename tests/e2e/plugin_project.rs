//! A project using plugins by name: a sync strategy installed in the
//! user's plugin store (`source = "dir-sync"`) drives a real build on the
//! node; ops.lock is written on the first run and checked on every run
//! after; `--locked` refuses a change; a plugin declaring more than it was
//! granted is stopped before ops connects; unknown names and plugins of the
//! wrong kind are config errors at their line; a third-party image builder
//! owns its keys of `[build.image]`.

use std::path::{Path, PathBuf};

use ops::distribution::store::{Installed, Store};
use sha2::Digest;

use crate::support::build::BuildFixture;

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist/testing")
        .join(format!("{name}.wasm"))
}

fn digest_of(name: &str) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(dist(name)).unwrap()))
}

/// Puts the test plugin `name` (a `kind` declaring remote-exec) into the
/// store of the fixture's client HOME, as `ops plugin install` would.
fn install(fx: &BuildFixture, name: &str, kind: &str) {
    let bytes = std::fs::read(dist(name)).unwrap();
    let store = Store::at(fx.home.path().join(".local/share/ops"));
    let installed = Installed {
        name: name.into(),
        version: "0.1.0".into(),
        kind: kind.parse().unwrap(),
        api_version: "0.2.0".into(),
        source: dist(name).display().to_string(),
        sha256: digest_of(name),
        capabilities: vec!["remote-exec".into()],
        description: String::new(),
    };
    store.put(&installed, &bytes).unwrap();
}

/// A fixture whose build syncs with `dir-sync` (installed) and prints the
/// file it wrote; no images.
fn dir_sync_fixture() -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    install(&fx, "dir-sync", "sync-strategy");
    fx
}

fn toml(fx: &BuildFixture, grant: &str) -> String {
    format!(
        "{}\n[build.dir-sync]\ngreeting = \"hello from dir-sync\"\n\n[plugins.dir-sync]\ngrant = {grant}\n",
        fx.config.to_toml()
    )
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn a_sync_plugin_named_in_build_source_runs_and_is_locked() {
    let fx = dir_sync_fixture();
    fx.home.write("ops.toml", &toml(&fx, "[\"remote-exec\"]"));
    let lock = fx.home.path().join("ops.lock");

    let out = fx.ops().arg("build").run();
    out.expect_success();
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("hello from dir-sync"),
        "the build command did not see the synced file:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out.expect_stderr_contains("ops.lock: recorded plugin dir-sync 0.1.0");
    let written = std::fs::read_to_string(&lock).expect("ops.lock written on the first run");
    assert!(
        written.starts_with("# ops.lock: written by ops"),
        "{written}"
    );
    assert!(
        written.contains("[plugins.dir-sync]\nsource = \"installed\"\nversion = \"0.1.0\""),
        "{written}"
    );
    assert!(
        written.contains(&format!("sha256 = \"{}\"", digest_of("dir-sync"))),
        "{written}"
    );
    assert!(
        written.contains("capabilities = [\"remote-exec\"]"),
        "{written}"
    );

    // Checked on the next runs, and unchanged by them.
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_success();
    assert!(!out.stderr.contains("ops.lock: recorded"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), written);

    // A different digest in ops.lock: refused before connecting, naming both.
    let other = "ab".repeat(32);
    std::fs::write(&lock, written.replace(&digest_of("dir-sync"), &other)).unwrap();
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.lock:{}:", line_of(&written, "sha256")));
    out.expect_stderr_contains(&digest_of("dir-sync"));
    out.expect_stderr_contains(&other);
    out.expect_stderr_contains("ops plugin update dir-sync");
    assert_eq!(
        fx.node.logins(),
        before,
        "nothing remote before the lock check"
    );

    // `ops plugin update` accepts it, printing old -> new.
    let out = fx.ops().args(["plugin", "update", "dir-sync"]).run();
    out.expect_success();
    out.expect_stderr_contains(&format!(
        "dir-sync: 0.1.0 -> 0.1.0 (sha256 {other} -> {})",
        digest_of("dir-sync")
    ));
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), written);
    fx.ops().args(["build", "--locked"]).run().expect_success();
}

#[test]
fn locked_refuses_a_missing_file_or_entry() {
    let fx = dir_sync_fixture();
    fx.home.write("ops.toml", &toml(&fx, "[\"remote-exec\"]"));
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_code(2);
    out.expect_stderr_contains("--locked: ");
    out.expect_stderr_contains("ops.lock does not exist; it would be written with plugin dir-sync");
    assert!(!fx.home.path().join("ops.lock").exists());

    fx.home.write(
        "ops.lock",
        &format!(
            "[plugins.other]\nsource = \"installed\"\nversion = \"1.0.0\"\nsha256 = \"{}\"\ncapabilities = []\n",
            "cd".repeat(32)
        ),
    );
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_code(2);
    out.expect_stderr_contains("has no entry for plugin dir-sync; it would be added with sha256");
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
}

#[test]
fn a_plugin_declaring_ungranted_capabilities_is_stopped_before_connecting() {
    let fx = dir_sync_fixture();
    fx.home.write("ops.toml", &toml(&fx, "[]"));
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(
        "plugin dir-sync 0.1.0 declares capabilities it was not granted: remote-exec; it was \
         stopped before it ran.",
    );
    out.expect_stderr_contains("grant = [\"remote-exec\"]");
    assert_eq!(
        fx.node.logins(),
        0,
        "stopped before connecting: {}",
        fx.node.log()
    );
    assert!(!fx.home.path().join("ops.lock").exists());
}

#[test]
fn unknown_names_and_wrong_kinds_are_errors_at_their_line() {
    let fx = dir_sync_fixture();
    let text =
        toml(&fx, "[\"remote-exec\"]").replace("source = \"dir-sync\"", "source = \"dir-synk\"");
    let text = text.replace("[build.dir-sync]", "[build.dir-synk]");
    fx.home.write("ops.toml", &text);
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{}:", line_of(&text, "source =")));
    out.expect_stderr_contains("no plugin named `dir-synk`");
    out.expect_stderr_contains("did you mean `dir-sync`?");
    out.expect_stderr_contains("install it with `ops plugin install");

    let fx = BuildFixture::new();
    install(&fx, "dir-sync", "sync-strategy");
    let text = fx
        .config
        .to_toml()
        .replace("[build.image]\n", "[build.image]\nplugin = \"dir-sync\"\n");
    fx.home.write("ops.toml", &text);
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{}:", line_of(&text, "plugin = ")));
    out.expect_stderr_contains(
        "`dir-sync` is a sync-strategy plugin, but build.image.plugin must name an image-builder plugin",
    );
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
}

#[test]
fn a_third_party_builder_owns_its_keys_of_build_image() {
    let fx = BuildFixture::new();
    install(&fx, "plain-builder", "image-builder");
    let base = fx.config.to_toml().replace(
        "[build.image]\n",
        "[build.image]\nplugin = \"plain-builder\"\nflavour = \"mint\"\nsquash = true\n",
    );
    let grant = "\n[plugins.plain-builder]\ngrant = [\"remote-exec\"]\n";
    fx.home.write("ops.toml", &format!("{base}{grant}"));
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_success();
    out.expect_stderr_contains("plain-builder plugin validated [build.image]");
    out.expect_stderr_contains("ops.lock: would record plugin plain-builder 0.1.0");
    assert!(
        !fx.home.path().join("ops.lock").exists(),
        "ops config check writes nothing"
    );

    // Its own complaint, at the key's line and column.
    let typo = base.replace("flavour = ", "flavor = ");
    let text = format!("{typo}{grant}");
    fx.home.write("ops.toml", &text);
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{}:10:", line_of(&text, "flavor = ")));
    out.expect_stderr_contains("did you mean `flavour`?");

    // The same keys are not docker's: its own validation refuses them.
    let text = base.replace("plugin = \"plain-builder\"\n", "");
    fx.home.write("ops.toml", &text);
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{}:11:", line_of(&text, "flavour = ")));
    out.expect_stderr_contains("unknown key `flavour` in [build.image]");

    // And a real build through it, without pushing.
    fx.home.write("ops.toml", &format!("{base}{grant}"));
    let out = fx
        .ops()
        .args(["build", "--no-push", "--service", "api"])
        .run();
    out.expect_success();
    out.expect_stderr_contains("with plain-builder");
    let images = fx.node_images();
    assert!(
        images.contains(&fx.image("api", "latest")),
        "plain-builder did not build {}: {images:?}",
        fx.image("api", "latest")
    );
}
