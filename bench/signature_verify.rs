//! What checking a plugin's signature adds to a warm run: reading the
//! allowed_signers files (and the revoked keys beside them), parsing the
//! signature and verifying it over the component's bytes (SHA-512 of the
//! whole file, then the key's check), for an ed25519 and an RSA key, on
//! the `dir-sync` test plugin and on the largest built-in.
//!
//! Run: `cargo bench -p ops --bench signature_verify --profile dev`
//! (needs `ssh-keygen`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ops::distribution::signing::{check, sign, Found, Requirement, Subject, TrustFile, TrustStore};

const RUNS: usize = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let largest = ops::plugin::BUILTINS
        .iter()
        .max_by_key(|(_, b)| b.len())
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .expect("built-ins");
    let plugins = [
        (
            "dir-sync".to_owned(),
            std::fs::read(root.join("plugins/dist/testing/dir-sync.wasm")).expect("dir-sync"),
        ),
        largest,
    ];
    for kind in ["ed25519", "rsa"] {
        let key = dir.path().join(format!("key_{kind}"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen");
        assert!(status.success());
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
        let allowed = dir.path().join(format!("allowed_{kind}"));
        std::fs::write(&allowed, format!("vendor@acme.example {public}")).expect("write");
        let private = ops::distribution::signing::read_private_key(&key, || None).expect("key");
        for (name, bytes) in &plugins {
            let armored = sign(bytes, &private)
                .and_then(|s| s.armored())
                .expect("sign");
            let found = Found {
                armored,
                from: "bench".into(),
            };
            let requirement = Requirement {
                principals: vec!["vendor@acme.example".into()],
                key: "signed_by".into(),
                at: "bench".into(),
            };
            let mut samples = Vec::new();
            for _ in 0..RUNS {
                let start = Instant::now();
                let files = vec![TrustFile {
                    origin: "project",
                    path: allowed.clone(),
                }];
                let trust = TrustStore::load(files).expect("trust");
                let subject = Subject {
                    plugin: name,
                    bytes,
                    found: Some(&found),
                    looked: "bench",
                    source_at: "bench",
                };
                check(&subject, Some(&requirement), &trust, None, None).expect("verifies");
                samples.push(start.elapsed());
            }
            println!(
                "{kind:8} {name:10} {:7} KiB  median {:.2} ms over {RUNS} runs",
                bytes.len() / 1024,
                median(samples).as_secs_f64() * 1000.0
            );
        }
    }
}
