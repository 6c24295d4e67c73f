//! What a run starts on the node ends with it, and what a run keeps for
//! itself (the build lock's gate, the lock file, the local relay socket)
//! stays its own while other users share the node or the client machine.
//!
//! Each test makes the attack as it was made: a build command that leaves
//! daemons behind (`setsid`, a double fork), such a daemon waiting for the
//! next run's forwarded agent, and a second local user (made here with
//! `useradd`, removed at the end) that opens another run's gate, plants a
//! symlink where the node user writes, or drives ops's relay.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::agent::SshAgent;
use crate::support::build::BuildFixture;
use crate::support::eventually::{poll, wait_until};
use crate::support::local_user::LocalUser;
use crate::support::ops::wait;

/// Whether `pid` is a live process (a zombie is not).
fn alive(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Kills the daemons a test's build left, if the test failed before they
/// were stopped.
struct Leftovers(Vec<PathBuf>);

impl Leftovers {
    fn pids(&self) -> Vec<i32> {
        self.0
            .iter()
            .filter_map(|p| fs::read_to_string(p).ok()?.trim().parse().ok())
            .collect()
    }

    /// The pids still alive once `within` has passed (or at once, with
    /// `None`).
    fn alive_after(&self, within: Option<Duration>) -> Vec<i32> {
        poll(within.unwrap_or_default(), || {
            let left: Vec<i32> = self.pids().into_iter().filter(|p| alive(*p)).collect();
            if left.is_empty() {
                Ok(left)
            } else {
                Err(left)
            }
        })
        .unwrap_or_else(|left| left)
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: signalling a process this test's build started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// A build command that starts two daemons, one with `setsid` and one by
/// a double fork, each writing its pid to a file, and returns once both
/// are up.
fn daemon_command(fx: &BuildFixture, body: &str) -> (String, Leftovers) {
    let setsid = fx.dir().join("setsid.pid");
    let forked = fx.dir().join("forked.pid");
    let command = format!(
        "setsid sh -c 'echo $$ > {s}; {body}' >/dev/null 2>&1 </dev/null & \
         (sh -c 'echo $$ > {f}; {body}' >/dev/null 2>&1 </dev/null &); \
         n=0; while {{ [ ! -s {s} ] || [ ! -s {f} ]; }} && [ $n -lt 2000 ]; do \
         sleep 0.01; n=$((n+1)); done",
        s = setsid.display(),
        f = forked.display(),
    );
    (command, Leftovers(vec![setsid, forked]))
}

#[test]
fn daemons_the_build_command_starts_end_with_the_run() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    let (command, daemons) = daemon_command(&fx, "exec sleep 1000");
    fx.config.command = command;
    fx.build(&[]).expect_success();
    assert_eq!(daemons.pids().len(), 2, "the daemons never started");
    let left = daemons.alive_after(Some(Duration::from_secs(10)));
    assert!(left.is_empty(), "still running after ops build: {left:?}");
}

#[test]
fn a_daemon_of_the_build_command_is_gone_when_its_step_ends() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    let (command, daemons) = daemon_command(&fx, "exec sleep 1000");
    fx.config.command = command;
    fx.write_config();
    let mut ops = fx.ops().args(["build", "--output", "json"]).spawn();
    let stdout = ops.stdout.take().unwrap();
    let mut at_step_end = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("\"step_finished\"") && line.contains("\"step\":\"build\"") {
            // The step is reported ended: nothing it started may run on.
            at_step_end = Some(daemons.alive_after(None));
        }
    }
    wait(ops).expect_success();
    assert_eq!(daemons.pids().len(), 2, "the daemons never started");
    let left = at_step_end.expect("the build step never finished");
    assert!(left.is_empty(), "alive when the build step ended: {left:?}");
}

#[test]
fn a_daemon_left_by_one_run_cannot_use_the_next_runs_agent() {
    let mut fx = BuildFixture::new();
    let ssh = fx.origin.over_ssh();
    let agent = SshAgent::start();
    agent.add(ssh.key().private_key_path());
    let fingerprint = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(ssh.key().private_key_path())
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    fx.config.image = None;
    let loot = fx.dir().join("loot");
    // The daemon tries every forwarded agent socket it can find, for as
    // long as it lives, and keeps what the agents offer.
    let (command, _daemons) = daemon_command(
        &fx,
        &format!(
            "while :; do for s in /tmp/ssh-*/agent.*; do SSH_AUTH_SOCK=$s ssh-add -l \
             >> {} 2>/dev/null; done; sleep 0.02; done",
            loot.display()
        ),
    );
    fx.config.command = command;
    fx.build(&[]).expect_success();

    fx.config.repo = ssh.url().to_owned();
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);
    fx.config.forward_agent = Some(true);
    fx.config.command = "true".into();
    fx.write_config();
    let out = fx
        .ops()
        .env("SSH_AUTH_SOCK", agent.socket())
        .arg("build")
        .run();
    out.expect_success();
    let loot = fs::read_to_string(&loot).unwrap_or_default();
    assert!(
        !loot.contains(&fingerprint),
        "a daemon of the first run used the second run's agent:\n{loot}"
    );
}

/// A node TMPDIR shared with other users, as /tmp is (world-writable,
/// sticky), reachable through the fixture's directory.
fn share_node_tmp(fx: &BuildFixture) {
    fs::set_permissions(fx.dir(), fs::Permissions::from_mode(0o711)).unwrap();
    fs::set_permissions(fx.node_tmp(), fs::Permissions::from_mode(0o1777)).unwrap();
}

fn wait_for_text(path: &Path, needle: &str) {
    wait_until(
        Duration::from_secs(60),
        &format!("{needle:?} in {path:?}"),
        || {
            fs::read_to_string(path)
                .unwrap_or_default()
                .contains(needle)
        },
    );
}

fn wait_for_file(path: &Path) {
    wait_until(
        Duration::from_secs(60),
        &format!("{path:?} appearing"),
        || path.exists(),
    );
}

/// Lets the waiting build commands end, however the test ends.
struct Go(PathBuf);

impl Drop for Go {
    fn drop(&mut self) {
        let _ = fs::write(&self.0, "");
    }
}

#[test]
fn another_user_on_the_node_cannot_open_a_waiting_runs_gate() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    share_node_tmp(&fx);
    let log = fx.dir().join("log");
    let go = fx.dir().join("go");
    let victim = fx.dir().join("victim");
    fs::write(&victim, "the node user's file\n").unwrap();
    fx.config.command = format!(
        "echo start >> {log}; n=0; while [ ! -e {go} ] && [ $n -lt 1200 ]; do sleep 0.05; \
         n=$((n+1)); done; echo end >> {log}",
        log = log.display(),
        go = go.display()
    );
    fx.write_config();
    let _go = Go(go.clone());
    let first = fx.ops().arg("build").spawn();
    wait_for_text(&log, "start");
    let second = fx.ops().arg("build").spawn();

    // What the second user does: wait for the second lock request (two
    // lock scripts, `sh -c` with the script's first line), take every gate name from the command lines it can
    // read, and plant a symlink to the node user's file there (`-e` on it
    // opens the gate; taking the lock truncates the file).
    let user = LocalUser::new();
    let tmp = fx.node_tmp();
    // Once both lock requests are there, it looks for gate names until it
    // finds some or the second run has waited a while.
    let report = user.sh(&format!(
        "T={tmp}; n=0; k=0; t=; while [ $n -lt 600 ] && [ $k -lt 20 ]; do \
         c=$(for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done); \
         if [ $(printf '%s\\n' \"$c\" | grep -c '^sh -c [gm]=') -ge 2 ]; then k=$((k+1)); \
         t=$(printf '%s\\n' \"$c\" | grep -o 'ops-lock[a-z-]*-[0-9a-f]\\{{16,\\}}' | sort -u); \
         [ -n \"$t\" ] && break; fi; sleep 0.05; n=$((n+1)); done; \
         for t in $t; do ln -s {victim} \"$T/.$t\" 2>/dev/null && echo planted $t; done; \
         for d in \"$T\"/ops-*; do [ -d \"$d\" ] && touch \"$d/locked\" \"$d/open\" 2>/dev/null \
         && echo touched $d; done; echo seen $k; echo done",
        tmp = tmp.display(),
        victim = victim.display()
    ));
    assert!(report.contains("done"), "{report}");
    // The attack came while both lock requests were on the node; otherwise
    // it looked at the wrong moment and the check below proves nothing.
    assert!(
        !report.contains("seen 0\n"),
        "the second user never saw both lock requests: {report}"
    );
    eprintln!("the second user: {report}");
    // A second build that started now would write a second "start".
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            text.matches("start").count(),
            1,
            "two builds of one path at once after the attack ({report}):\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    fs::write(&go, "").unwrap();
    wait(first).expect_success();
    wait(second).expect_success();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "start\nend\nstart\nend\n"
    );
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "the node user's file\n",
        "the lock followed the planted symlink ({report})"
    );
}

#[test]
fn a_symlink_in_place_of_the_lock_file_is_not_followed() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "true".into();
    let victim = fx.dir().join("victim");
    fs::write(&victim, "the node user's file\n").unwrap();
    // The build path's parent is shared with another user.
    let parent = fx.build_path().parent().unwrap().to_path_buf();
    fs::create_dir_all(&parent).unwrap();
    fs::set_permissions(fx.dir(), fs::Permissions::from_mode(0o711)).unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o777)).unwrap();
    let user = LocalUser::new();
    let planted = user.sh(&format!(
        "ln -s {} {}/.hello.ops-lock && echo planted",
        victim.display(),
        parent.display()
    ));
    assert!(planted.contains("planted"));
    let out = fx.build(&[]);
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "the node user's file\n",
        "the lock file's symlink was followed:\n{}",
        out.stderr
    );
}

#[test]
fn another_local_user_cannot_use_the_relay_under_umask_000() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.source = "push".into();
    let project = fx.home.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("file.txt"), "pushed\n").unwrap();
    let started = fx.dir().join("started");
    let go = fx.dir().join("go");
    let pwned = fx.dir().join("pwned");
    fx.config.command = format!(
        "touch {started}; n=0; while [ ! -e {go} ] && [ $n -lt 1200 ]; do sleep 0.05; \
         n=$((n+1)); done",
        started = started.display(),
        go = go.display()
    );
    fs::write(project.join("ops.toml"), fx.config.to_toml()).unwrap();
    // ops's temporary directory is shared, as /tmp is.
    let tmp = tempfile::Builder::new()
        .prefix("ops-shared-tmp-")
        .tempdir()
        .unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let ops = fx
        .ops()
        .env("TMPDIR", tmp.path())
        .umask(0)
        .args(["build", "-f", "project/ops.toml"])
        .spawn();
    let _go = Go(go.clone());
    wait_for_file(&started);
    let user = LocalUser::new();
    let exe = crate::support::ops::ops_binary();
    let report = user.sh(&format!(
        "for s in {tmp}/ops-relay-*/s; do {exe} __relay \"$s\" node touch {pwned} \
         && echo used $s; done; echo done",
        tmp = tmp.path().display(),
        exe = exe.display(),
        pwned = pwned.display()
    ));
    fs::write(&go, "").unwrap();
    wait(ops).expect_success();
    assert!(report.contains("done"), "{report}");
    assert!(
        !pwned.exists(),
        "another user ran a command on the node through ops's relay: {report}"
    );
}
