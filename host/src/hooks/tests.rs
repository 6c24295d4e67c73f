use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::output::{Format, Printer, Redactor, Verbosity};

/// A project in a temporary folder with `hooks` as its `[hooks]` lines;
/// `$HOME` is read as a secret (so HOME must not reach a hook).
fn project(hooks: &str) -> (tempfile::TempDir, HookRunner) {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("[build.image]\ntoken = \"$HOME\"\nusername = \"u\"\n[hooks]\n{hooks}");
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::parse(&tmp.path().join("ops.toml"), &text, &env).unwrap();
    (tmp, HookRunner::new(&config))
}

fn printer() -> (Arc<Printer>, Arc<std::sync::Mutex<String>>) {
    let (printer, seen) =
        Printer::new(Format::Human, Verbosity::Normal, Redactor::new()).capturing();
    (Arc::new(printer), seen)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn runs_in_the_project_folder_with_the_run_variables_and_no_secret_variable() {
    assert!(
        std::env::var_os("HOME").is_some(),
        "the test needs HOME set"
    );
    let (tmp, runner) = project("post_build = \"env > env.txt; pwd > pwd.txt; echo said-so\"\n");
    let (printer, seen) = printer();
    let vars = [("OPS_TAG", "v1".to_owned()), ("OPS_REF", String::new())];
    runner
        .run(HookPoint::PostBuild, &vars, false, &printer)
        .await
        .unwrap();
    let env = read(&tmp.path().join("env.txt"));
    assert!(env.lines().any(|l| l == "OPS_TAG=v1"), "{env}");
    assert!(env.lines().any(|l| l == "OPS_REF="), "{env}");
    assert!(!env.lines().any(|l| l.starts_with("HOME=")), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    let pwd = read(&tmp.path().join("pwd.txt"));
    assert_eq!(
        Path::new(pwd.trim()).canonicalize().unwrap(),
        tmp.path().canonicalize().unwrap()
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains("==> post_build: env > env.txt"), "{seen}");
    assert!(seen.contains("[post_build] said-so"), "{seen}");
}

#[tokio::test]
async fn a_failing_hook_is_an_error_with_its_status_and_exit_code_9() {
    let (_tmp, runner) = project("post_push = \"echo oops >&2; exit 3\"\n");
    let (printer, seen) = printer();
    let err = runner
        .run(HookPoint::PostPush, &[], false, &printer)
        .await
        .unwrap_err();
    assert_eq!(err.exit(), Exit::Hook);
    assert_eq!(Exit::Hook.code(), 9);
    let message = err.to_string();
    assert!(
        message.contains("post_push hook `echo oops >&2; exit 3` failed"),
        "{message}"
    );
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(seen.lock().unwrap().contains("[post_push] oops"));
}

#[tokio::test]
async fn no_hook_for_a_point_runs_nothing() {
    let (_tmp, runner) = project("pre_build = \"true\"\n");
    let (printer, seen) = printer();
    runner
        .run(HookPoint::OnFailure, &[], false, &printer)
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().as_str(), "");
}

/// Whether `pid` still runs (a zombie waiting for its reaper does not).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|s| !s.starts_with('Z'))
    })
}

#[tokio::test]
async fn a_hook_left_before_it_ends_is_killed() {
    // `exec`: the shell's own pid becomes the sleep's.
    let (tmp, runner) = project("post_build = \"echo $$ > sh.pid; exec sleep 300\"\n");
    let (printer, _) = printer();
    let pid_file = tmp.path().join("sh.pid");
    let started = async {
        while std::fs::read_to_string(&pid_file).map_or(true, |p| !p.ends_with('\n')) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        ended = runner.run(HookPoint::PostBuild, &[], true, &printer) => panic!("ended: {ended:?}"),
        () = started => {}
    }
    // The run was dropped (as Ctrl-C or a failed sibling drops it).
    let pid = read(&pid_file).trim().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while running(&pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!running(&pid), "the hook {pid} outlived its run");
}
