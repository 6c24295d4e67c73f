//! The two example third-party plugins of `examples/plugins/`, built with
//! `ops plugin build` from their own crates and used in real builds:
//! `tarball-sync` fetches a release tarball from an HTTP server on
//! 127.0.0.1 onto the node; `token-exchange` gets the registry password as
//! a short-lived token from a token server on 127.0.0.1, and the images are
//! pushed with it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use crate::support::author::Author;
use crate::support::build::{all_argv, toml_string, BuildFixture};
use crate::support::ops::wait_watching;
use crate::support::web::{WebResponse, WebServer};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/plugins")
        .join(name)
}

/// Builds an example as its author would.
fn built(name: &str) -> PathBuf {
    let home = tempfile::tempdir().unwrap();
    let (path, elapsed) = Author::at(home.path()).build(&example(name).display().to_string());
    eprintln!("{name} built in {elapsed:.1?}");
    path
}

/// A gzipped tarball of `files` under `top/`, as `tar` makes releases.
fn tarball(top: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(top).join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let archive = dir.path().join("release.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .arg(top)
        .status()
        .unwrap();
    assert!(status.success());
    fs::read(archive).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `[plugins.NAME]` for a plugin built at `wasm`, granted `grant`.
fn plugin_table(name: &str, wasm: &Path, grant: &str) -> String {
    format!(
        "[plugins.{name}]\npath = {}\ngrant = {grant}\n",
        toml_string(&wasm.display().to_string())
    )
}

fn tarball_toml(fx: &BuildFixture, wasm: &Path, url: &str, sha256: &str) -> String {
    format!(
        "{}\n[build.tarball-sync]\nurl = {}\nsha256 = \"{sha256}\"\n\n{}",
        fx.config.to_toml(),
        toml_string(url),
        plugin_table("tarball-sync", wasm, r#"["remote-exec", "remote-files"]"#)
    )
}

#[test]
fn tarball_sync_unpacks_a_release_on_the_node_and_keeps_it_when_the_next_is_bad() {
    let wasm = built("tarball-sync");
    let v1 = tarball(
        "app-1.0",
        &[
            ("greeting.txt", "release 1.0\n"),
            ("old.txt", "only in 1.0\n"),
        ],
    );
    let v2 = tarball("app-2.0", &[("greeting.txt", "release 2.0\n")]);
    let (v1_sha, v2_sha) = (sha256_hex(&v1), sha256_hex(&v2));
    let server = WebServer::start(move |request| match request.path.as_str() {
        "/app-1.0.tar.gz" => WebResponse::bytes(v1.clone()),
        "/app-2.0.tar.gz" => WebResponse::bytes(v2.clone()),
        _ => WebResponse::json(404, "{}"),
    });

    let mut fx = BuildFixture::new();
    fx.config.source = "tarball-sync".into();
    fx.config.command = "cat greeting.txt".into();
    fx.config.image = None;
    let url = |version: &str| format!("{}/app-{version}.tar.gz", server.url());

    fx.home
        .write("ops.toml", &tarball_toml(&fx, &wasm, &url("1.0"), &v1_sha));
    let out = fx.ops().arg("build").run();
    out.expect_success();
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(shown.contains("release 1.0"), "{shown}");
    let path = fx.build_path();
    assert_eq!(
        fs::read_to_string(path.join("old.txt")).unwrap(),
        "only in 1.0\n"
    );

    // The next release replaces the tree: nothing of 1.0 is left.
    fx.home
        .write("ops.toml", &tarball_toml(&fx, &wasm, &url("2.0"), &v2_sha));
    let out = fx.ops().arg("build").run();
    out.expect_success();
    assert!(format!("{}{}", out.stdout, out.stderr).contains("release 2.0"));
    assert!(
        !path.join("old.txt").exists(),
        "1.0's file survived the swap"
    );

    // A digest that does not match: the sync fails, the build command does
    // not run, and the tree of 2.0 stays as it was.
    fx.home
        .write("ops.toml", &tarball_toml(&fx, &wasm, &url("1.0"), &v2_sha));
    let out = fx.ops().arg("build").run();
    assert_ne!(out.code, Some(0), "a bad digest passed:\n{}", out.stderr);
    out.expect_stderr_contains("sha256sum");
    assert!(!out.stdout.contains("release"), "{}", out.stdout);
    assert_eq!(
        fs::read_to_string(path.join("greeting.txt")).unwrap(),
        "release 2.0\n"
    );
    let left: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("tarball-sync"))
        .collect();
    assert!(
        left.is_empty(),
        "staging left beside the build path: {left:?}"
    );

    // Every download was made by the node (three runs, three requests).
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/app-1.0.tar.gz", "/app-2.0.tar.gz", "/app-1.0.tar.gz"]
    );
}

const CLIENT_SECRET_VAR: &str = "TOKEN_CLIENT_SECRET";

fn token_toml(fx: &BuildFixture, wasm: &Path, endpoint: &str) -> String {
    // An `http` grant names the port when it is not the scheme's default.
    let port = endpoint
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap();
    let grant = format!(r#"["http:127.0.0.1:{port}", "http:localhost"]"#);
    format!(
        "{}auth = \"token-exchange\"\n\n[build.token-exchange]\nendpoint = {}\n\
         client_id = \"ci\"\nclient_secret = \"${CLIENT_SECRET_VAR}\"\nscope = \"push\"\n\n{}",
        fx.config.to_toml(),
        toml_string(endpoint),
        plugin_table("token-exchange", wasm, &grant)
    )
}

#[test]
fn token_exchange_gets_a_short_lived_token_over_http_and_the_images_are_pushed_with_it() {
    let wasm = built("token-exchange");
    let mut fx = BuildFixture::new();
    // No registry token anywhere in ops.toml or the environment: the only
    // way to the registry's password is the token server.
    fx.image_config().token = None;
    let (password, username) = (fx.registry.token().to_owned(), fx.registry.username());
    let username = username.to_owned();
    let secret = "client-secret-8d1f";
    let server = WebServer::start(move |request| {
        let form = request.form();
        let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
        let good = request.method == "POST"
            && request.path == "/token"
            && has("grant_type", "client_credentials")
            && has("client_id", "ci")
            && has("client_secret", secret)
            && has("scope", "push");
        if good {
            WebResponse::json(
                200,
                &format!(
                    r#"{{"access_token": "{password}", "expires_in": 300, "username": "{username}"}}"#
                ),
            )
        } else {
            WebResponse::json(401, r#"{"error": "invalid_client"}"#)
        }
    });
    let endpoint = format!("{}/token", server.url());
    fx.home
        .write("ops.toml", &token_toml(&fx, &wasm, &endpoint));
    // Its `http` grants act from this machine: the user trusts the file.
    fx.home
        .ops()
        .env(CLIENT_SECRET_VAR, secret)
        .arg("trust")
        .run()
        .expect_success();

    // A wrong client secret: refused by the token server, nothing pushed.
    let out = fx
        .home
        .ops()
        .env(CLIENT_SECRET_VAR, "wrong")
        .args(["build", "--service", "api"])
        .run();
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    out.expect_stderr_contains("refused the token request (HTTP 401)");
    fx.assert_nothing_pushed();

    let child = fx
        .home
        .ops()
        .env(CLIENT_SECRET_VAR, secret)
        .args(["build", "--service", "api"])
        .spawn();
    let mut argv = String::new();
    let out = wait_watching(child, std::time::Duration::from_secs(300), || {
        argv.push_str(&all_argv())
    });
    out.expect_success();
    assert_eq!(fx.service_info("api", "latest").service, "api");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[1].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    // The client secret stays on this machine: not on the node, not in any
    // process's argv, not in the output; the token is not in argv either.
    assert!(!argv.contains(secret), "the client secret was in an argv");
    assert!(
        !argv.contains(fx.registry.token()),
        "the token was in an argv"
    );
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(!shown.contains(secret) && !shown.contains(fx.registry.token()));
    let on_node = BuildFixture::files_containing(&[fx.dir()], secret);
    assert!(
        on_node.is_empty(),
        "the client secret is on the node: {on_node:?}"
    );
}
