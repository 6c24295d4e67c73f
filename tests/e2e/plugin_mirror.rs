//! Mirrors: `ops plugin mirror` copies the plugins ops.lock pins, with
//! their signatures, to a second registry on 127.0.0.1; with
//! `OPS_PLUGIN_MIRROR` or `[plugins] mirror` a project whose ops.lock was
//! written against the first registry runs from the mirror alone, the
//! first one stopped, and ops.lock does not change.

use base64::Engine as _;

use crate::plugin_versions::{fixture, lock, project, release};
use crate::support::home::generate_key;
use crate::support::registry::Registry;

const VENDOR: &str = "vendor@acme.example";

fn login_both(fx: &crate::support::build::BuildFixture, mirror: &Registry) {
    let auth = |r: &Registry| {
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", r.username(), r.token()))
    };
    fx.home.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{}"}}, "{}": {{"auth": "{}"}}}}}}"#,
            fx.registry.host(),
            auth(&fx.registry),
            mirror.host(),
            auth(mirror)
        ),
    );
}

#[test]
fn a_mirror_serves_a_project_locked_against_the_vendor_registry() {
    let mut fx = fixture();
    let key = fx.home.path().join("vendor_key");
    generate_key(&key, "vendor");
    fx.ops()
        .args(["plugin", "trust", "add", VENDOR])
        .arg(key.with_extension("pub"))
        .run()
        .expect_success();
    // A signed release: `release` pushes the .sig beside the file.
    let wasm = fx.home.path().join("rel-1.4.0/dir-sync.wasm");
    std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
    std::fs::write(&wasm, crate::plugin_versions::as_version("1.4.0")).unwrap();
    fx.ops()
        .args(["plugin", "sign"])
        .arg(&wasm)
        .arg("--key")
        .arg(&key)
        .run()
        .expect_success();
    let out = fx
        .ops()
        .args(["plugin", "push"])
        .arg(&wasm)
        .arg(format!(
            "oci://{}/plugins/dir-sync:1.4.0",
            fx.registry.host()
        ))
        .run();
    out.expect_success();
    out.expect_stderr_contains("pushed its signature");
    release(&fx, "1.3.0");
    project(&fx, "^1.3");
    let toml = std::fs::read_to_string(fx.home.path().join("ops.toml")).unwrap();
    fx.home
        .write("ops.toml", &format!("{toml}signed_by = \"{VENDOR}\"\n"));
    fx.ops().arg("build").run().expect_success();
    let locked = lock(&fx);
    assert!(locked.contains("version = \"1.4.0\""), "{locked}");
    assert!(
        locked.contains(&format!("signer = \"{VENDOR}\"")),
        "{locked}"
    );

    let mirror = Registry::start();
    login_both(&fx, &mirror);
    let target = format!("oci://{}/mirror", mirror.host());
    let out = fx.ops().args(["plugin", "mirror", &target]).run();
    out.expect_success();
    out.expect_stderr_contains(&format!(
        "mirrored dir-sync 1.4.0 to {target}/plugins/dir-sync:1.4.0 (sha256:"
    ));
    out.expect_stderr_contains("1 signature)");
    // The release under its version, and (this registry has no referrers
    // API) the signature's referrers tag.
    let tags = mirror.tags("mirror/plugins/dir-sync");
    assert!(tags.contains(&"1.4.0".to_owned()), "{tags:?}");
    assert!(tags.iter().any(|t| t.starts_with("sha256-")), "{tags:?}");

    // Or into an OCI image layout folder, to carry across.
    let out = fx.ops().args(["plugin", "mirror", "./carry"]).run();
    out.expect_success();
    out.expect_stderr_contains(
        "mirrored dir-sync 1.4.0 to ./carry#plugins/dir-sync:1.4.0 (sha256:",
    );
    let index = std::fs::read_to_string(fx.home.path().join("carry/index.json")).unwrap();
    assert!(index.contains("\"plugins/dir-sync:1.4.0\""), "{index}");
    assert!(
        index.contains("application/vnd.ops.plugin.signature.v1"),
        "{index}"
    );
    let digest = locked
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .unwrap()
        .trim_end_matches('"');
    assert!(fx
        .home
        .path()
        .join("carry/blobs/sha256")
        .join(digest)
        .exists());
    let out = fx
        .ops()
        .args(["plugin", "mirror", "registry.internal/x"])
        .run();
    out.expect_code(2);
    out.expect_stderr_contains("is neither a registry nor a folder");

    // The vendor's registry goes away; nothing is cached on this machine.
    fx.registry.stop();
    let cache = fx.home.path().join(".cache/ops/downloads");
    let _ = std::fs::remove_dir_all(&cache);
    let out = fx.ops().args(["build", "--locked"]).run();
    assert_ne!(
        out.code,
        Some(0),
        "without the mirror the plugin cannot be fetched"
    );

    // Through OPS_PLUGIN_MIRROR: the same digests, signature checked.
    let out = fx
        .ops()
        .args(["build", "--locked"])
        .env("OPS_PLUGIN_MIRROR", &target)
        .run();
    out.expect_success();
    out.expect_stderr_contains("hello ranges");
    assert_eq!(lock(&fx), locked);

    // Through [plugins] mirror, from a cold cache again.
    let _ = std::fs::remove_dir_all(&cache);
    let toml = std::fs::read_to_string(fx.home.path().join("ops.toml")).unwrap();
    let toml = toml.replacen(
        "[plugins.dir-sync]",
        &format!("[plugins]\nmirror = \"{target}\"\n\n[plugins.dir-sync]"),
        1,
    );
    fx.home.write("ops.toml", &toml);
    fx.ops().args(["build", "--locked"]).run().expect_success();
    assert_eq!(lock(&fx), locked);
}
