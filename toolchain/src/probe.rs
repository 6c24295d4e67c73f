//! What this machine has: rustup's targets and tools, a wasm linker,
//! cargo's home; and running a probe command for its output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The targets rustup has installed for the toolchain that applies in
/// `dir`; none when rustup is missing.
pub(crate) fn rustup_targets(dir: &Path) -> Vec<String> {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn rustup_which(tool: &str, dir: &Path) -> Result<String, Error> {
    Ok(capture(
        Command::new("rustup")
            .args(["which", tool])
            .current_dir(dir),
    )?
    .trim()
    .to_owned())
}

pub(crate) fn find_linker() -> Option<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(sysroot) = sysroot {
        let lld = sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
        if lld.exists() {
            return Some(lld);
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| [dir.join("rust-lld"), dir.join("wasm-ld")])
            .find(|p| p.exists())
    })
}

pub(crate) fn cargo_home() -> Result<PathBuf, Error> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").ok_or(Error::NoCargoHome)?;
    Ok(PathBuf::from(home).join(".cargo"))
}

pub(crate) fn capture(cmd: &mut Command) -> Result<String, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| Error::Run {
        program: program.clone(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Run {
            program,
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
