//! SSH-signed plugins: signatures made by OpenSSH's `ssh-keygen -Y sign`
//! and by `ops plugin sign` each verify with the other tool; a project
//! that asks for a signer (`signed_by`, `require_signed`) refuses, with
//! exit 2 and before logging in to the node, an unsigned plugin, a
//! signature that does not match the bytes, an untrusted signer, a
//! revoked key and a signer other than the one ops.lock recorded (until
//! accepted with `ops plugin update NAME --accept-signer FP`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::build::BuildFixture;
use crate::support::home::generate_key;

const VENDOR: &str = "vendor@acme.example";

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist/testing")
        .join(format!("{name}.wasm"))
}

/// `ssh-keygen -l` of the public key `pub_line`.
fn fingerprint(pub_file: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned()
}

fn keygen_sign(key: &Path, file: &Path, namespace: &str) {
    let _ = std::fs::remove_file(format!("{}.sig", file.display()));
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Signed {
    fx: BuildFixture,
    wasm: PathBuf,
    key: PathBuf,
}

/// A build whose sync is `dir-sync` from a path, signed_by = VENDOR, the
/// vendor's key trusted in the user's allowed_signers, the plugin signed
/// by `ops plugin sign`.
fn signed_fixture() -> Signed {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    let wasm = fx.home.path().join("dir-sync.wasm");
    std::fs::copy(dist("dir-sync"), &wasm).unwrap();
    let key = fx.home.path().join("vendor_key");
    generate_key(&key, "vendor");
    let toml = format!(
        "{}\n[build.dir-sync]\ngreeting = \"hello signed\"\n\n[plugins.dir-sync]\n\
         path = \"dir-sync.wasm\"\ngrant = [\"remote-exec\"]\nsigned_by = \"{VENDOR}\"\n",
        fx.config.to_toml()
    );
    fx.home.write("ops.toml", &toml);
    fx.ops()
        .args(["plugin", "trust", "add", VENDOR])
        .arg(key.with_extension("pub"))
        .run()
        .expect_success();
    fx.ops()
        .args(["plugin", "sign"])
        .arg(&wasm)
        .arg("--key")
        .arg(&key)
        .run()
        .expect_success();
    Signed { fx, wasm, key }
}

/// Runs `ops build`, expects exit 2 with `needles` and no login; returns
/// stderr (shown, for the record of what a user sees).
fn refused(fx: &BuildFixture, needles: &[&str]) -> String {
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    for needle in needles {
        out.expect_stderr_contains(needle);
    }
    out.expect_stderr_contains("nothing of it was compiled or run");
    assert_eq!(
        fx.node.logins(),
        before,
        "refused after logging in:\n{}",
        out.stderr
    );
    eprintln!("--- refusal as shown:\n{}", out.stderr);
    out.stderr.clone()
}

#[test]
fn signatures_verify_both_ways_between_openssh_and_ops() {
    let s = signed_fixture();
    let allowed = s.fx.home.path().join(".config/ops/allowed_signers");
    let text = std::fs::read_to_string(&allowed).unwrap();
    assert!(text.contains("namespaces=\"ops-plugin\""), "{text}");

    // ops signed; OpenSSH verifies it against the file `trust add` wrote.
    let verify = |sig: &str| {
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-n", "ops-plugin", "-I", VENDOR, "-f"])
            .arg(&allowed)
            .arg("-s")
            .arg(sig)
            .stdin(std::fs::File::open(&s.wasm).unwrap())
            .output()
            .unwrap()
    };
    let sig = format!("{}.sig", s.wasm.display());
    let out = verify(&sig);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // OpenSSH signed; ops verifies it, with other key types too.
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let key = s.fx.home.path().join(format!("k_{kind}"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-C", kind, "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(status.success());
        s.fx.ops()
            .args(["plugin", "trust", "add", &format!("{kind}@acme.example")])
            .arg(key.with_extension("pub"))
            .run()
            .expect_success();
        keygen_sign(&key, &s.wasm, "ops-plugin");
        let out =
            s.fx.ops()
                .args(["plugin", "verify"])
                .arg(&s.wasm)
                .args(["--signed-by", &format!("{kind}@acme.example")])
                .run();
        out.expect_success();
        out.expect_stdout_contains(&format!("good signature by {kind}@acme.example"));
        out.expect_stdout_contains(&fingerprint(&key.with_extension("pub")));
    }

    // `trust list` shows the fingerprint; `trust remove` takes it away.
    let out = s.fx.ops().args(["plugin", "trust", "list"]).run();
    out.expect_success();
    let vendor_fp = fingerprint(&s.key.with_extension("pub"));
    out.expect_stdout_contains(&vendor_fp);
    let out =
        s.fx.ops()
            .args(["plugin", "trust", "remove", &vendor_fp])
            .run();
    out.expect_success();
    out.expect_stderr_contains(&format!("removed {VENDOR} {vendor_fp}"));
    assert!(!std::fs::read_to_string(&allowed).unwrap().contains(VENDOR));
}

#[test]
fn a_signed_plugin_runs_and_its_signer_is_locked() {
    let s = signed_fixture();
    let out = s.fx.ops().arg("build").run();
    out.expect_success();
    let lock = std::fs::read_to_string(s.fx.home.path().join("ops.lock")).unwrap();
    assert!(lock.contains(&format!("signer = \"{VENDOR}\"")), "{lock}");
    let fp = fingerprint(&s.key.with_extension("pub"));
    assert!(lock.contains(&format!("signer_key = \"{fp}\"")), "{lock}");
    s.fx.ops()
        .args(["build", "--locked"])
        .run()
        .expect_success();
}

#[test]
fn unsigned_tampered_and_foreign_namespace_plugins_are_refused() {
    let s = signed_fixture();
    let sig = PathBuf::from(format!("{}.sig", s.wasm.display()));
    let signed = std::fs::read(&sig).unwrap();

    std::fs::remove_file(&sig).unwrap();
    refused(
        &s.fx,
        &[
            "ops.toml:",
            "plugin dir-sync has no signature, but plugins.dir-sync.signed_by requires one",
            "(looked for dir-sync.wasm.sig)",
        ],
    );

    std::fs::write(&sig, &signed).unwrap();
    let mut bytes = std::fs::read(&s.wasm).unwrap();
    bytes.extend_from_slice(&[0, 3, 1, b'x', 0]);
    let original = std::fs::read(&s.wasm).unwrap();
    std::fs::write(&s.wasm, &bytes).unwrap();
    refused(
        &s.fx,
        &[
            "plugin dir-sync: its signature",
            "is not valid for its bytes",
        ],
    );

    // The vendor's key, but a signature made for git commits.
    std::fs::write(&s.wasm, &original).unwrap();
    keygen_sign(&s.key, &s.wasm, "git");
    refused(&s.fx, &["namespace \"git\", not \"ops-plugin\""]);
}

#[test]
fn untrusted_and_revoked_signers_are_refused() {
    let s = signed_fixture();
    let stranger = s.fx.home.path().join("stranger_key");
    generate_key(&stranger, "stranger");
    keygen_sign(&stranger, &s.wasm, "ops-plugin");
    let fp = fingerprint(&stranger.with_extension("pub"));
    refused(
        &s.fx,
        &[
            &format!("plugin dir-sync is signed by key {fp}, which no allowed_signers file trusts for \"{VENDOR}\""),
            "allowed_signers (user)",
            &format!("ops plugin trust add {VENDOR} KEY.pub"),
        ],
    );

    // A key trusted for another principal is not the vendor.
    s.fx.ops()
        .args(["plugin", "trust", "add", "someone@else.example"])
        .arg(stranger.with_extension("pub"))
        .run()
        .expect_success();
    refused(&s.fx, &["which no allowed_signers file trusts"]);

    // The vendor's own key, revoked beside the file that trusts it.
    s.fx.ops()
        .args(["plugin", "sign"])
        .arg(&s.wasm)
        .arg("--key")
        .arg(&s.key)
        .run()
        .expect_success();
    s.fx.ops().arg("build").run().expect_success();
    let revoked = s.fx.home.path().join(".config/ops/allowed_signers.revoked");
    let public = std::fs::read_to_string(s.key.with_extension("pub")).unwrap();
    std::fs::write(&revoked, format!("# lost laptop\n{public}")).unwrap();
    refused(
        &s.fx,
        &[
            &format!("{}:2: plugin dir-sync is signed by key", revoked.display()),
            "which is revoked there",
        ],
    );
}

#[test]
fn a_new_signer_is_refused_until_accepted() {
    let s = signed_fixture();
    s.fx.ops().arg("build").run().expect_success();
    // The vendor rotates its key; the user trusts the new one too.
    let new_key = s.fx.home.path().join("vendor_key_2026");
    generate_key(&new_key, "vendor 2026");
    s.fx.ops()
        .args(["plugin", "trust", "add", VENDOR])
        .arg(new_key.with_extension("pub"))
        .run()
        .expect_success();
    keygen_sign(&new_key, &s.wasm, "ops-plugin");
    let old_fp = fingerprint(&s.key.with_extension("pub"));
    let new_fp = fingerprint(&new_key.with_extension("pub"));
    refused(
        &s.fx,
        &[
            "ops.lock:",
            &format!("plugin dir-sync is now signed by key {new_fp} ({VENDOR}), but ops.lock records signer {old_fp}"),
            &format!("ops plugin update dir-sync --accept-signer {new_fp}"),
        ],
    );
    // A plain update does not accept it either.
    let out = s.fx.ops().args(["plugin", "update", "dir-sync"]).run();
    out.expect_code(2);
    out.expect_stderr_contains("--accept-signer");
    let out =
        s.fx.ops()
            .args(["plugin", "update", "dir-sync", "--accept-signer", &new_fp])
            .run();
    out.expect_success();
    out.expect_stderr_contains(&format!("signed by {VENDOR} ({new_fp})"));
    let lock = std::fs::read_to_string(s.fx.home.path().join("ops.lock")).unwrap();
    assert!(
        lock.contains(&format!("signer_key = \"{new_fp}\"")),
        "{lock}"
    );
    s.fx.ops()
        .args(["build", "--locked"])
        .run()
        .expect_success();
}
