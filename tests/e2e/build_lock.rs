//! One build at a time per build path: a second run waits for the first,
//! and an interrupted run never leaves the path locked.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::eventually::wait_until;

use crate::support::build::BuildFixture;
use crate::support::ops::wait;

fn fixture(command: &str) -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = command.to_owned();
    fx
}

fn wait_for(path: &std::path::Path, needle: &str) {
    wait_until(
        Duration::from_secs(30),
        &format!("{needle:?} in {path:?}"),
        || {
            fs::read_to_string(path)
                .unwrap_or_default()
                .contains(needle)
        },
    );
}

#[test]
fn a_second_build_of_the_same_path_waits_for_the_first() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let log_path = log.path().display().to_string();
    let fx = fixture(&format!(
        "echo start >> '{log_path}'; sleep 2; echo end >> '{log_path}'"
    ));
    fx.write_config();
    let first = fx.ops().arg("build").spawn();
    wait_for(log.path(), "start");
    let second = fx.ops().arg("build").spawn();

    let first = wait(first);
    let second = wait(second);
    first.expect_success();
    second.expect_success();
    second.expect_stderr_contains("waiting for another ops build of");
    let lines = fs::read_to_string(log.path()).unwrap();
    assert_eq!(
        lines, "start\nend\nstart\nend\n",
        "the two builds overlapped"
    );
}

#[test]
fn an_interrupted_build_releases_the_lock() {
    let started = tempfile::NamedTempFile::new().unwrap();
    let fx = fixture(&format!(
        "echo started > '{}'; sleep 60",
        started.path().display()
    ));
    fx.write_config();
    let first = fx.ops().arg("build").spawn();
    wait_for(started.path(), "started");
    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(first.id() as i32, libc::SIGINT) };
    wait(first).expect_code(130);

    let mut fx = fx;
    fx.config.command = "true".into();
    let since = Instant::now();
    let out = fx.build(&[]);
    out.expect_success();
    assert!(
        !out.stderr.contains("waiting for another ops build"),
        "the interrupted run left the path locked:\n{}",
        out.stderr
    );
    assert!(since.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_waiting_build_names_the_holder_and_gives_up_after_lock_wait() {
    let started = tempfile::NamedTempFile::new().unwrap();
    let fx = fixture(&format!(
        "echo started > '{}'; sleep 60",
        started.path().display()
    ));
    fx.write_config();
    let first = fx.ops().args(["build", "--ref", "main"]).spawn();
    wait_for(started.path(), "started");

    let since = Instant::now();
    let second = fx.build(&["--lock-wait", "1s"]);
    second.expect_code(4);
    let holder = format!("pid {} since ", first.id());
    second.expect_stderr_contains("waiting for another ops build of");
    second.expect_stderr_contains(&holder);
    second.expect_stderr_contains("still locked by another ops build after 1s");
    second.expect_stderr_contains(", ref main: ops build --ref main");
    assert!(
        since.elapsed() < Duration::from_secs(20),
        "{:?}",
        since.elapsed()
    );

    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(first.id() as i32, libc::SIGINT) };
    wait(first).expect_code(130);
}

#[test]
fn a_build_path_that_cannot_be_created_says_why_with_exit_4() {
    let mut fx = fixture("true");
    fx.config.path = "/proc/ops-nowhere/hello".into();
    let out = fx.build(&[]);
    out.expect_code(4).expect_stderr_contains(
        "cannot lock /proc/ops-nowhere/hello on the build node: cannot create the directory \
         /proc/ops-nowhere",
    );
}
