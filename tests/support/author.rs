//! A plugin author's side of the machine: `ops` and cargo with a given
//! HOME, the user's real cargo and rustup homes (crates.io downloads and
//! toolchains stay where they are), and the cargo target folder of the
//! plugins workspace, shared by every test that builds a plugin: the
//! standard library that `-Zbuild-std` compiles is already there from
//! `xtask plugins` (scripts/test.sh runs it first), and the toolchain keeps
//! folders out of the flags std is built with, so no test builds it again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::ops::{OpsCommand, OpsOutput};

/// The user's real cargo or rustup home.
fn real_home(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(default)
    })
}

/// Cargo serialises builds that share it with a file lock.
pub fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/target")
}

pub struct Author {
    home: PathBuf,
    pub target: PathBuf,
}

impl Author {
    /// An author whose HOME is `home`.
    pub fn at(home: &Path) -> Author {
        Author {
            home: home.to_owned(),
            target: shared_target(),
        }
    }

    fn with_cargo(&self, command: OpsCommand) -> OpsCommand {
        command
            .env("CARGO_HOME", real_home("CARGO_HOME", ".cargo"))
            .env("RUSTUP_HOME", real_home("RUSTUP_HOME", ".rustup"))
            .env("CARGO_TARGET_DIR", &self.target)
    }

    /// `ops ARGS` in HOME, able to run cargo.
    pub fn ops_command(&self) -> OpsCommand {
        self.with_cargo(OpsCommand::new(&self.home))
    }

    pub fn ops(&self, args: &[&str]) -> OpsOutput {
        self.ops_command().args(args).run()
    }

    /// `cargo test` in `dir`; panics unless it passes and ran a test.
    pub fn cargo_test(&self, dir: &Path) {
        let out = Command::new("cargo")
            .args(["test", "--quiet"])
            .current_dir(dir)
            .env("HOME", &self.home)
            .env("CARGO_HOME", real_home("CARGO_HOME", ".cargo"))
            .env("RUSTUP_HOME", real_home("RUSTUP_HOME", ".rustup"))
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cargo test failed in {}:\n{stdout}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let ran = stdout
            .lines()
            .any(|l| l.starts_with("test result: ok.") && !l.contains(" 0 passed"));
        assert!(ran, "no test ran in {}:\n{stdout}", dir.display());
    }

    /// `ops plugin build DIR`: the path on stdout's last line, and the time.
    #[track_caller]
    pub fn build(&self, dir: &str) -> (PathBuf, Duration) {
        let started = Instant::now();
        let out = self.ops(&["plugin", "build", dir]);
        let elapsed = started.elapsed();
        out.expect_success()
            .expect_stderr_contains("it loads in this ops");
        let last = out.stdout.lines().last().expect("a line on stdout");
        (PathBuf::from(last), elapsed)
    }
}
