//! Secrets only where the step that needs them runs: the user's agent
//! never reaches a third-party sync plugin, the build command (any code of
//! the repository) finds neither the deploy key nor the registry login on
//! the node, and without a push no image builder receives the registry
//! token.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::support::agent::SshAgent;
use crate::support::build::BuildFixture;
use crate::support::home::generate_key;

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist/testing")
        .join(format!("{name}.wasm"))
}

/// `[plugins.NAME]` for the test plugin NAME by path, granted remote-exec
/// only.
fn by_path(name: &str) -> String {
    format!(
        "\n[plugins.{name}]\npath = {:?}\ngrant = [\"remote-exec\"]\n",
        dist(name).display().to_string()
    )
}

/// A third-party sync plugin granted only `remote-exec`, on a node that
/// ssh_config says to forward the agent to, while the user's ssh-agent holds
/// a key: what the plugin's command finds of the agent.
#[test]
fn a_third_party_sync_plugin_never_reaches_the_users_agent() {
    let mut fx = BuildFixture::new();
    fx.config.source = "dir-sync".into();
    fx.config.command = "true".into();
    fx.config.image = None;
    let agent = SshAgent::start();
    let key = fx.dir().join("agent-key");
    generate_key(&key, "users-agent-key");
    agent.add(&key);
    fx.home.write_ssh_config("Host *\n    ForwardAgent yes\n");
    // Any answer from an agent counts: the socket sshd offers, or ssh-add.
    // (`$$`: a literal `$` in ops.toml.)
    let probe = "echo \"sock=$${SSH_AUTH_SOCK:-none}\"; ssh-add -l 2>&1; true";
    let text = format!(
        "{}\n[build.dir-sync]\ngreeting = \"hi\"\nrun = {:?}\n{}",
        fx.config.to_toml(),
        probe,
        by_path("dir-sync")
    );
    fx.home.write("ops.toml", &text);

    let out = fx
        .ops()
        .env("SSH_AUTH_SOCK", agent.socket())
        .arg("build")
        .run();
    let all = format!("{}{}", out.stdout, out.stderr);
    println!("dir-sync: {}", run_said(&all));
    out.expect_success();
    assert!(
        !all.contains("users-agent-key"),
        "the plugin listed the user's agent: {}",
        run_said(&all)
    );
    assert!(all.contains("run said: sock=none"), "{all}");
}

/// The deploy key and the registry login, as the build command (a
/// `build.rs`, a Makefile) could look for them: the node user's files and
/// every scratch directory, for the key's lines, the token and docker's
/// base64 of `user:token`.
#[test]
fn the_build_command_finds_neither_the_deploy_key_nor_the_registry_login() {
    let mut fx = BuildFixture::new();
    let ssh = fx.origin.over_ssh();
    let key_text = fs::read_to_string(ssh.key().private_key_path()).unwrap();
    let key = fx.home.write("keys/deploy_key", &key_text);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fx.config.repo = ssh.url().to_owned();
    fx.config.ssh_key = Some("~/keys/deploy_key".into());
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);

    let token = fx.registry.token().to_owned();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{token}", fx.registry.username()));
    let mut needles: Vec<String> = key_text
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_owned)
        .collect();
    needles.extend([token, basic]);
    // Outside the node user's HOME and TMPDIR, so that the search does not
    // find its own list.
    let list = fx.dir().join("needles");
    fs::write(&list, needles.join("\n") + "\n").unwrap();
    fx.config.command = format!(
        "grep -rlF -f {list} \"$HOME\" \"${{TMPDIR:-/tmp}}\" 2>/dev/null | \
         sed \"s/^/$(printf 'fou%s' nd): /\"; sh build.sh",
        list = list.display()
    );

    let out = fx.build(&["--service", "api"]);
    let found: Vec<&str> = out
        .stderr
        .lines()
        .chain(out.stdout.lines())
        .filter(|l| l.contains("found: "))
        .collect();
    println!("the build command found: {found:?}");
    out.expect_success();
    assert!(
        found.is_empty(),
        "the build command found secrets: {found:?}"
    );
    assert_eq!(fx.service_info("api", "latest").service, "api");
    assert!(
        fx.node_tmp_entries().is_empty(),
        "scratch left: {:?}",
        fx.node_tmp_entries()
    );
}

/// `--no-push`: nothing is logged in to, so no image builder gets the
/// registry token, not even in its config section.
#[test]
fn without_a_push_a_third_party_builder_receives_no_token() {
    let fx = BuildFixture::new();
    let text = fx.config.to_toml().replace(
        "[build.image]\n",
        "[build.image]\nplugin = \"plain-builder\"\n",
    );
    fx.home
        .write("ops.toml", &format!("{text}{}", by_path("plain-builder")));
    let out = fx
        .ops()
        .args(["build", "--no-push", "--service", "api"])
        .run();
    let all = format!("{}{}", out.stdout, out.stderr);
    let received: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("received keys:"))
        .collect();
    println!("plain-builder: {received:?}");
    out.expect_success();
    assert!(!received.is_empty(), "{all}");
    for line in received {
        assert!(!line.contains("token"), "{line}");
    }
}

fn run_said(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.contains("run said") || l.contains("SHA256:"))
        .collect::<Vec<_>>()
        .join(" | ")
}
