//! `ops exec` and the SSH session against a real sshd: literal arguments,
//! stdin, exit codes, signals, cancellation, many channels on one
//! connection.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ops::output::{Format, Printer, Redactor, Verbosity};
use ops::remote::{Capture, OutputSink, RemoteCommand, RemoteExit, RemoteNode};
use ops::ssh::{ConnectOptions, Session, Target};

use crate::support::eventually::{eventually, wait_until};
use crate::support::home::TestHome;
use crate::support::ops::wait;
use crate::support::sshd::Sshd;

/// A home with an ops.toml whose target is `sshd`.
fn setup() -> (TestHome, Sshd) {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    (home, sshd)
}

#[test]
fn arguments_reach_the_program_literally() {
    let (home, sshd) = setup();
    let marker = sshd.dir().join("pwned");
    let hostile = [
        "a b",
        "$(id)",
        "it's",
        "\"double\"",
        &format!("`touch {}`", marker.display()),
        &format!("; touch {} ;", marker.display()),
        "&& false",
        "*",
        "~",
        "back\\slash",
        "new\nline",
        "",
        "-n",
    ];
    let out = home
        .ops()
        .args(["exec", "--", "printf", "%s|"])
        .args(hostile)
        .run();
    out.expect_success();
    let expected: String = hostile.iter().map(|a| format!("{a}|")).collect();
    assert_eq!(out.stdout, expected);
    assert!(!marker.exists(), "a hostile argument was executed");

    // The example from the issue, verbatim.
    let out = home
        .ops()
        .args(["exec", "--", "printf", "%s|", "a b", "$(id)"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "a b|$(id)|");
}

#[test]
fn stdin_is_forwarded_and_streams_are_separate() {
    let (home, _sshd) = setup();
    let input = "line one\nline 'two' $(x)\n".repeat(2000);
    let out = home
        .ops()
        .args(["exec", "--", "cat"])
        .stdin(input.clone())
        .run();
    out.expect_success();
    assert_eq!(out.stdout, input);

    let out = home
        .ops()
        .args(["exec", "--", "sh", "-c", "echo to-out; echo to-err >&2"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "to-out\n");
    assert_eq!(
        out.stderr, "to-err\n",
        "the wrapper's pid line must not leak"
    );
}

#[test]
fn exit_codes_and_signals() {
    let (home, _sshd) = setup();
    home.ops()
        .args(["exec", "--", "sh", "-c", "exit 7"])
        .run()
        .expect_code(7);
    home.ops()
        .args(["exec", "--", "false"])
        .run()
        .expect_code(1);
    home.ops()
        .args(["exec", "--", "sh", "-c", "kill -s KILL $$"])
        .run()
        .expect_code(128 + 9);
    home.ops()
        .args(["exec", "--", "sh", "-c", "kill -s TERM $$"])
        .run()
        .expect_code(128 + 15);
    home.ops()
        .args(["exec", "--", "no-such-program-ops-test"])
        .run()
        .expect_code(127);
}

#[test]
fn one_login_per_run() {
    let (home, sshd) = setup();
    home.ops()
        .args(["exec", "--", "true"])
        .run()
        .expect_success();
    assert_eq!(sshd.logins(), 1, "{}", sshd.log());
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn wait_for_file(path: &Path) -> String {
    eventually(
        Duration::from_secs(20),
        &format!("{} appearing", path.display()),
        || match std::fs::read_to_string(path) {
            Ok(text) if text.ends_with('\n') => Ok(text.trim().to_owned()),
            Ok(text) => Err(format!("{text:?}")),
            Err(e) => Err(e.to_string()),
        },
    )
}

fn wait_group_gone(pgid: i32) {
    wait_until(
        Duration::from_secs(15),
        &format!("the end of remote process group {pgid}"),
        || !group_alive(pgid),
    );
}

#[test]
fn ctrl_c_kills_the_remote_process_group() {
    let (home, sshd) = setup();
    let pid_file = sshd.dir().join("pgid");
    let script = format!(
        "sleep 300 & sleep 301 & cut -d' ' -f5 /proc/$$/stat > {}; wait",
        pid_file.display()
    );
    let child = home.ops().args(["exec", "--", "sh", "-c", &script]).spawn();
    let pgid: i32 = wait_for_file(&pid_file).parse().unwrap();
    assert!(group_alive(pgid));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = wait(child);
    out.expect_code(130);
    wait_group_gone(pgid);
}

fn printer() -> Printer {
    Printer::new(Format::Human, Verbosity::Quiet, Redactor::new())
}

fn target(sshd: &Sshd) -> Target {
    Target {
        host: sshd.host().to_owned(),
        user: Some(sshd.user().to_owned()),
        port: Some(sshd.port()),
        host_key: None,
    }
}

fn connect(home: &TestHome, sshd: &Sshd) -> Session {
    let options = ConnectOptions {
        accept_new_host_key: false,
        home: Some(home.path().to_path_buf()),
    };
    let runtime = tokio::runtime::Handle::current();
    runtime
        .block_on(async { Session::connect(&target(sshd), &options, &printer()).await })
        .expect("connect")
}

#[test]
fn more_commands_than_max_sessions_share_one_connection() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let session = connect(&home, &sshd);
    runtime.block_on(async {
        let runs = (0..25).map(|i| {
            let session = session.clone();
            async move {
                let mut out = Capture::default();
                let cmd = RemoteCommand::new("sh").args(["-c", "sleep 0.3; printf %s \"$N\""]);
                let exit = session
                    .exec(cmd.env("N", i.to_string()), &mut out)
                    .await
                    .expect("exec");
                assert_eq!(exit, RemoteExit::Code(0));
                String::from_utf8(out.stdout).unwrap()
            }
        });
        let outputs = futures::future::join_all(runs).await;
        let expected: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        assert_eq!(outputs, expected);
        session.close().await;
    });
    assert_eq!(sshd.logins(), 1, "{}", sshd.log());
    assert!(!sshd.log().contains("no more sessions"), "{}", sshd.log());
}

#[test]
fn session_env_files_scratch_and_signals() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let session = connect(&home, &sshd);
    let target_file = sshd.dir().join("written");
    runtime.block_on(async {
        // Env values arrive intact and never on the command line.
        let secret = "s3 cr'et $(id) `x` \\ end";
        let mut out = Capture::default();
        let cmd = RemoteCommand::new("sh")
            .args(["-c", "printf %s \"$TOKEN\"; cat /proc/$$/cmdline >&2"])
            .env("TOKEN", secret);
        session.exec(cmd, &mut out).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), secret);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("s3 cr"));

        let bad = RemoteCommand::new("true").env("X", "a\nb");
        assert!(matches!(
            session.exec(bad, &mut Capture::default()).await,
            Err(ops::remote::RemoteError::InvalidRequest(_))
        ));

        let exit = session
            .exec(
                RemoteCommand::new("sh").args(["-c", "kill -s KILL $$"]),
                &mut Capture::default(),
            )
            .await
            .unwrap();
        assert_eq!(exit, RemoteExit::Signal("KILL".into()));

        let mut out = Capture::default();
        session
            .exec(RemoteCommand::new("pwd").cwd("/tmp"), &mut out)
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/tmp\n");

        session
            .write_file(target_file.to_str().unwrap(), b"content\n", 0o640)
            .await
            .unwrap();

        let a = session.scratch_dir("work").await.unwrap();
        let again = session.scratch_dir("work").await.unwrap();
        assert_eq!(a, again);
        let meta = std::fs::metadata(&a).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        session.close().await;
        assert!(!Path::new(&a).exists(), "scratch dir left behind");
    });
    assert_eq!(std::fs::read_to_string(&target_file).unwrap(), "content\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&target_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
}

/// Passes nothing on; wakes `notify` once stderr holds `needle`.
struct NotifyOn {
    needle: &'static str,
    seen: Vec<u8>,
    notify: Arc<tokio::sync::Notify>,
}

impl OutputSink for NotifyOn {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, chunk: &[u8]) {
        self.seen.extend_from_slice(chunk);
        if String::from_utf8_lossy(&self.seen).contains(self.needle) {
            self.notify.notify_one();
        }
    }
}

#[test]
fn dropping_a_running_command_kills_its_process_group() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let session = connect(&home, &sshd);
    let pid_file = sshd.dir().join("pgid");
    // "ready" on stderr comes after the wrapper's pid line on the same
    // stream: once the client passes it on, it has read the pid line.
    let script = format!(
        "sleep 300 & cut -d' ' -f5 /proc/$$/stat > {}; echo ready >&2; sleep 302; wait",
        pid_file.display()
    );
    let pgid = runtime.block_on(async {
        let ready = Arc::new(tokio::sync::Notify::new());
        let mut out = NotifyOn {
            needle: "ready\n",
            seen: Vec::new(),
            notify: ready.clone(),
        };
        let run = session.exec(RemoteCommand::new("sh").args(["-c", &script]), &mut out);
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::pin!(run);
            tokio::select! {
                _ = &mut run => panic!("command ended early"),
                _ = ready.notified() => {}
            }
        })
        .await;
        assert!(waited.is_ok(), "the command never said it was ready");
        // `run` was dropped when the wait above ended.
        wait_for_file(&pid_file).parse::<i32>().unwrap()
    });
    // Gone while the session is still open: closing it would stop the
    // group too, and hide a drop that did nothing.
    wait_group_gone(pgid);
    runtime.block_on(session.close());
}

/// A node that stops answering (every sshd process of it frozen with
/// SIGSTOP, like a host that hangs or drops off the network without a TCP
/// reset) is detected by keepalives. ServerAliveInterval from ssh_config
/// shortens the wait here; the default (10 s, 2 unanswered) bounds it at
/// 30 s.
#[test]
fn a_frozen_node_is_detected_by_keepalives() {
    let (home, sshd) = setup();
    home.write_ssh_config("Host *\n  ServerAliveInterval 1\n");
    let started_file = sshd.dir().join("started");
    let script = format!("echo > {}; sleep 120", started_file.display());
    let child = home.ops().args(["exec", "--", "sh", "-c", &script]).spawn();
    wait_for_file(&started_file);

    let frozen = crate::support::process::process_tree(sshd.pid());
    for pid in &frozen {
        // SAFETY: signalling processes this test started.
        unsafe { libc::kill(*pid, libc::SIGSTOP) };
    }
    let since = Instant::now();
    let out = wait(child);
    let took = since.elapsed();
    for pid in &frozen {
        // SAFETY: as above; lets the sshd instance shut down normally.
        unsafe { libc::kill(*pid, libc::SIGCONT) };
    }
    out.expect_code(3);
    out.expect_stderr_contains("connection to the build node lost");
    assert!(
        took < Duration::from_secs(15),
        "a dead node took {took:?} to notice"
    );
}
