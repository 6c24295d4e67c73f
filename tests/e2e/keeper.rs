//! The connection keeper (`OPS_PERSIST`): runs made one after another log
//! in once, and what a run starts on the node still ends with it.

use std::time::Duration;

use crate::support::build::{json_events, BuildFixture, TOKEN_VAR};
use crate::support::keeper::KeeperPlace;
use crate::support::ops::OpsCommand;

fn fixture() -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "echo built".into();
    fx.write_config();
    fx
}

fn round_trips(stdout: &str) -> u64 {
    json_events(stdout)
        .iter()
        .find(|e| e["event"] == "summary")
        .and_then(|e| e["round_trips"].as_u64())
        .expect("a summary with round_trips")
}

#[test]
fn two_runs_with_persistence_log_in_once() {
    let fx = fixture();
    let place = KeeperPlace::new();
    let build = || {
        let out = place
            .persist(fx.ops(), "1m")
            .args(["build", "--output", "json"])
            .run();
        out.expect_success();
        out
    };
    let first = build();
    let second = build();
    assert_eq!(
        fx.node.logins(),
        1,
        "two runs, one login expected; the runs said:\n{}\n{}\nthe keeper:\n{}",
        first.stdout,
        second.stdout,
        place.log()
    );
    let (cold, warm) = (round_trips(&first.stdout), round_trips(&second.stdout));
    eprintln!("round trips: first run {cold}, second {warm}");
    // Connecting costs 8 round trips and leasing 1; either run may save
    // one more in a race of channels opened ahead.
    assert!(
        warm + 6 <= cold,
        "the second run waited on {warm} round trips, the first {cold}"
    );
    assert_eq!(place.pids().len(), 1, "one keeper");

    let status = place.within(fx.ops()).args(["connection", "status"]).run();
    status.expect_success();
    status.expect_stdout_contains(&format!("[127.0.0.1]:{}", fx.node.port()));
    status.expect_stdout_contains("idle");

    let stop = place.within(fx.ops()).args(["connection", "stop"]).run();
    stop.expect_success();
    stop.expect_stderr_contains("closed 1 kept connection");
    place.wait_none(Duration::from_secs(15), "the keeper exiting after stop");
}

#[test]
fn with_ci_set_nothing_outlives_the_run() {
    let fx = fixture();
    let place = KeeperPlace::new();
    for _ in 0..2 {
        place
            .persist(fx.ops(), "10m")
            .env("CI", "true")
            .arg("build")
            .run()
            .expect_success();
        assert!(place.pids().is_empty(), "a keeper runs under CI");
    }
    assert_eq!(fx.node.logins(), 2, "each CI run logs in itself");
    let sockets: Vec<_> = std::fs::read_dir(place.dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        sockets.is_empty(),
        "left in the keeper directory: {sockets:?}"
    );
}

#[test]
fn the_idle_timeout_ends_the_keeper() {
    let fx = fixture();
    let place = KeeperPlace::new();
    place
        .persist(fx.ops(), "1s")
        .arg("build")
        .run()
        .expect_success();
    assert_eq!(place.pids().len(), 1, "a keeper after the run");
    // 1 s of idle time closes the connection; a keeper holding nothing
    // leaves 5 s after it last heard from a run.
    place.wait_none(
        Duration::from_secs(20),
        "the keeper ending after its idle time",
    );
    assert!(place.log().contains("idle"), "{}", place.log());
    place
        .persist(fx.ops(), "1s")
        .arg("build")
        .run()
        .expect_success();
    assert_eq!(
        fx.node.logins(),
        2,
        "the connection was closed at its idle time"
    );
}

#[test]
fn a_keeper_of_another_build_is_not_used() {
    let fx = fixture();
    let place = KeeperPlace::new();
    // A copy of the binary is another build to ops: another file, another
    // modification time.
    let other = tempfile::tempdir().unwrap();
    let older = other.path().join("ops");
    std::fs::copy(crate::support::ops::ops_binary(), &older).unwrap();
    let older_ops =
        OpsCommand::with_binary(&older, fx.home.path()).env(TOKEN_VAR, fx.registry.token());
    place
        .persist(older_ops, "1m")
        .arg("build")
        .run()
        .expect_success();
    assert_eq!(place.pids().len(), 1);
    place
        .persist(fx.ops(), "1m")
        .arg("build")
        .run()
        .expect_success();
    assert_eq!(
        fx.node.logins(),
        2,
        "the newer build used the older build's connection:\n{}",
        place.log()
    );
    assert_eq!(place.pids().len(), 2, "one keeper per build");
    let status = place.within(fx.ops()).args(["connection", "status"]).run();
    status.expect_success();
    status.expect_stdout_contains("another build of ops");

    let stop = place.within(fx.ops()).args(["connection", "stop"]).run();
    stop.expect_success();
    stop.expect_stderr_contains("closed 2 kept connections");
    place.wait_none(Duration::from_secs(15), "both keepers exiting after stop");
}

#[test]
fn a_kept_connection_to_a_node_whose_key_changed_is_refused() {
    let fx = fixture();
    let place = KeeperPlace::new();
    place
        .persist(fx.ops(), "1m")
        .arg("build")
        .run()
        .expect_success();
    // The user learns the node was replaced, and records another key.
    let dir = tempfile::tempdir().unwrap();
    let other_key = crate::support::home::generate_key(&dir.path().join("k"), "other");
    let known_hosts = fx.home.known_hosts_path();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {other_key}\n", fx.node.port()),
    )
    .unwrap();
    let out = place.persist(fx.ops(), "1m").arg("build").run();
    out.expect_code(3);
    out.expect_stderr_contains("HOST KEY MISMATCH");
    assert!(
        !out.stderr.contains("connection keeper:"),
        "a refused key is not the keeper's failure:\n{}",
        out.stderr
    );
    assert!(
        place.log().contains("not reused"),
        "the kept connection was not dropped:\n{}",
        place.log()
    );
    assert_eq!(fx.node.logins(), 1, "nothing logged in to the changed node");
}

#[test]
fn ssh_configs_control_persist_keeps_the_connection() {
    let fx = fixture();
    fx.home
        .write_ssh_config("Host *\n  ControlMaster auto\n  ControlPersist 1m\n");
    let place = KeeperPlace::new();
    for _ in 0..2 {
        place.within(fx.ops()).arg("build").run().expect_success();
    }
    assert_eq!(fx.node.logins(), 1, "{}", place.log());
    // OPS_PERSIST=off wins over ssh_config.
    place
        .persist(fx.ops(), "off")
        .arg("build")
        .run()
        .expect_success();
    assert_eq!(fx.node.logins(), 2);
}

/// The keeper holds nothing of the run that started it: a pipe the run
/// inherited (here the test's own stdout, as a CI job's log pipe would be)
/// reaches end of file when the run ends, although the keeper stays; and
/// the keeper is in a session of its own.
#[test]
fn the_keeper_holds_no_descriptor_of_the_run() {
    let fx = fixture();
    let place = KeeperPlace::new();
    let ops = crate::support::ops::ops_binary();
    // fd 7, a copy of stdout without close-on-exec, is what ops inherits.
    let child = place
        .persist(
            OpsCommand::with_binary(std::path::Path::new("/bin/sh"), fx.home.path())
                .env(TOKEN_VAR, fx.registry.token()),
            "1m",
        )
        .args(["-c", "exec 7>&1; exec \"$0\" build"])
        .arg(&ops)
        .spawn();
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(crate::support::ops::wait(child));
    });
    let out = ended
        .recv_timeout(Duration::from_secs(60))
        .expect("the run's output never ended: something holds its pipe");
    out.expect_success();
    let keepers = place.pids();
    assert_eq!(keepers.len(), 1, "the keeper stays");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", keepers[0])).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    assert_eq!(fields[3], keepers[0].to_string(), "its own session: {stat}");
}
