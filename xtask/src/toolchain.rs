//! Which compiler builds the plugins, and how to call it reproducibly.
//!
//! Preferred: a rustup toolchain with the `wasm32-unknown-unknown` target
//! installed (a developer laptop). Otherwise Debian's `rustc-web`,
//! `cargo-web` and `rust-web-src` (installed by
//! `scripts/install-wasm-toolchain.sh`) build std from source with
//! `-Zbuild-std`, linked by the rust-lld that ships with any rustup
//! toolchain (or Debian's `wasm-ld`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

pub const TARGET: &str = "wasm32-unknown-unknown";

pub struct Toolchain {
    method: Method,
    cargo: PathBuf,
    rustc: PathBuf,
    /// Root of the std sources (`build-std` only), remapped out of the output.
    rust_src: Option<PathBuf>,
    linker: Option<PathBuf>,
    /// What built the plugins, recorded in `plugins/dist/TOOLCHAIN`.
    pub description: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    RustupTarget,
    DebianBuildStd,
}

impl Toolchain {
    pub fn detect() -> Result<Toolchain> {
        if rustup_has_wasm_target() {
            let rustc =
                PathBuf::from(capture(Command::new("rustup").args(["which", "rustc"]))?.trim());
            let cargo =
                PathBuf::from(capture(Command::new("rustup").args(["which", "cargo"]))?.trim());
            return Toolchain::finish(Method::RustupTarget, cargo, rustc, None, None);
        }
        let rustc = PathBuf::from("/usr/bin/rustc");
        let cargo = PathBuf::from("/usr/bin/cargo");
        let src = PathBuf::from("/usr/lib/rustlib/src/rust");
        if !rustc.exists() || !cargo.exists() || !src.join("library/std").exists() {
            bail!(
                "no wasm toolchain: neither rustup's {TARGET} target nor Debian's \
                 rustc-web/cargo-web/rust-web-src is installed; run scripts/install-wasm-toolchain.sh"
            );
        }
        let linker = find_linker().context(
            "no wasm linker: install a rustup toolchain (it ships rust-lld) or Debian's lld (wasm-ld)",
        )?;
        Toolchain::finish(
            Method::DebianBuildStd,
            cargo,
            rustc,
            Some(src),
            Some(linker),
        )
    }

    fn finish(
        method: Method,
        cargo: PathBuf,
        rustc: PathBuf,
        rust_src: Option<PathBuf>,
        linker: Option<PathBuf>,
    ) -> Result<Toolchain> {
        let rustc_version = capture(Command::new(&rustc).arg("-vV"))?;
        let mut description = String::new();
        description.push_str(match method {
            Method::RustupTarget => "method: rustup target wasm32-unknown-unknown\n",
            Method::DebianBuildStd => "method: -Zbuild-std with the system rustc and std sources\n",
        });
        for line in rustc_version.lines() {
            if line.starts_with("rustc ") || line.starts_with("LLVM version") {
                description.push_str(line);
                description.push('\n');
            }
        }
        if let Some(linker) = &linker {
            let version = capture(Command::new(linker).args(["-flavor", "wasm", "--version"]))
                .or_else(|_| capture(Command::new(linker).arg("--version")))?;
            description.push_str(&format!("linker: {}\n", version.trim()));
        }
        description.push_str("wit-component: 0.254\n");
        Ok(Toolchain {
            method,
            cargo,
            rustc,
            rust_src,
            linker,
            description,
        })
    }

    /// `cargo build --release` for the wasm target in `workspace`, with
    /// every machine-specific path remapped so that the bytes depend only on
    /// the sources and the toolchain.
    pub fn build_command(&self, workspace: &Path, target_dir: &Path) -> Result<Command> {
        let repo = workspace
            .parent()
            .context("the plugins workspace has no parent folder")?;
        let cargo_home = cargo_home()?;
        let mut flags = vec![
            format!("--remap-path-prefix={}=/ops", repo.display()),
            format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
            "-Ccodegen-units=1".to_owned(),
            "-Cdebuginfo=0".to_owned(),
            "-Cstrip=debuginfo".to_owned(),
        ];
        if let Some(src) = &self.rust_src {
            flags.push(format!("--remap-path-prefix={}=/rustc-src", src.display()));
        }
        let mut cmd = Command::new(&self.cargo);
        cmd.current_dir(workspace)
            .args([
                "build",
                "--release",
                "--locked",
                "--workspace",
                "--target",
                TARGET,
            ])
            .env("CARGO_TARGET_DIR", target_dir)
            .env("RUSTC", &self.rustc)
            .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
            // Anything inherited would change the bytes.
            .env_remove("RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
        if self.method == Method::DebianBuildStd {
            cmd.arg("-Zbuild-std=std,panic_abort")
                // build-std is unstable; the system rustc is a stable build.
                .env("RUSTC_BOOTSTRAP", "1");
        }
        if let Some(linker) = &self.linker {
            cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker);
        }
        Ok(cmd)
    }
}

fn rustup_has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(false)
}

fn find_linker() -> Option<PathBuf> {
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

fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
