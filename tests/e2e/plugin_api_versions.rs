//! The three live plugin APIs in real builds: a builder of API 0.2.0 (the
//! built-in docker plugin as it was built before it moved to 0.3.0, kept
//! as a fixture) replaces the built-in by name and builds and pushes; its
//! text errors count as `failed`. (API 0.1.0: `push.rs`, with the rsync
//! fixture; 0.3.0: every built-in.)

use std::path::PathBuf;

use crate::support::build::BuildFixture;
use crate::support::{repo_root, sha256_hex};

fn fixture() -> PathBuf {
    repo_root().join("tests/fixtures/plugins/docker-api-0.2.0.wasm")
}

/// ops.toml with the 0.2.0 docker plugin in place of the built-in.
fn with_old_docker(fx: &BuildFixture) {
    let mut text = fx.config.to_toml();
    text.push_str(&format!(
        "\n[plugins.docker]\npath = {}\ngrant = [\"remote-exec\", \"remote-files\"]\nsha256 = \"{}\"\n",
        crate::support::build::toml_string(&fixture().display().to_string()),
        sha256_hex(&std::fs::read(fixture()).unwrap())
    ));
    fx.home.write("ops.toml", &text);
}

#[test]
fn an_image_builder_of_api_0_2_builds_and_pushes() {
    let fx = BuildFixture::new();
    with_old_docker(&fx);
    let out = fx.ops().args(["build", "--tag", "v02"]).run();
    out.expect_success();
    for service in ["api", "worker", "web"] {
        assert!(
            fx.registry.digest(&fx.repo(service), "v02").is_some(),
            "{service} is not in the registry:\n{}",
            out.stderr
        );
        assert_eq!(fx.service_info(service, "v02").service, service);
    }
    let listed = fx.ops().args(["plugin", "list", "--output", "json"]).run();
    listed.expect_success();
    let docker = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|row| row["name"] == "docker")
        .unwrap();
    assert_eq!(docker["api_version"], "0.2.0");
}

#[test]
fn a_failure_of_an_api_0_2_builder_is_failed_not_retried() {
    // A 0.2.0 plugin reports text, which says nothing of its kind: a push
    // the registry refuses is not retried (nor would a 5xx be), exit 7.
    let mut fx = BuildFixture::new();
    fx.image_config().token = Some("wrong-token".into());
    with_old_docker(&fx);
    let out = fx.ops().args(["build", "--service", "api"]).run();
    out.expect_code(7);
    assert!(
        !out.stderr.contains("trying again"),
        "a text error was retried:\n{}",
        out.stderr
    );
    fx.assert_nothing_pushed();
}
