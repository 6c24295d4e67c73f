//! What the run waits on: its count of round trips to the node, and the
//! registry login that runs beside the sync and the build command, so that
//! a refused login ends the run without waiting for the build.

use std::time::{Duration, Instant};

use crate::support::build::{json_events, BuildFixture, TOKEN_VAR};

use super::dropped::{group_alive, wait_for_group};

/// Round trips the example build (git source, three services, push) waits
/// on at most, connection included: 8 to connect and authenticate, the
/// sync (with the build lock and the scratch directory beside it), the
/// build command, the images and the pushes one each. One more means a
/// change put a request on the critical path. (A run may need one less:
/// whether a channel opened ahead is ready before a command asks for it is
/// a race on loopback.)
const EXAMPLE_ROUND_TRIPS: u64 = 12;

#[test]
fn the_example_build_waits_on_a_known_number_of_round_trips() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--output", "json"]);
    let events = json_events(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["event"] == "summary")
        .expect("a summary event");
    let counted = summary["round_trips"].as_u64().expect("round_trips");
    eprintln!("the example build waited on {counted} round trips");
    assert!(
        (EXAMPLE_ROUND_TRIPS - 2..=EXAMPLE_ROUND_TRIPS).contains(&counted),
        "{counted} round trips, expected at most {EXAMPLE_ROUND_TRIPS}:\n{}",
        out.stdout
    );

    // `-v` says it too.
    let out = fx.build_ok(&["-v"]);
    assert!(
        out.stderr.contains("round trips to"),
        "no round trip count in -v output:\n{}",
        out.stderr
    );
}

#[test]
fn a_refused_login_ends_the_run_and_stops_the_build_command() {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let mut fx = BuildFixture::new();
    let finished = fx.marker("build-finished");
    fx.config.command = format!(
        "cut -d' ' -f5 /proc/$$/stat > '{}'; sleep 60; touch '{}'",
        pid_file.path().display(),
        finished.display()
    );
    fx.write_config();
    let started = Instant::now();
    let run = fx
        .ops()
        .env(TOKEN_VAR, "wrong-token-0123456789")
        .args(["build"])
        .spawn();
    let out = crate::support::ops::wait(run);
    let reported_in = started.elapsed();
    out.expect_code(7);
    assert!(out.stderr.contains("login"), "{}", out.stderr);
    eprintln!("refused login reported {reported_in:?} after the start");
    assert!(
        reported_in < Duration::from_secs(30),
        "the refused login waited for the build command: {reported_in:?}"
    );
    // The build command may not have started yet when the login was
    // refused; if it had, it is stopped.
    let started_build = std::fs::read_to_string(pid_file.path()).unwrap_or_default();
    if !started_build.is_empty() {
        let pgid = wait_for_group(pid_file.path());
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_alive(pgid) {
            assert!(
                Instant::now() < deadline,
                "the build command still runs after the refused login"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(!finished.exists(), "the build command ran to its end");
    fx.assert_nothing_pushed();
    assert!(
        fx.node_tmp_entries().is_empty(),
        "{:?}",
        fx.node_tmp_entries()
    );
}
