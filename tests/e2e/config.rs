//! Config errors: each names file:line:column, exits 2, and touches
//! nothing remote.

use crate::support::home::TestHome;
use crate::support::sshd::Sshd;

/// Runs `ops exec` with `config` and expects exit 2 with every `needle` in
/// stderr; the (working) node must see no login.
fn expect_config_error(config: &str, needles: &[&str]) {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let config = config.replace("DEST", &sshd.destination());
    home.write("ops.toml", &config);
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(2);
    for needle in needles {
        out.expect_stderr_contains(needle);
    }
    assert_eq!(sshd.logins(), 0, "a config error must not touch the node");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    expect_config_error(
        "target = \"DEST\"\n[build]\npaht = \"/opt/x\"\n",
        &[
            "ops.toml:3:1",
            "unknown key `build.paht`",
            "did you mean `build.path`",
            // The line itself, with a caret under the key.
            "\n  |\n3 | paht = \"/opt/x\"\n  | ^^^^\n",
        ],
    );
    expect_config_error(
        "targte = \"DEST\"\n",
        &["ops.toml:1:1", "did you mean `target`"],
    );
    // Unknown keys of [build.image] are the image builder's to refuse
    // (snapshots::diagnostics_point_at_the_line), when a build loads it.
    expect_config_error(
        "target = \"DEST\"\n[nodes.4]\nhost = \"h\"\nhostkey = \"x\"\n",
        &["ops.toml:4:1", "did you mean `nodes.4.host_key`"],
    );
}

#[test]
fn missing_environment_variable_names_variable_and_key() {
    expect_config_error(
        "target = \"DEST\"\n[build.image]\ntoken = \"$OPS_TEST_UNSET_VAR\"\n",
        &["ops.toml:3:9", "OPS_TEST_UNSET_VAR", "build.image.token"],
    );
    expect_config_error(
        "target = \"DEST\"\n[build.git]\nrepo = \"https://${OPS_TEST_UNSET_HOST}/x\"\n",
        &["ops.toml:3:8", "OPS_TEST_UNSET_HOST", "build.git.repo"],
    );
}

#[test]
fn wrong_types_are_reported_at_the_value() {
    expect_config_error(
        "target = \"DEST\"\n[nodes.4]\nhost = \"h\"\nport = \"22\"\n",
        &["ops.toml:4:8", "nodes.4.port", "integer"],
    );
    expect_config_error(
        "target = \"DEST\"\n[build.image]\nservices = \"api\"\n",
        &["ops.toml:3:12", "build.image.services", "list of strings"],
    );
    expect_config_error("target = true\n", &["ops.toml:1:10", "target"]);
    expect_config_error(
        "target = \"DEST\"\n[build]\nsource = \"FTP\"\n",
        &["ops.toml:3:10", "\"FTP\" is not a plugin name"],
    );
    expect_config_error(
        "target = \"DEST\"\n[build]\nsource = \"command\"\n",
        &["ops.toml:3:10", "one of [build]'s own keys"],
    );
    expect_config_error(
        "target = \"DEST\"\n[nodes.4]\nhost = \"h\"\nport = 70000\n",
        &["ops.toml:4:8", "nodes.4.port"],
    );
}

#[test]
fn syntax_errors_and_missing_files() {
    expect_config_error("target = \"DEST\"\n[build\n", &["ops.toml:2:"]);
    let home = TestHome::new();
    home.ops()
        .args(["exec", "-f", "nope.toml", "--", "true"])
        .run()
        .expect_code(2)
        .expect_stderr_contains("nope.toml");
}

#[test]
fn the_whole_spec_schema_loads_and_dash_f_picks_the_file() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    home.write(
        "ops.prod.toml",
        &format!(
            r#"project = "my-project"
target = "{dest}"

[api]
url = "http://127.0.0.1:9"
token = "$OPS_TEST_TOKEN"

[build]
path = "/opt/builds/my-project"
command = "cargo build --release"
source = "git"
branch = "main"

[build.git]
repo = "git@github.com:org/repo"
ssh_key = "~/.ssh/deploy_key"

[build.image]
dockerfile = "Dockerfile.prod"
registry = "ghcr.io"
token = "$OPS_TEST_TOKEN"
username = "oauth2"
prefix = "ghcr.io/org/project"
binary_arg = "SERVICE_BINARY"
services = ["api", "worker", "web"]

[build.push]
exclude = ["target/"]

[plugins.custom]
path = "custom.wasm"
grant = ["remote-exec"]
"#,
            dest = sshd.destination()
        ),
    );
    // The git plugin checks that ssh_key can be read when the file is
    // validated, which every command does before it connects.
    home.write(".ssh/deploy_key", "a deploy key\n");
    // A key under ~/.ssh and the API token to the file's own [api] url
    // need the user's trust.
    home.ops()
        .env("OPS_TEST_TOKEN", "very-secret-token")
        .args(["trust", "-f", "ops.prod.toml"])
        .run()
        .expect_success();
    let out = home
        .ops()
        .env("OPS_TEST_TOKEN", "very-secret-token")
        .args(["exec", "-f", "ops.prod.toml", "--", "echo", "loaded"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "loaded\n");
}
