//! The registry failing under a real build: down at login, answering 500
//! or 401 to the push. The registry is the real one; the failing answers
//! come from a fault proxy in front of it (no registry fails on demand).

use crate::support::build::BuildFixture;
use crate::support::fault_proxy::{FaultProxy, Rule};
use crate::support::port::ReservedPort;

/// A fixture whose images go to `host` instead of the real registry.
fn through(host: &str) -> BuildFixture {
    let mut fx = BuildFixture::new();
    point_at(&mut fx, host);
    fx
}

fn point_at(fx: &mut BuildFixture, host: &str) {
    let name = fx.repo("x");
    let namespace = name.trim_end_matches("/x").to_owned();
    let image = fx.image_config();
    image.registry = host.to_owned();
    image.prefix = format!("{host}/{namespace}");
}

/// A fixture whose registry is reached through a fault proxy that answers
/// `times` requests `METHOD ...path...` with `status`.
fn behind_proxy(
    method: &'static str,
    path: &'static str,
    status: u16,
    times: usize,
) -> (BuildFixture, FaultProxy) {
    let mut fx = BuildFixture::new();
    let rule = Rule {
        method,
        path,
        status,
        times,
    };
    let proxy = FaultProxy::start(fx.registry.port(), vec![rule]);
    point_at(&mut fx, &proxy.host());
    (fx, proxy)
}

/// Nothing of the run is left on the node: no scratch directory (the
/// registry credentials were there) and no lock held.
fn nothing_left(fx: &BuildFixture) {
    assert_eq!(fx.node_tmp_entries(), Vec::<String>::new());
}

#[test]
fn a_registry_that_is_down_at_login_is_retried_then_exit_7() {
    // Held, never listening: connecting to it is refused for the whole run.
    let reserved = ReservedPort::new();
    let down = format!("127.0.0.1:{}", reserved.port());
    let fx = through(&down);
    let out = fx.build(&["--service", "api"]);
    out.expect_code(7)
        .expect_stderr_contains(&format!("login to {down}"))
        .expect_stderr_contains("trying again in 1s (attempt 2 of 3)")
        .expect_stderr_contains("connection refused")
        .expect_stderr_contains("(tried 3 times)");
    nothing_left(&fx);
    fx.assert_nothing_pushed();
}

#[test]
fn a_push_answered_500_once_is_retried_and_the_build_succeeds() {
    let (fx, proxy) = behind_proxy("PUT", "/manifests/", 500, 1);
    let out = fx.build(&["--tag", "r1"]);
    out.expect_success()
        .expect_stderr_contains("trying again in 1s (attempt 2 of 3)");
    assert_eq!(proxy.answered().len(), 1, "{:?}", proxy.answered());
    for service in ["api", "worker", "web"] {
        assert!(
            fx.registry.digest(&fx.repo(service), "r1").is_some(),
            "{service} is not in the registry"
        );
    }
    nothing_left(&fx);
}

#[test]
fn a_push_answered_500_every_time_fails_with_exit_7_after_3_attempts() {
    let (fx, proxy) = behind_proxy("PUT", "/manifests/", 500, 100);
    let out = fx.build(&["--service", "api"]);
    out.expect_code(7)
        .expect_stderr_contains("push failed")
        .expect_stderr_contains("500")
        .expect_stderr_contains("(tried 3 times)");
    assert_eq!(proxy.answered().len(), 3, "{:?}", proxy.answered());
    assert_eq!(fx.registry.digest(&fx.repo("api"), "latest"), None);
    nothing_left(&fx);
}

#[test]
fn a_401_at_push_after_a_good_login_fails_at_once_with_exit_7() {
    // On the manifest: dockerd itself retries a refused layer upload for
    // a minute before it gives up.
    let (fx, proxy) = behind_proxy("PUT", "/manifests/", 401, 1000);
    let out = fx.build(&["--service", "api"]);
    eprintln!("{}", out.stderr);
    out.expect_code(7)
        .expect_stderr_contains("push failed")
        .expect_stderr_contains("accepted the login but refused this push");
    assert!(
        out.stderr.contains("unauthorized") || out.stderr.contains("authentication required"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("trying again"),
        "a refusal was retried:\n{}",
        out.stderr
    );
    assert!(!proxy.answered().is_empty());
    nothing_left(&fx);
}

#[test]
fn a_stopped_docker_daemon_on_the_node_is_exit_6_and_says_so() {
    // The node's docker talks to an engine of its own, which is then
    // stopped: what docker on a node with dockerd down sees.
    let engine = crate::support::docker::SecondEngine::start();
    let host = engine.host();
    let fx = BuildFixture::with_node_env(&[("DOCKER_HOST", &host)]);
    drop(engine);
    for args in [&["--no-push"][..], &[]] {
        let out = fx.build(args);
        eprintln!("{}", out.stderr);
        out.expect_code(6)
            .expect_stderr_contains("the Docker daemon is not running on the node");
        assert!(
            !out.stderr.contains("trying again"),
            "a stopped daemon was retried:\n{}",
            out.stderr
        );
        nothing_left(&fx);
    }
    fx.assert_nothing_pushed();
}
