//! A new plugin author's first hour, in a throwaway HOME with only `ops`
//! and cargo: scaffold a sync strategy, build it, install it, and use it in
//! a real `ops build` against the node; then publish it to the registry,
//! remove it, and install it back from `oci://`.

use std::fs;

use crate::support::author::Author;
use crate::support::build::{toml_string, BuildFixture};
use crate::support::home::TestHome;
use crate::support::registry::Registry;

/// Writes `~/.docker/config.json` as `docker login` leaves it.
fn docker_login(home: &TestHome, registry: &Registry) {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        registry.username(),
        registry.token()
    ));
    home.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host()
        ),
    );
}

fn ops_toml(fx: &BuildFixture, from: &str, grant: &str) -> String {
    format!(
        "{}\n[build.acme-sync]\nfrom = {}\n\n[plugins.acme-sync]\ngrant = {grant}\n",
        fx.config.to_toml(),
        toml_string(from)
    )
}

#[test]
fn new_build_install_use_then_push_remove_and_install_from_oci() {
    let mut fx = BuildFixture::new();
    let author = Author::at(fx.home.path());

    // What the scaffold's strategy copies: a directory already on the node.
    let checkout = fx.dir().join("checkouts/app");
    fs::create_dir_all(checkout.join("src")).unwrap();
    fs::write(checkout.join("greeting.txt"), "hello from acme-sync\n").unwrap();
    fs::write(checkout.join("src/main.sh"), "echo main\n").unwrap();
    let from = checkout.display().to_string();

    author
        .ops(&["plugin", "new", "acme-sync", "--kind", "sync"])
        .expect_success();
    let (wasm, elapsed) = author.build("acme-sync");
    eprintln!("acme-sync built in {elapsed:.1?}");
    let wasm = wasm.display().to_string();
    author
        .ops(&["plugin", "install", &wasm])
        .expect_success()
        .expect_stdout_contains("installed acme-sync 0.1.0")
        .expect_stdout_contains("grant = [\"remote-exec\"]");

    fx.config.source = "acme-sync".into();
    fx.config.command = "cat greeting.txt && sh src/main.sh".into();
    fx.config.image = None;

    // Not granted yet: stopped before ops connects, with the line to add.
    fx.home.write("ops.toml", &ops_toml(&fx, &from, "[]"));
    let logins = fx.node.logins();
    fx.ops()
        .arg("build")
        .run()
        .expect_code(2)
        .expect_stderr_contains("remote-exec")
        .expect_stderr_contains("grant = [\"remote-exec\"]");
    assert_eq!(fx.node.logins(), logins, "nothing ran before the grant");
    assert!(!fx.build_path().exists());

    fx.home
        .write("ops.toml", &ops_toml(&fx, &from, "[\"remote-exec\"]"));
    let out = fx.ops().arg("build").run();
    out.expect_success();
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(shown.contains("hello from acme-sync"), "{shown}");
    assert!(shown.contains("main"), "{shown}");
    assert_eq!(
        fs::read_to_string(fx.build_path().join("greeting.txt")).unwrap(),
        "hello from acme-sync\n"
    );
    let lock = fs::read_to_string(fx.home.path().join("ops.lock")).unwrap();
    assert!(lock.contains("[plugins.acme-sync]"), "{lock}");

    // Published to the registry, removed, and installed back from it.
    docker_login(&fx.home, &fx.registry);
    let reference = format!("oci://{}/plugins/acme-sync:0.1.0", fx.registry.host());
    let pushed = author.ops(&["plugin", "push", &wasm, &reference]);
    pushed
        .expect_success()
        .expect_stderr_contains(&format!("pushed acme-sync 0.1.0 to {reference}"));
    author
        .ops(&["plugin", "remove", "acme-sync"])
        .expect_success();
    fx.ops()
        .arg("build")
        .run()
        .expect_code(2)
        .expect_stderr_contains("ops plugin install");
    let out = author.ops(&["plugin", "install", &reference]);
    out.expect_success()
        .expect_stdout_contains("installed acme-sync 0.1.0");
    let info = author.ops(&["plugin", "info", "acme-sync"]);
    info.expect_success();
    assert!(info.stdout.contains(&reference), "{}", info.stdout);

    // The same bytes as before: ops.lock accepts them, even with --locked.
    fs::write(checkout.join("greeting.txt"), "hello again\n").unwrap();
    let out = fx.ops().args(["build", "--locked"]).run();
    out.expect_success();
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("hello again"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(fx.home.path().join("ops.lock")).unwrap(),
        lock
    );
}
