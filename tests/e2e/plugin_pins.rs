//! Pins are checked before any plugin code: a plugin that is not the one
//! ops.lock pins is neither compiled nor run; `ops config check` and
//! `--dry-run` give plugin code no capabilities; a changed `oci` reference
//! is a change of pin (pinned anew, refused by `--locked`).

use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::support::build::BuildFixture;

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist/testing")
        .join(format!("{name}.wasm"))
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The component with a custom section appended: another digest, the
/// same plugin (a new release of it, as far as pins can tell).
pub fn variant(bytes: &[u8], tag: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"ops-test-variant";
    let mut content = Vec::new();
    leb(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(tag.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0);
    leb(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// A build whose sync is the `check-probe` test plugin (from a path,
/// granted `local-exec:touch`), touching `marker.<when>` when its code
/// runs with that grant.
fn probe_fixture() -> (BuildFixture, PathBuf) {
    let mut fx = BuildFixture::new();
    fx.config.source = "check-probe".into();
    fx.config.command = "true".into();
    fx.config.image = None;
    // The probe syncs nothing; the build command runs in this folder.
    std::fs::create_dir_all(fx.build_path()).unwrap();
    let marker = fx.dir().join("probe");
    let toml = format!(
        "{}\n[build.check-probe]\nmarker = {:?}\n\n[plugins.check-probe]\npath = {:?}\n\
         grant = [\"local-exec:touch\"]\n",
        fx.config.to_toml(),
        marker.display().to_string(),
        dist("check-probe").display().to_string()
    );
    fx.home.write("ops.toml", &toml);
    // The grant acts on this machine: the user trusts the file (which
    // runs no plugin code).
    fx.ops().arg("trust").run().expect_success();
    assert!(!touched(&marker, "validate") && !touched(&marker, "sync"));
    (fx, marker)
}

fn touched(marker: &Path, when: &str) -> bool {
    PathBuf::from(format!("{}.{when}", marker.display())).exists()
}

/// Compiled artifacts of the component whose sha256 is `digest`.
fn compiled(fx: &BuildFixture, digest: &str) -> Vec<String> {
    let dir = fx.home.path().join(".cache/ops/components");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(digest))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_plugin_that_is_not_the_pinned_one_is_neither_compiled_nor_run() {
    let (fx, marker) = probe_fixture();
    let digest = sha(&std::fs::read(dist("check-probe")).unwrap());
    // ops.lock pins another build of the plugin at the same source.
    let pinned = "ab".repeat(32);
    fx.home.write(
        "ops.lock",
        &format!(
            "[plugins.check-probe]\nsource = {:?}\nversion = \"0.1.0\"\nsha256 = \"{pinned}\"\n\
             capabilities = [\"local-exec:touch\"]\n",
            dist("check-probe").display().to_string()
        ),
    );
    for args in [&["build"][..], &["build", "--locked"], &["config", "check"]] {
        let out = fx.ops().args(args).run();
        out.expect_code(2);
        out.expect_stderr_contains("ops.lock:4: plugin check-probe (");
        out.expect_stderr_contains(&format!("now has sha256 {digest}"));
        out.expect_stderr_contains(&format!("pins sha256 {pinned}"));
        out.expect_stderr_contains("nothing of it was compiled or run");
        assert_eq!(
            compiled(&fx, &digest),
            Vec::<String>::new(),
            "`ops {}` compiled the plugin before checking its pin",
            args.join(" ")
        );
    }
    assert!(!touched(&marker, "validate") && !touched(&marker, "sync"));
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
}

#[test]
fn config_check_and_dry_run_give_plugin_code_no_capabilities() {
    let (fx, marker) = probe_fixture();
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_success();
    out.expect_stderr_contains("check-probe plugin 0.1.0 validated");
    assert!(
        !touched(&marker, "validate"),
        "`ops config check` ran the plugin's local command:\n{}",
        out.stderr
    );
    let out = fx.ops().args(["build", "--dry-run"]).run();
    out.expect_success();
    assert!(
        !touched(&marker, "validate"),
        "`ops build --dry-run` ran the plugin's local command:\n{}",
        out.stderr
    );
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());

    // A real build gives it its grant: the same code does run the command.
    let out = fx.ops().arg("build").run();
    out.expect_success();
    assert!(touched(&marker, "validate") && touched(&marker, "sync"));
}

#[test]
fn a_changed_oci_reference_is_pinned_anew_and_refused_when_locked() {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    fx.docker_login();
    let old = std::fs::read(dist("dir-sync")).unwrap();
    let new = variant(&old, "0.2.0");
    let new_path = fx.dir().join("dir-sync-0.2.0.wasm");
    std::fs::write(&new_path, &new).unwrap();
    let repo = format!("oci://{}/plugins/dir-sync", fx.registry.host());
    // A release is pushed under its own version: the new build goes to
    // another repository.
    for (file, tag) in [(dist("dir-sync"), ":0.1.0"), (new_path, "-next:0.1.0")] {
        fx.ops()
            .args(["plugin", "push"])
            .arg(file)
            .arg(format!("{repo}{tag}"))
            .run()
            .expect_success();
    }
    let toml = |tag: &str| {
        format!(
            "{}\n[build.dir-sync]\ngreeting = \"hello\"\n\n[plugins.dir-sync]\n\
             oci = \"{repo}{tag}\"\ngrant = [\"remote-exec\"]\n",
            fx.config.to_toml()
        )
    };
    let lock = fx.home.path().join("ops.lock");
    fx.home.write("ops.toml", &toml(":0.1.0"));
    fx.ops().arg("build").run().expect_success();
    let written = std::fs::read_to_string(&lock).unwrap();
    assert!(written.contains(&sha(&old)), "{written}");

    // ops.toml now names the other one: --locked refuses, naming both sources.
    fx.home.write("ops.toml", &toml("-next:0.1.0"));
    let logins = fx.node.logins();
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!(
        "plugin dir-sync is pinned from \"{repo}:0.1.0\", but ops.toml now names \"{repo}-next:0.1.0\""
    ));
    out.expect_stderr_contains(&format!("pinned anew with sha256 {}", sha(&new)));
    assert_eq!(fx.node.logins(), logins, "nothing remote under --locked");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), written);

    // A dry run says what it would record; a run records it.
    let out = fx.ops().args(["build", "--dry-run"]).run();
    out.expect_success();
    out.expect_stderr_contains(&format!(
        "ops.lock: would record plugin dir-sync 0.1.0 (sha256 {}, from {repo}-next:0.1.0 instead of \
         {repo}:0.1.0)",
        sha(&new)
    ));
    let out = fx.ops().arg("build").run();
    out.expect_success();
    out.expect_stderr_contains(&format!(
        "ops.lock: recorded plugin dir-sync 0.1.0 (sha256 {}",
        sha(&new)
    ));
    let rewritten = std::fs::read_to_string(&lock).unwrap();
    assert!(
        rewritten.contains(&format!("source = \"{repo}-next:0.1.0\"")),
        "{rewritten}"
    );
    assert!(rewritten.contains(&sha(&new)), "{rewritten}");
    fx.ops().args(["build", "--locked"]).run().expect_success();
}
