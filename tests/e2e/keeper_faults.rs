//! Faults around a kept connection, each made for real: the run killed,
//! the keeper killed, a network path that stops forwarding, another local
//! user at the socket. Whatever happens, what a run started on the node
//! ends with it, and the next run goes on (directly if need be).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::dropped::{group_alive, wait_for_group};
use crate::support::build::BuildFixture;
use crate::support::eventually::wait_until;
use crate::support::freeze_proxy::FreezeProxy;
use crate::support::keeper::KeeperPlace;
use crate::support::local_user::LocalUser;
use crate::support::ops::wait;

/// A build whose command writes its process group to a file, then sleeps.
fn sleeping_build() -> (BuildFixture, tempfile::NamedTempFile) {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = format!(
        "cut -d' ' -f5 /proc/$$/stat > '{}'; sleep 300",
        pid_file.path().display()
    );
    fx.write_config();
    (fx, pid_file)
}

/// Warms the keeper up with a quick run, then starts the sleeping one.
fn warm_then_sleep(fx: &mut BuildFixture, place: &KeeperPlace) -> std::process::Child {
    let command = std::mem::replace(&mut fx.config.command, "true".into());
    fx.write_config();
    place
        .persist(fx.ops(), "1m")
        .arg("build")
        .run()
        .expect_success();
    fx.config.command = command;
    fx.write_config();
    place.persist(fx.ops(), "1m").arg("build").spawn()
}

fn gone_within(pgid: i32, within: Duration, what: &str) -> Duration {
    let since = Instant::now();
    wait_until(within, what, || !group_alive(pgid));
    since.elapsed()
}

#[test]
fn a_killed_run_on_a_kept_connection_stops_its_build_and_frees_the_lock() {
    let (mut fx, pid_file) = sleeping_build();
    let place = KeeperPlace::new();
    let mut run = warm_then_sleep(&mut fx, &place);
    let pgid = wait_for_group(pid_file.path());
    assert_eq!(
        fx.node.logins(),
        1,
        "the sleeping run is on the kept connection"
    );
    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    let _ = run.wait();
    let took = gone_within(
        pgid,
        Duration::from_secs(5),
        "the build stopping after ops was killed",
    );
    eprintln!("build stopped {took:?} after the run was killed");
    fx.config.command = "true".into();
    fx.write_config();
    let out = place.persist(fx.ops(), "1m").arg("build").run();
    out.expect_success();
    assert!(
        !out.stderr.contains("waiting for another ops build"),
        "the path stayed locked:\n{}",
        out.stderr
    );
}

#[test]
fn a_killed_keeper_ends_the_run_with_exit_3_and_stops_the_build() {
    let (mut fx, pid_file) = sleeping_build();
    let place = KeeperPlace::new();
    let run = warm_then_sleep(&mut fx, &place);
    let pgid = wait_for_group(pid_file.path());
    let keepers = place.pids();
    assert_eq!(keepers.len(), 1);
    // SAFETY: the keeper this test's runs started (found by its directory).
    unsafe { libc::kill(keepers[0], libc::SIGKILL) };
    let took = gone_within(
        pgid,
        Duration::from_secs(5),
        "the build stopping after the keeper was killed",
    );
    eprintln!("build stopped {took:?} after the keeper was killed");
    let out = wait(run);
    out.expect_code(3);
}

#[test]
fn a_path_that_stops_forwarding_is_given_up_and_the_next_run_connects_directly() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "true".into();
    let proxy = FreezeProxy::start(fx.node.port());
    fx.config.target = format!("{}@127.0.0.1:{}", fx.node.user(), proxy.port());
    fx.home.append_known_hosts(&format!(
        "[127.0.0.1]:{} {}",
        proxy.port(),
        fx.node.host_public_key()
    ));
    fx.write_config();
    let place = KeeperPlace::new();
    place
        .persist(fx.ops(), "1m")
        .arg("build")
        .run()
        .expect_success();
    proxy.freeze();
    let since = Instant::now();
    let out = place.persist(fx.ops(), "1m").arg("build").run();
    let took = since.elapsed();
    out.expect_success();
    out.expect_stderr_contains("connection keeper:");
    out.expect_stderr_contains("connecting directly");
    eprintln!("the run after the freeze took {took:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(fx.node.logins(), 2, "the second run logged in directly");
}

#[test]
fn another_local_user_is_refused_by_the_keeper() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "true".into();
    fx.write_config();
    let place = KeeperPlace::new();
    place
        .persist(fx.ops(), "1m")
        .arg("build")
        .run()
        .expect_success();
    let socket = fs::read_dir(place.dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .expect("the keeper's socket");
    let user = LocalUser::new();
    let probe = format!(
        "python3 -c 'import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect(\"{}\")\nexcept OSError as e:\n    print(\"connect:\", e.strerror); raise SystemExit\ntry:\n    s.sendall(b\"{{\\\"op\\\":\\\"status\\\"}}\\n\")\n    data = s.recv(4096)\nexcept OSError:\n    data = b\"\"\nprint(\"answer:\", repr(data))'",
        socket.display()
    );
    // The directory keeps the other user out. (A peer that is refused
    // sees its connection closed, or reset if it wrote first: no answer.)
    let out = user.sh(&probe);
    assert!(out.contains("connect: Permission denied"), "{out}");

    // Opened up by mistake, the socket still answers only its own uid.
    let open = |mode| {
        for dir in [place.runtime().to_path_buf(), place.dir()] {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    open(0o755);
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o666)).unwrap();
    let out = user.sh(&probe);
    assert_eq!(out.trim(), "answer: b''", "the other user got an answer");
    assert!(
        place.log().contains("refused a peer of another user"),
        "{}",
        place.log()
    );
    open(0o700);
    let status = place.within(fx.ops()).args(["connection", "status"]).run();
    status.expect_success();
    status.expect_stdout_contains("idle");
}

#[test]
fn a_keeper_directory_open_to_others_is_refused_and_the_run_connects_directly() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "true".into();
    fx.write_config();
    let place = KeeperPlace::new();
    // Made by someone else's mistake (or on purpose) before ops ran.
    fs::create_dir(place.dir()).unwrap();
    fs::set_permissions(place.dir(), fs::Permissions::from_mode(0o777)).unwrap();
    let out = place.persist(fx.ops(), "1m").arg("build").run();
    out.expect_success();
    out.expect_stderr_contains("connection keeper:");
    out.expect_stderr_contains("is open to other users");
    out.expect_stderr_contains("connecting directly");
    assert_eq!(
        out.stderr.matches("connection keeper:").count(),
        1,
        "one line: {}",
        out.stderr
    );
    assert!(
        place.pids().is_empty(),
        "a keeper started in an open directory"
    );
}
