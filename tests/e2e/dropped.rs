//! The run's remote work ends with its SSH session, however the session
//! ends: the connection dropped under it, or ops killed outright. The build
//! command's process group is gone soon after, and the build path's lock is
//! free for the next run.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::build::BuildFixture;
use crate::support::eventually::eventually;
use crate::support::ops::wait;
use crate::support::process::process_tree;

fn fixture(command: &str) -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = command.to_owned();
    fx
}

/// The process group the build command wrote to `path`.
pub(super) fn wait_for_group(path: &Path) -> i32 {
    eventually(
        Duration::from_secs(30),
        "the build command writing its process group",
        || {
            let text = fs::read_to_string(path).unwrap_or_default();
            text.strip_suffix('\n')
                .and_then(|t| t.parse().ok())
                .ok_or(format!("{path:?} holds {text:?}"))
        },
    )
}

/// The reapers' directories left in the node's TMPDIR, with their files.
fn run_dirs(fx: &BuildFixture) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(fx.node_tmp()).into_iter().flatten().flatten() {
        for file in fs::read_dir(entry.path()).into_iter().flatten().flatten() {
            let text = fs::read_to_string(file.path()).unwrap_or_default();
            found.push((file.path().display().to_string(), text));
        }
    }
    found
}

/// (pid, state, ppid, command) of the processes in group `pgid`.
fn members(pgid: i32) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..]
            .split_whitespace()
            .collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) {
            found.push(format!("{} {stat}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// Whether any process of group `pgid` still runs. A zombie does not count:
/// it is dead and only waits for init, which here may reap late.
pub(super) fn group_alive(pgid: i32) -> bool {
    members(pgid).iter().any(|m| {
        let state = m
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        state != Some("Z")
    })
}

/// Seconds until the process group is gone (fails after `limit`).
fn time_until_gone(
    pgid: i32,
    limit: Duration,
    fx: &BuildFixture,
    before: &[(String, String)],
) -> Duration {
    let since = Instant::now();
    eventually(
        limit,
        &format!("the end of the build command (process group {pgid}) after the session"),
        || {
            if group_alive(pgid) {
                Err(format!(
                    "on the node before: {before:?}, now: {:?}; in the group: {:?}",
                    run_dirs(fx),
                    members(pgid)
                ))
            } else {
                Ok(())
            }
        },
    );
    since.elapsed()
}

fn the_next_build_is_not_held_up(fx: BuildFixture) {
    let mut fx = fx;
    fx.config.command = "true".into();
    let out = fx.build(&[]);
    out.expect_success();
    assert!(
        !out.stderr.contains("waiting for another ops build"),
        "the path stayed locked after the session ended:\n{}",
        out.stderr
    );
}

#[test]
fn a_dropped_connection_stops_the_build_and_frees_the_lock() {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let fx = fixture(&format!(
        "cut -d' ' -f5 /proc/$$/stat > '{}'; sleep 300",
        pid_file.path().display()
    ));
    fx.write_config();
    let run = fx.ops().arg("build").spawn();
    let pgid = wait_for_group(pid_file.path());
    assert!(group_alive(pgid));
    let before = run_dirs(&fx);

    // The connection's sshd processes die; the listener stays for the next
    // run. sshd's children are only ours: every test has its own sshd.
    let sessions: Vec<i32> = process_tree(fx.node.pid())
        .into_iter()
        .skip(1)
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sshd")
        })
        .collect();
    assert!(!sessions.is_empty(), "no sshd process for the connection");
    for pid in sessions {
        // SAFETY: signalling a process of this test's own sshd.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let gone_in = time_until_gone(pgid, Duration::from_secs(10), &fx, &before);
    eprintln!("build stopped {gone_in:?} after the connection dropped");
    let out = wait(run);
    out.expect_code(3);
    the_next_build_is_not_held_up(fx);
}

#[test]
fn a_killed_ops_stops_the_build_and_frees_the_lock() {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let fx = fixture(&format!(
        "cut -d' ' -f5 /proc/$$/stat > '{}'; sleep 300",
        pid_file.path().display()
    ));
    fx.write_config();
    let mut run = fx.ops().arg("build").spawn();
    let pgid = wait_for_group(pid_file.path());
    let before = run_dirs(&fx);
    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    let _ = run.wait();
    let gone_in = time_until_gone(pgid, Duration::from_secs(10), &fx, &before);
    eprintln!("build stopped {gone_in:?} after ops was killed");
    the_next_build_is_not_held_up(fx);
}

/// A client that is gone while its connection is not (a frozen laptop, a
/// network path that stops forwarding before sshd's keepalive gives up)
/// leaves a live holder: `ops lock` shows it, release refuses it, and
/// `--force` stops that whole run, build command included.
#[test]
fn lock_release_refuses_a_live_holder_and_force_stops_its_run() {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let fx = fixture(&format!(
        "cut -d' ' -f5 /proc/$$/stat > '{}'; sleep 300",
        pid_file.path().display()
    ));
    fx.write_config();
    let status = fx.ops().args(["lock", "status"]).run();
    status.expect_success();
    assert!(
        status.stdout.contains("not locked (no build has run here)"),
        "{}",
        status.stdout
    );

    let mut run = fx.ops().args(["build", "--ref", "main"]).spawn();
    let pgid = wait_for_group(pid_file.path());
    let status = fx.ops().args(["lock", "status"]).run();
    status.expect_success();
    let holder = format!("locked by {}@", crate::support::home::current_user());
    for needle in [
        holder.as_str(),
        &format!("pid {} since ", run.id()),
        ", ref main: ops build --ref main",
        "(node process ",
    ] {
        assert!(
            status.stdout.contains(needle),
            "{needle:?}: {}",
            status.stdout
        );
    }

    let refused = fx.ops().args(["lock", "release"]).run();
    refused.expect_code(4);
    refused.expect_stderr_contains("the holder is still running");
    refused.expect_stderr_contains("--force");
    assert!(group_alive(pgid), "a refused release stopped the build");

    // SAFETY: signalling the ops process this test started. Stopped, it
    // keeps its connection open but does nothing: a client that is gone.
    unsafe { libc::kill(run.id() as i32, libc::SIGSTOP) };
    let before = run_dirs(&fx);
    let forced = fx.ops().args(["lock", "release", "--force"]).run();
    forced.expect_success();
    assert!(
        forced.stdout.contains("released; stopped node process"),
        "{}",
        forced.stdout
    );
    let gone_in = time_until_gone(pgid, Duration::from_secs(10), &fx, &before);
    eprintln!("forced release stopped the build in {gone_in:?}");
    let status = fx.ops().args(["lock", "status"]).run();
    assert!(
        status.stdout.contains("not locked (last held by "),
        "{}",
        status.stdout
    );

    // SAFETY: as above; the frozen ops is not needed any more.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    let _ = run.wait();
    the_next_build_is_not_held_up(fx);
}

/// sshd's processes for the run's connection die while git is still
/// cloning: the run says which step it lost the node in, exits 3, and the
/// clone does not go on without it.
#[test]
fn sshd_killed_mid_sync_is_exit_3_naming_the_sync_and_leaves_nothing_running() {
    let mut fx = fixture("true");
    let noise = crate::support::git::incompressible_text(48 << 20, 0x9e37_79b9_7f4a_7c15_u64);
    fx.origin.commit("big", &[("big.txt", &noise)]);
    fx.write_config();
    let run = fx.ops().arg("build").spawn();
    let git = eventually(Duration::from_secs(60), "the sync starting git", || {
        process_tree(fx.node.pid())
            .into_iter()
            .find(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.starts_with("git"))
            })
            .ok_or("no git under sshd")
    });
    let pgid = fs::read_to_string(format!("/proc/{git}/stat"))
        .ok()
        .and_then(|s| {
            s[s.rfind(')')? + 2..]
                .split_whitespace()
                .nth(2)
                .and_then(|g| g.parse::<i32>().ok())
        })
        .expect("git's process group");
    let before = run_dirs(&fx);
    for pid in process_tree(fx.node.pid()).into_iter().skip(1) {
        if fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sshd") {
            // SAFETY: signalling a process of this test's own sshd.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let out = wait(run);
    out.expect_code(3);
    assert!(out.stderr.contains("sync"), "{}", out.stderr);
    let gone_in = time_until_gone(pgid, Duration::from_secs(10), &fx, &before);
    eprintln!(
        "the clone stopped {gone_in:?} after sshd was killed:\n{}",
        out.stderr
    );
    fx.config.command = "true".into();
    the_next_build_is_not_held_up(fx);
}
