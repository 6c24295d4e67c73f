//! `ops exec -t` on a terminal against a real sshd: the node's terminal
//! has the local size and follows resizes, Ctrl-C is a key for the remote
//! program, the login shell starts in `build.path`, and the local terminal
//! is left as it was found however ops ends.

use std::process::ExitStatus;

use crate::support::home::TestHome;
use crate::support::pty::OnPty;
use crate::support::sshd::Sshd;

fn setup(build_path: Option<&str>) -> (TestHome, Sshd) {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let mut config = format!("target = \"{}\"\n", sshd.destination());
    if let Some(path) = build_path {
        config.push_str(&format!("\n[build]\npath = \"{path}\"\n"));
    }
    home.write("ops.toml", &config);
    (home, sshd)
}

fn on_terminal(home: &TestHome, args: &[&str], rows: u16, cols: u16) -> OnPty {
    let command = home.ops().env("TERM", "xterm").args(args).into_command();
    OnPty::spawn(command, rows, cols)
}

fn code(status: ExitStatus, terminal: &OnPty) -> i32 {
    status
        .code()
        .unwrap_or_else(|| panic!("ops died of {status:?}; it showed:\n{}", terminal.shown()))
}

#[test]
fn the_node_terminal_has_the_local_size_and_follows_resizes() {
    let (home, _sshd) = setup(None);
    let script = "echo \"size $(stty size) $TERM\"; trap 'echo \"now $(stty size)\"' WINCH; \
                  echo ready; while :; do sleep 0.1; done";
    let mut terminal = on_terminal(&home, &["exec", "-t", "--", "sh", "-c", script], 31, 97);
    terminal.wait_for("size 31 97 xterm");
    terminal.wait_for("ready");
    terminal.resize(42, 123);
    terminal.wait_for("now 42 123");
    terminal.type_in(b"\x03");
    assert_eq!(code(terminal.wait(), &terminal), 130);
}

#[test]
fn ctrl_c_reaches_the_remote_program_and_the_terminal_is_restored() {
    let (home, _sshd) = setup(None);
    let script = "trap 'echo got-INT; exit 3' INT; echo ready; while :; do sleep 0.1; done";
    let mut terminal = on_terminal(&home, &["exec", "-t", "--", "sh", "-c", script], 24, 80);
    let before = terminal.initial_modes();
    terminal.wait_for("ready");
    terminal.type_in(b"\x03");
    terminal.wait_for("got-INT");
    assert_eq!(code(terminal.wait(), &terminal), 3);
    assert_eq!(terminal.modes(), before, "the terminal was left changed");

    // Without a trap the program dies of SIGINT, and ops says so. (A key
    // typed before the node's terminal has a program is lost, as with
    // ssh: the test waits for it to speak.)
    let script = "echo ready; exec sleep 1000";
    let mut terminal = on_terminal(&home, &["exec", "-t", "--", "sh", "-c", script], 24, 80);
    terminal.wait_for("ready");
    terminal.type_in(b"\x03");
    assert_eq!(code(terminal.wait(), &terminal), 130);
    assert_eq!(terminal.modes(), before);
}

#[test]
fn sigterm_to_ops_restores_the_terminal_and_hangs_up_the_remote_program() {
    let (home, sshd) = setup(None);
    let pid_file = sshd.dir().join("remote.pid");
    let script = format!(
        "echo $$ > '{}'; echo ready; while :; do sleep 0.1; done",
        pid_file.display()
    );
    let args = ["exec", "-t", "--", "sh", "-c", &script];
    let mut terminal = on_terminal(&home, &args, 24, 80);
    let before = terminal.initial_modes();
    terminal.wait_for("ready");
    assert_ne!(terminal.modes(), before, "raw while the program runs");
    unsafe { libc::kill(terminal.pid(), libc::SIGTERM) };
    assert_eq!(code(terminal.wait(), &terminal), 130);
    assert_eq!(terminal.modes(), before, "the terminal was left raw");
    // The node is this machine: the remote shell can be looked at.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    crate::support::eventually::wait_until(
        std::time::Duration::from_secs(30),
        "the remote program hung up",
        || unsafe { libc::kill(pid, 0) } != 0,
    );
}

#[test]
fn without_a_command_the_login_shell_starts_in_the_build_path() {
    let (home, sshd) = setup(None);
    let project = sshd.dir().join("project dir");
    std::fs::create_dir_all(&project).unwrap();
    home.write(
        "ops.toml",
        &format!(
            "target = \"{}\"\n\n[build]\npath = \"{}\"\n",
            sshd.destination(),
            project.display()
        ),
    );
    let mut terminal = on_terminal(&home, &["exec"], 24, 80);
    terminal.type_in(b"echo \"in:$(pwd):\"\r");
    terminal.wait_for(&format!("in:{}:", project.display()));
    terminal.type_in(b"exit 7\r");
    assert_eq!(code(terminal.wait(), &terminal), 7);
}

#[test]
fn a_missing_build_path_starts_the_shell_in_the_home_with_a_note() {
    let (home, _sshd) = setup(Some("/nonexistent/ops-project"));
    let mut terminal = on_terminal(&home, &["exec"], 24, 80);
    terminal.wait_for("/nonexistent/ops-project is not a directory on the node");
    // What is typed is echoed: the quotes keep the answer out of the echo.
    terminal.type_in(b"[ \"$(pwd)\" = \"$HOME\" ] && echo \"in-\"\"home\"; exit\r");
    terminal.wait_for("in-home");
    assert_eq!(code(terminal.wait(), &terminal), 0);
}

#[test]
fn t_without_a_terminal_is_a_usage_error_and_tt_forces_one() {
    let (home, _sshd) = setup(None);
    let refused = home.ops().args(["exec", "-t", "--", "true"]).run();
    refused.expect_code(2).expect_stderr_contains("-tt");
    let forced = home
        .ops()
        .args([
            "exec",
            "-tt",
            "--",
            "sh",
            "-c",
            "test -t 0 && echo on-a-terminal",
        ])
        .run();
    forced
        .expect_success()
        .expect_stdout_contains("on-a-terminal");
    let plain = home.ops().args(["exec"]).run();
    plain
        .expect_code(2)
        .expect_stderr_contains("no command given");
}

#[test]
fn over_a_kept_connection_the_terminal_and_its_resizes_are_passed_on() {
    let (home, sshd) = setup(None);
    let place = crate::support::keeper::KeeperPlace::new();
    let script = "echo \"size $(stty size)\"; trap 'echo \"now $(stty size)\"; exit 5' WINCH; \
                  echo ready; while :; do sleep 0.1; done";
    for (rows, cols) in [(31, 97), (33, 99)] {
        let command = place
            .persist(home.ops(), "1m")
            .args(["exec", "-t", "--", "sh", "-c", script])
            .into_command();
        let mut terminal = OnPty::spawn(command, rows, cols);
        terminal.wait_for(&format!("size {rows} {cols}"));
        terminal.wait_for("ready");
        terminal.resize(40, 120);
        terminal.wait_for("now 40 120");
        assert_eq!(code(terminal.wait(), &terminal), 5);
    }
    assert_eq!(
        sshd.logins(),
        1,
        "both runs on the kept connection; the keeper:\n{}",
        place.log()
    );
}

#[test]
fn a_lost_connection_ends_ops_with_the_terminal_restored() {
    let (home, sshd) = setup(None);
    let pid_file = sshd.dir().join("session.pid");
    // The program's parent is sshd's process for this session: killing it
    // ends the connection as a crash of the node's side would.
    let script = format!(
        "echo $PPID > '{}'; echo ready; while :; do sleep 0.1; done",
        pid_file.display()
    );
    let args = ["exec", "-t", "--", "sh", "-c", &script];
    let mut terminal = on_terminal(&home, &args, 24, 80);
    terminal.wait_for("ready");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(code(terminal.wait(), &terminal), 3);
    assert_eq!(terminal.modes(), terminal.initial_modes());
}
