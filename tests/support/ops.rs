//! Running the real `ops` binary with a throwaway `HOME` and a clean
//! environment (no agent, no API settings, no proxies from the caller).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::eventually::poll;

pub struct OpsCommand {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// What a finished `ops` run left behind.
#[derive(Debug)]
pub struct OpsOutput {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl OpsOutput {
    fn from(output: Output) -> OpsOutput {
        OpsOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "ops exited {:?}, expected {code}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_success(&self) -> &Self {
        self.expect_code(0)
    }

    #[track_caller]
    pub fn expect_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

pub fn ops_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ops"))
}

impl OpsCommand {
    /// `ops` with `HOME=home`, run in `home`.
    pub fn new(home: &Path) -> OpsCommand {
        OpsCommand::with_binary(&ops_binary(), home)
    }

    /// [`OpsCommand::new`] with another `ops` executable (a copy standing
    /// for another build).
    pub fn with_binary(binary: &Path, home: &Path) -> OpsCommand {
        let mut command = Command::new(binary);
        command.env_clear();
        for keep in ["PATH", "LANG", "LC_ALL", "TMPDIR", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(keep) {
                command.env(keep, value);
            }
        }
        command
            .env("HOME", home)
            .env("USER", super::home::current_user())
            .current_dir(home);
        OpsCommand {
            command,
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: &str) -> Self {
        self.command.env_remove(name);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Runs ops under this umask (the test's own is left alone).
    pub fn umask(mut self, mask: u32) -> Self {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask(2) is async-signal-safe and touches only the child.
        unsafe {
            self.command.pre_exec(move || {
                libc::umask(mask as libc::mode_t);
                Ok(())
            });
        }
        self
    }

    /// Bytes for ops's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> OpsOutput {
        self.command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("spawn ops");
        let mut stdin = child.stdin.take().unwrap();
        let bytes = self.stdin.take().unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let output = child.wait_with_output().expect("wait for ops");
        let _ = writer.join();
        OpsOutput::from(output)
    }

    /// Runs to completion on a pseudo-terminal (util-linux `script`), as a
    /// person at a terminal would; `stdout` holds what the terminal got.
    pub fn run_on_terminal(self) -> OpsOutput {
        let inner = &self.command;
        let line = std::iter::once(inner.get_program())
            .chain(inner.get_args())
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = Command::new("script");
        command
            .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
            .env_clear();
        for (name, value) in inner.get_envs() {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        if let Some(dir) = inner.get_current_dir() {
            command.current_dir(dir);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .expect("run ops under script");
        OpsOutput::from(output)
    }

    /// The command as it would run, to start it some other way.
    pub fn into_command(self) -> Command {
        self.command
    }

    /// Starts without waiting; stdout and stderr are piped.
    pub fn spawn(mut self) -> Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.command.spawn().expect("spawn ops")
    }
}

/// Collects a spawned `ops`'s output.
pub fn wait(child: Child) -> OpsOutput {
    OpsOutput::from(child.wait_with_output().expect("wait for ops"))
}

/// Waits for `child` at most `within`: one still running then is killed,
/// and the test fails with what it printed.
#[track_caller]
pub fn wait_within(child: Child, within: Duration) -> OpsOutput {
    wait_watching(child, within, || {})
}

/// [`wait_within`], calling `check` while `child` runs (at least once, and
/// again after it ended): for what must hold during the whole run.
#[track_caller]
pub fn wait_watching(mut child: Child, within: Duration, mut check: impl FnMut()) -> OpsOutput {
    let ended = poll(within, || {
        check();
        match child.try_wait().expect("wait for ops") {
            Some(_) => Ok(()),
            None => Err(()),
        }
    });
    check();
    if ended.is_err() {
        let _ = child.kill();
        let out = wait(child);
        panic!(
            "ops still ran after {within:?}; stdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
    }
    wait(child)
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}
