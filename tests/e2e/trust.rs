//! A project file needs the user's trust before it sends the user's local
//! keys or secrets to a node only it vouches for, sends the API token to an
//! origin only it names, or gives a third-party plugin local grants. Until
//! trusted it is refused with exit 2 before anything is contacted; an
//! ordinary file never asks.

use std::fs;

use crate::support::build::BuildFixture;
use crate::support::http::HttpServer;
use crate::support::ops::OpsOutput;
use crate::support::sshd::Sshd;

/// The 1-based line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

fn connections(sshd: &Sshd) -> usize {
    sshd.log().matches("Connection from").count()
}

/// A project whose `[nodes.x]` pins the fixture's node (known_hosts is
/// emptied, so only the file vouches for it) and whose `[build.git]`
/// sends the user's own `~/.ssh/id_ed25519` to a git server that accepts
/// it. Returns the file's text.
fn hostile_project(fx: &mut BuildFixture, git_server: &Sshd) -> String {
    fs::write(fx.home.known_hosts_path(), "").unwrap();
    fx.config.image = None;
    fx.config.target = "x".into();
    fx.config.repo = fx.origin.ssh_url(git_server.user(), git_server.port());
    fx.config.known_hosts = Some(vec![git_server.known_hosts_line()]);
    fx.config.ssh_key = Some("~/.ssh/id_ed25519".into());
    let text = format!(
        "{}\n[nodes.x]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nhost_key = \"{}\"\n",
        fx.config.to_toml(),
        fx.node.port(),
        fx.node.user(),
        fx.node.host_public_key()
    );
    fx.home.write("ops.toml", &text);
    text
}

#[track_caller]
fn expect_refused(out: &OpsOutput, lines: &[usize]) {
    out.expect_code(2)
        .expect_stderr_contains("needs your trust")
        .expect_stderr_contains("ops trust -f ops.toml")
        .expect_stderr_contains("OPS_TRUST=1");
    for line in lines {
        out.expect_stderr_contains(&format!("ops.toml:{line}:"));
    }
}

#[test]
fn a_project_file_cannot_send_the_users_key_to_a_node_only_it_vouches_for() {
    let mut fx = BuildFixture::new();
    let git_server = Sshd::builder().authorize(fx.home.user_public_key()).start();
    let text = hostile_project(&mut fx, &git_server);
    let key_line = line_of(&text, "ssh_key = ");
    let pin_line = line_of(&text, "host_key = ");

    let out = fx.ops().arg("build").run();
    assert_eq!(
        git_server.logins(),
        0,
        "the node logged in with the user's own key; ops exited {:?}\n{}",
        out.code,
        git_server.log()
    );
    assert_eq!(
        connections(&fx.node),
        0,
        "the node was contacted; ops exited {:?}\n{}",
        out.code,
        out.stderr
    );
    expect_refused(&out, &[key_line, pin_line]);
    out.expect_stderr_contains("build.git.ssh_key")
        .expect_stderr_contains(".ssh/id_ed25519")
        .expect_stderr_contains("[nodes.x]");
    // The same gate stands before every command that could send something.
    for args in [
        &["exec", "--", "true"][..],
        &["lock", "status"],
        &["config", "check"],
        &["build", "--dry-run"],
        &["plugin", "update"],
    ] {
        expect_refused(&fx.ops().args(args).run(), &[key_line, pin_line]);
    }
    assert_eq!(connections(&fx.node), 0, "the node was contacted");

    // The user decides: after `ops trust` the same file runs as written.
    fx.ops()
        .arg("trust")
        .run()
        .expect_success()
        .expect_stdout_contains("build.git.ssh_key");
    fx.ops().arg("build").run().expect_success();
    assert!(git_server.logins() >= 1, "{}", git_server.log());
}

#[test]
fn trust_covers_exactly_the_lines_that_need_it() {
    let mut fx = BuildFixture::new();
    let git_server = Sshd::builder().start();
    let text = hostile_project(&mut fx, &git_server);
    let check = || fx.ops().args(["config", "check"]).run();
    check().expect_code(2);
    fx.ops().arg("trust").run().expect_success();
    check().expect_success();

    // Another build command is not what trust was about.
    let edited = text.replace("command = \"sh build.sh\"", "command = \"make\"");
    assert_ne!(edited, text);
    fx.home.write("ops.toml", &edited);
    check().expect_success();

    // Another key, or another pin, asks again.
    let other_key = edited.replace("~/.ssh/id_ed25519", "~/.ssh/id_other");
    fx.home.write("ops.toml", &other_key);
    expect_refused(&check(), &[line_of(&other_key, "ssh_key = ")]);
    let other_pin = edited.replace(fx.node.host_public_key(), git_server.host_public_key());
    fx.home.write("ops.toml", &other_pin);
    expect_refused(&check(), &[line_of(&other_pin, "host_key = ")]);

    // Revoked, it asks again; OPS_TRUST=1 lets scripts through.
    fx.home.write("ops.toml", &edited);
    fx.ops()
        .args(["trust", "--revoke"])
        .run()
        .expect_success()
        .expect_stdout_contains("no longer trusted");
    check().expect_code(2);
    fx.ops()
        .args(["config", "check"])
        .env("OPS_TRUST", "1")
        .run()
        .expect_success();

    // The record is the user's alone.
    let store = fx.home.path().join(".local/share/ops/trust");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700);
    fx.ops().arg("trust").run().expect_success();
    for entry in fs::read_dir(&store).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
}

#[test]
fn an_ordinary_project_file_never_asks() {
    let mut fx = BuildFixture::new();
    // A node known_hosts knows, a `$NAME` registry token, a deploy key in
    // the project folder: nothing only the user should decide.
    let ssh = fx.origin.over_ssh();
    let key = fs::read_to_string(ssh.key().private_key_path()).unwrap();
    fx.home.write("keys/deploy_key", &key);
    fx.config.repo = ssh.url().to_owned();
    fx.config.ssh_key = Some("keys/deploy_key".into());
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);
    fx.write_config();
    fx.ops().args(["config", "check"]).run().expect_success();

    // A key in ~/.ssh that the user's own ssh_config names for the git
    // server is one the user already gave to it.
    let named = fx.home.write(".ssh/deploy_key", &key);
    fx.home.write_ssh_config(&format!(
        "Host 127.0.0.1\n  IdentityFile {}\n",
        named.display()
    ));
    fx.config.ssh_key = Some("~/.ssh/deploy_key".into());
    fx.write_config();
    fx.ops().args(["config", "check"]).run().expect_success();

    // Pinned, with the same key in known_hosts, the pin is confirmed.
    fx.config.target = "x".into();
    let text = format!(
        "{}\n[nodes.x]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nhost_key = \"{}\"\n",
        fx.config.to_toml(),
        fx.node.port(),
        fx.node.user(),
        fx.node.host_public_key()
    );
    fx.home.write("ops.toml", &text);
    fx.ops().args(["config", "check"]).run().expect_success();
}

#[test]
fn the_api_token_goes_only_where_the_user_says() {
    let fx = BuildFixture::new();
    // Plain http to another host is refused at its line, whatever else.
    let text = "project = \"demo\"\n\n[api]\nurl = \"http://10.1.2.3:8080\"\n";
    fx.home.write("ops.toml", text);
    fx.ops()
        .args(["exec", "--", "true"])
        .env("OPS_TRUST", "1")
        .run()
        .expect_code(2)
        .expect_stderr_contains("ops.toml:4:")
        .expect_stderr_contains("use https://");

    // Loopback http is fine, but the user's token goes to an origin only
    // the file names: that needs trust, and nothing is asked of the API.
    let api = HttpServer::builder()
        .route(
            "/v1/projects/demo",
            200,
            r#"{"name": "demo", "build_node": "x"}"#,
        )
        .start();
    let text = format!("project = \"demo\"\n\n[api]\nurl = \"{}\"\n", api.url());
    fx.home.write("ops.toml", &text);
    let out = fx
        .ops()
        .args(["exec", "--", "true"])
        .env("OPS_API_TOKEN", "tok-secret-1")
        .run();
    expect_refused(&out, &[4]);
    out.expect_stderr_contains("OPS_API_TOKEN");
    assert!(api.requests().is_empty(), "{:?}", api.requests());

    // The same origin in OPS_API_URL is the user's own choice.
    fx.ops()
        .args(["exec", "--", "true"])
        .env("OPS_API_TOKEN", "tok-secret-1")
        .env("OPS_API_URL", api.url())
        .run()
        .expect_code(3);
    assert_eq!(api.requests().len(), 2, "{:?}", api.requests());
    // Without a token there is nothing to send.
    fx.ops().args(["exec", "--", "true"]).run().expect_code(3);
}

#[test]
fn local_grants_for_a_third_party_plugin_need_trust() {
    let fx = BuildFixture::new();
    let text = "[plugins.acme]\npath = \"acme.wasm\"\ngrant = [\"remote-exec\", \"local-exec:rsync\", \"env:AWS_SECRET\"]\n";
    fx.home.write("ops.toml", text);
    let out = fx.ops().args(["config", "check"]).run();
    expect_refused(&out, &[3]);
    out.expect_stderr_contains("`local-exec:rsync`")
        .expect_stderr_contains("`env:AWS_SECRET`");
    assert!(!out.stderr.contains("`remote-exec`"), "{}", out.stderr);

    fx.home.write(
        "ops.toml",
        "[plugins.acme]\npath = \"acme.wasm\"\ngrant = [\"remote-exec\"]\n",
    );
    fx.ops()
        .arg("trust")
        .run()
        .expect_success()
        .expect_stdout_contains("needs no trust");
}
