//! Faults injected into real parts while a run needs them: the control-plane
//! API failing or hanging, the registry down or refusing, the node's Docker
//! daemon stopped, its disk full, its sshd killed mid-sync. Each ends in an
//! error that names the step, a documented exit code, and nothing held.

use std::time::{Duration, Instant};

use crate::support::home::TestHome;
use crate::support::http::HttpServer;
use crate::support::sshd::Sshd;

fn node_json(sshd: &Sshd) -> String {
    format!(
        r#"{{"id": 4, "host": "127.0.0.1", "port": {}, "user": "{}"}}"#,
        sshd.port(),
        sshd.user()
    )
}

/// The control plane is an HTTP server the test runs: a real server whose
/// answers the test chooses, since no real control plane fails on demand.
fn api_home(api: &HttpServer) -> TestHome {
    let home = TestHome::new();
    home.write(
        "ops.toml",
        &format!("[build]\nnode = 4\n[api]\nurl = \"{}\"\n", api.url()),
    );
    home
}

#[test]
fn an_api_that_fails_once_is_asked_again() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    home.trust(&sshd);
    let api = HttpServer::builder()
        .route("/v1/nodes/4", 200, &node_json(&sshd))
        .fail_first("/v1/nodes/4", 1, 503)
        .start();
    home.write(
        "ops.toml",
        &format!("[build]\nnode = 4\n[api]\nurl = \"{}\"\n", api.url()),
    );
    let out = home.ops().args(["exec", "--", "echo", "reached"]).run();
    out.expect_success();
    assert_eq!(out.stdout, "reached\n");
    assert_eq!(api.requests().len(), 2, "{:?}", api.requests());
}

#[test]
fn an_api_answering_500_is_retried_then_fails_with_exit_3_naming_the_url() {
    let api = HttpServer::builder()
        .fail_first("/v1/nodes/4", 100, 500)
        .start();
    let home = api_home(&api);
    let since = Instant::now();
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3)
        .expect_stderr_contains(&format!("{}/v1/nodes/4", api.url()))
        .expect_stderr_contains("HTTP 500")
        .expect_stderr_contains("tried 3 times");
    assert_eq!(api.requests().len(), 3, "{:?}", api.requests());
    // Two pauses, 0.5 s and 1 s: bounded, not a hot loop, not endless.
    let took = since.elapsed();
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // A 404 is an answer: asked once.
    let api = HttpServer::builder()
        .fail_first("/v1/nodes/4", 100, 404)
        .start();
    let out = api_home(&api).ops().args(["exec", "--", "true"]).run();
    out.expect_code(3).expect_stderr_contains("HTTP 404");
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn an_api_that_never_answers_times_out_with_exit_3_naming_the_url() {
    let api = HttpServer::builder().hang("/v1/nodes/4").start();
    let home = api_home(&api);
    let since = Instant::now();
    let out = home.ops().args(["exec", "--", "true"]).run();
    let took = since.elapsed();
    out.expect_code(3)
        .expect_stderr_contains(&format!("{}/v1/nodes/4", api.url()))
        .expect_stderr_contains("tried 3 times");
    assert_eq!(api.requests().len(), 3);
    assert!(took < Duration::from_secs(25), "{took:?}");
    eprintln!("a hanging API failed the run after {took:?}");
}

/// The node's disk fills up during the sync: a 1 MiB filesystem as the
/// build path's parent, and a commit with 4 MiB of barely compressible text.
#[test]
fn a_full_disk_on_the_node_during_the_sync_is_exit_4_no_space_left() {
    let mut fx = crate::support::build::BuildFixture::new();
    fx.config.image = None;
    let noise = crate::support::git::incompressible_text(4 << 20, 0x2545_f491_4f6c_dd1d_u64);
    fx.origin.commit("big", &[("big.txt", &noise)]);
    let builds = fx.build_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&builds).unwrap();
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&builds)
        .status()
        .unwrap();
    assert!(mount.success(), "mount a 1 MiB tmpfs at {builds:?}");
    let out = fx.build(&[]);
    let _ = std::process::Command::new("umount").arg(&builds).status();
    out.expect_code(4)
        .expect_stderr_contains("no space left on the build node's disk for")
        .expect_stderr_contains("No space left on device");
    assert!(!out.stderr.contains("==> build:"), "{}", out.stderr);
    assert_eq!(fx.node_tmp_entries(), Vec::<String>::new());
}
