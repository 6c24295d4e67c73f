//! `[build.git] token` against a real smart-HTTP git server that demands
//! it: git on the node clones, fetches and updates submodules with the
//! token, which never shows up in output, in any command line while the
//! run goes on, or in any file the run leaves on the node; a wrong token
//! is a clear sync error, and plain http:// to another host is refused
//! before connecting.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::build::{all_argv, json_events, BuildFixture};
use crate::support::git::{self, GitOrigin};
use crate::support::git_http::{basic_authorization, GitHttpServer};
use crate::support::ops::{wait_watching, OpsOutput};
use crate::support::registry::random_hex;

/// The variable ops.toml names for the git token.
const GIT_TOKEN_VAR: &str = "OPS_TEST_GIT_TOKEN";

/// A fixture whose origin is served over http://127.0.0.1 by a server that
/// accepts `token` only, and whose ops.toml names `$OPS_TEST_GIT_TOKEN`.
fn http_fixture(token: &str) -> (BuildFixture, GitHttpServer) {
    let mut fx = BuildFixture::new();
    let server = GitHttpServer::serve(&fx.origin, token);
    fx.config.repo = server.url("hello.git");
    fx.config.token = Some(format!("${GIT_TOKEN_VAR}"));
    (fx, server)
}

/// `ops build ARGS` with `token` in the environment, watching every
/// process's argv for `secrets` until it ends.
#[track_caller]
fn build_watching_argv(
    fx: &BuildFixture,
    token: &str,
    args: &[&str],
    secrets: &[&str],
) -> OpsOutput {
    fx.write_config();
    let child = fx
        .ops()
        .env(GIT_TOKEN_VAR, token)
        .arg("build")
        .args(args)
        .spawn();
    wait_watching(child, Duration::from_secs(300), || {
        let argv = all_argv();
        for secret in secrets {
            assert!(!argv.contains(secret), "the git token is in a command line");
        }
    })
}

#[track_caller]
fn assert_absent(out: &OpsOutput, secrets: &[&str]) {
    for secret in secrets {
        assert!(!out.stdout.contains(secret), "git token on stdout");
        assert!(!out.stderr.contains(secret), "git token on stderr");
    }
}

#[test]
fn git_token_clones_and_fetches_over_http_and_leaves_no_trace() {
    let token = format!("gt-{}", random_hex(16));
    let (fx, server) = http_fixture(&token);
    let basic = basic_authorization(&token);
    let encoded = basic.trim_start_matches("Basic ").to_owned();
    let secrets = [token.as_str(), encoded.as_str()];

    let before = fx.node.logins();
    let out = build_watching_argv(&fx, &token, &["-v", "--service", "api"], &secrets);
    out.expect_success();
    assert_eq!(fx.node.logins() - before, 1, "{}", fx.node.log());
    let info = fx.service_info("api", "latest");
    assert_eq!(info.commit, fx.origin.rev_parse(git::MAIN));
    assert_eq!(info.version, "hello main");
    // The submodule's relative URL is on the same server: the token
    // reaches it too.
    assert_eq!(info.vendored, "greeting 0.1", "submodule over HTTP missing");

    let requests = server.requests();
    assert_eq!(server.rejected(), 0, "{requests:#?}\n{}", server.log());
    for path in [
        "/hello.git/git-upload-pack",
        "/greeting.git/git-upload-pack",
    ] {
        assert!(
            requests.iter().any(|r| r.target == path),
            "no request for {path}: {requests:#?}"
        );
    }
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(basic.as_str()),
            "{request:#?}"
        );
    }
    let seen = requests.len();

    // Re-run: a fetch of a new commit, with JSON output.
    let commit = fx
        .origin
        .commit("over http", &[("VERSION", "hello http\n")]);
    let before = fx.node.logins();
    let again = build_watching_argv(
        &fx,
        &token,
        &[
            "-v",
            "--output",
            "json",
            "--service",
            "api",
            "--tag",
            "again",
        ],
        &secrets,
    );
    again.expect_success();
    assert_eq!(fx.node.logins() - before, 1, "{}", fx.node.log());
    json_events(&again.stdout);
    let info = fx.service_info("api", "again");
    assert_eq!(info.commit, commit);
    assert_eq!(info.version, "hello http");
    let fetches = &server.requests()[seen..];
    assert!(
        fetches
            .iter()
            .any(|r| r.target == "/hello.git/git-upload-pack"),
        "the re-run did not fetch: {fetches:#?}"
    );
    assert!(fetches.iter().all(|r| r.authorized), "{fetches:#?}");
    assert_eq!(server.rejected(), 0, "{}", server.log());

    for out in [&out, &again] {
        assert_absent(out, &secrets);
    }
    // Nothing on the node (HOME, TMPDIR, the clone) nor the client's home.
    for secret in secrets {
        let found = BuildFixture::files_containing(&[fx.dir(), fx.home.path()], secret);
        assert!(found.is_empty(), "git token left in {found:?}");
    }
    let git_config = fs::read_to_string(fx.build_path().join(".git/config")).unwrap();
    assert!(
        !git_config.to_ascii_lowercase().contains("extraheader"),
        "{git_config}"
    );
    assert!(!git_config.contains("Authorization"), "{git_config}");
    assert!(
        fx.node_tmp_entries().is_empty(),
        "scratch left: {:?}",
        fx.node_tmp_entries()
    );
    let config = fs::read_to_string(fx.home.path().join("ops.toml")).unwrap();
    assert!(config.contains(&format!("token = \"${GIT_TOKEN_VAR}\"")));
}

#[test]
fn wrong_git_token_fails_the_sync_and_cleartext_http_is_refused() {
    let token = format!("gt-{}", random_hex(16));
    let (mut fx, server) = http_fixture(&token);

    // Plain http:// to a host that is not loopback: refused at the key
    // before connecting anywhere.
    let good = fx.config.clone();
    fx.config.repo = "http://git.example.com/org/hello.git".into();
    fx.write_config();
    let out = fx
        .ops()
        .env(GIT_TOKEN_VAR, &token)
        .args(["build", "-v"])
        .run();
    out.expect_code(2);
    for needle in [
        "ops.toml:",
        "token",
        "clear text",
        "`git.example.com`",
        "https://",
    ] {
        out.expect_stderr_contains(needle);
    }
    assert_absent(&out, &[&token]);
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
    assert!(
        !fx.node.log().contains("Connection from"),
        "{}",
        fx.node.log()
    );
    assert!(server.requests().is_empty());

    // The right server, the wrong token.
    fx.config = good;
    let wrong = format!("gt-{}", random_hex(16));
    let wrong_encoded = basic_authorization(&wrong)
        .trim_start_matches("Basic ")
        .to_owned();
    let secrets = [wrong.as_str(), wrong_encoded.as_str()];
    let out = build_watching_argv(&fx, &wrong, &["-v"], &secrets);
    out.expect_code(4);
    assert!(server.rejected() >= 1, "{:#?}", server.requests());
    assert!(server.requests().iter().all(|r| !r.authorized));
    out.expect_stderr_contains(&format!(
        "{} refused the `token` of [build.git]",
        server.url("").trim_end_matches('/')
    ));
    assert_absent(&out, &secrets);
    for secret in secrets {
        let found = BuildFixture::files_containing(&[fx.dir(), fx.home.path()], secret);
        assert!(found.is_empty(), "wrong git token left in {found:?}");
    }

    // No token at all: the server's demand is named.
    let rejected = server.rejected();
    fx.config.token = None;
    let out = fx.build(&["--service", "api"]);
    out.expect_code(4);
    out.expect_stderr_contains("asks for credentials: set `token` in [build.git]");
    assert!(server.rejected() > rejected);
    fx.assert_nothing_pushed();
}

/// The server itself: a 401 with a Basic challenge without the token, and
/// git's gzip-encoded request bodies (sent once a request passes 1 KiB,
/// here by wanting many tags) reach `git http-backend` intact.
#[test]
fn git_http_server_challenges_and_serves_gzip_bodies() {
    let token = random_hex(16);
    let origin = GitOrigin::empty();
    for i in 0..40 {
        git::git(
            origin.work_tree(),
            &["commit", "-q", "--allow-empty", "-m", &format!("c{i}")],
        );
        git::git(origin.work_tree(), &["tag", &format!("t{i}")]);
    }
    git::git(
        origin.work_tree(),
        &["push", "-q", "--tags", "origin", git::MAIN],
    );
    let server = GitHttpServer::serve(&origin, &token);

    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .write_all(b"GET /hello.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.contains("\r\nWWW-Authenticate: Basic"), "{answer}");
    assert_eq!(server.rejected(), 1);

    let clone = tempfile::tempdir().unwrap();
    let status = git::git_command(clone.path())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env(
            "GIT_CONFIG_KEY_0",
            format!("http.{}.extraHeader", server.url("")),
        )
        .env(
            "GIT_CONFIG_VALUE_0",
            format!("Authorization: {}", server.authorization()),
        )
        .args(["clone", "-q", &server.url("hello.git"), "c"])
        .status()
        .unwrap();
    assert!(status.success(), "clone over http: {}", server.log());
    let tags = git::git(&clone.path().join("c"), &["tag", "--list"]);
    assert_eq!(tags.lines().count(), 40, "{tags}");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.header("content-encoding") == Some("gzip")),
        "no gzip-encoded request: {requests:#?}"
    );
    assert_eq!(server.rejected(), 1, "{}", server.log());
}
