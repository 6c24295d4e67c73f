//! Signatures through an OCI registry (the harness's registry, htpasswd
//! auth): `ops plugin push` publishes `FILE.sig` as a referrer of the
//! plugin's manifest (with the referrers tag where the registry has no
//! referrers API); `install` and a project's `oci` source fetch and check
//! it; a warm run checks the signature kept with the cached download.

use std::path::{Path, PathBuf};

use crate::support::build::BuildFixture;
use crate::support::home::generate_key;

const VENDOR: &str = "vendor@acme.example";

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist/testing")
        .join(format!("{name}.wasm"))
}

fn sign(fx: &BuildFixture, wasm: &Path, key: &Path) {
    fx.ops()
        .args(["plugin", "sign"])
        .arg(wasm)
        .arg("--key")
        .arg(key)
        .run()
        .expect_success();
}

fn push(fx: &BuildFixture, wasm: &Path, reference: &str) {
    let out = fx
        .ops()
        .args(["plugin", "push"])
        .arg(wasm)
        .arg(reference)
        .run();
    out.expect_success();
    out.expect_stderr_contains("pushed its signature");
}

fn project(fx: &BuildFixture, reference: &str) {
    let toml = format!(
        "{}\n[build.dir-sync]\ngreeting = \"hello signed\"\n\n[plugins.dir-sync]\n\
         oci = \"{reference}\"\ngrant = [\"remote-exec\"]\nsigned_by = \"{VENDOR}\"\n",
        fx.config.to_toml()
    );
    fx.home.write("ops.toml", &toml);
}

#[test]
fn a_signature_pushed_with_the_plugin_is_fetched_and_checked() {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    fx.docker_login();
    let key = fx.home.path().join("vendor_key");
    generate_key(&key, "vendor");
    fx.ops()
        .args(["plugin", "trust", "add", VENDOR])
        .arg(key.with_extension("pub"))
        .run()
        .expect_success();
    let wasm = fx.home.path().join("dir-sync.wasm");
    std::fs::copy(dist("dir-sync"), &wasm).unwrap();
    sign(&fx, &wasm, &key);
    let reference = format!("oci://{}/plugins/dir-sync:0.1.0", fx.registry.host());
    push(&fx, &wasm, &reference);

    // The artifact's config says what a range needs, without the wasm.
    let config = fx.registry.config("plugins/dir-sync", "0.1.0").unwrap();
    let api = config["ops"]["apiVersion"].as_str().unwrap_or_default();
    assert_eq!(api.split('.').count(), 3, "{config}");
    assert_eq!(config["ops"]["capabilities"][0], "remote-exec", "{config}");

    // `install` fetches and checks it.
    let out = fx.ops().args(["plugin", "install", &reference]).run();
    out.expect_success();
    out.expect_stderr_contains(&format!("signed by {VENDOR} (SHA256:"));

    // A project naming it by tag checks it, and records the signer.
    project(&fx, &reference);
    fx.ops().arg("build").run().expect_success();
    let lock = std::fs::read_to_string(fx.home.path().join("ops.lock")).unwrap();
    assert!(lock.contains(&format!("signer = \"{VENDOR}\"")), "{lock}");
    // A warm run: the bytes and signature come from the download cache.
    let cache = fx.home.path().join(".cache/ops/downloads");
    let kept: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sigs"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    fx.ops().args(["build", "--locked"]).run().expect_success();

    // Another release under another tag, signed by a stranger: refused,
    // before anything remote, in a project without an ops.lock yet.
    let stranger = fx.home.path().join("stranger_key");
    generate_key(&stranger, "stranger");
    let other = fx.home.path().join("other/dir-sync.wasm");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let bytes = crate::plugin_pins::variant(&std::fs::read(&wasm).unwrap(), "fork");
    std::fs::write(&other, bytes).unwrap();
    sign(&fx, &other, &stranger);
    let reference = format!("oci://{}/plugins/dir-sync-fork:0.1.0", fx.registry.host());
    push(&fx, &other, &reference);
    std::fs::remove_file(fx.home.path().join("ops.lock")).unwrap();
    project(&fx, &reference);
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains("which no allowed_signers file trusts for \"vendor@acme.example\"");
    assert_eq!(fx.node.logins(), before);
}

#[test]
fn push_refuses_a_tag_that_is_not_the_version_and_a_signature_of_other_bytes() {
    let fx = BuildFixture::new();
    fx.docker_login();
    let key = fx.home.path().join("vendor_key");
    generate_key(&key, "vendor");
    let wasm = fx.home.path().join("dir-sync.wasm");
    std::fs::copy(dist("dir-sync"), &wasm).unwrap();
    sign(&fx, &wasm, &key);
    let wrong = format!("oci://{}/plugins/dir-sync:latest", fx.registry.host());
    let out = fx
        .ops()
        .args(["plugin", "push"])
        .arg(&wasm)
        .arg(&wrong)
        .run();
    out.expect_code(2);
    out.expect_stderr_contains("the tag \"latest\" is not the version of dir-sync (0.1.0)");
    out.expect_stderr_contains("plugins/dir-sync:0.1.0");

    let bytes = crate::plugin_pins::variant(&std::fs::read(&wasm).unwrap(), "x");
    std::fs::write(&wasm, bytes).unwrap();
    let reference = format!("oci://{}/plugins/dir-sync:0.1.0", fx.registry.host());
    let out = fx
        .ops()
        .args(["plugin", "push"])
        .arg(&wasm)
        .arg(&reference)
        .run();
    out.expect_code(2);
    out.expect_stderr_contains("does not sign");
    out.expect_stderr_contains("nothing was pushed");
    assert!(fx.registry.tags("plugins/dir-sync").is_empty());
}
