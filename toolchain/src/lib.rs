//! Which compiler builds ops plugins to wasm, and how to call it so that
//! the bytes depend only on the sources and the toolchain.
//!
//! Three ways, tried in the order the caller gives:
//!
//! - [`Method::RustupWasip2`]: rustup's `wasm32-wasip2` target (what a
//!   plugin author usually has); cargo's output is already a component.
//! - [`Method::RustupUnknown`]: rustup's `wasm32-unknown-unknown` target;
//!   the core module still has to be turned into a component.
//! - [`Method::DebianBuildStd`]: Debian's `rustc-web`, `cargo-web` and
//!   `rust-web-src` (`/usr/bin/rustc`, `/usr/bin/cargo`, the std sources),
//!   std built from source with `-Zbuild-std`, linked by the rust-lld that
//!   ships with any rustup toolchain (or a `wasm-ld` on PATH); the core
//!   module has to be turned into a component.
//!
//! `cargo xtask plugins` (the built-ins) and `ops plugin build` (anyone's
//! plugin) both use this crate, so they agree on what "reproducible" means.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod probe;
mod remap;
use probe::{capture, cargo_home, find_linker, rustup_targets, rustup_which};
use remap::{install_folder_remap, FOLDER_REMAP_ENV, REAL_RUSTC_ENV, TARGET_REMAP_ENV};

/// One way to build a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    RustupWasip2,
    RustupUnknown,
    DebianBuildStd,
}

impl Method {
    /// The cargo target triple this method builds for.
    pub fn target(self) -> &'static str {
        match self {
            Method::RustupWasip2 => "wasm32-wasip2",
            Method::RustupUnknown | Method::DebianBuildStd => "wasm32-unknown-unknown",
        }
    }

    /// Whether cargo's `.wasm` is a core module that still has to become a
    /// component (`wasm32-wasip2` links components already).
    pub fn needs_componentizing(self) -> bool {
        self != Method::RustupWasip2
    }

    /// What to install to make this method available.
    pub fn install_hint(self) -> &'static str {
        match self {
            Method::RustupWasip2 => "`rustup target add wasm32-wasip2`",
            Method::RustupUnknown => "`rustup target add wasm32-unknown-unknown`",
            Method::DebianBuildStd => {
                "Debian's `rustc-web cargo-web rust-web-src` (apt-get install) plus a rustup \
                 toolchain or `lld` for the linker"
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Method::RustupWasip2 => "method: rustup target wasm32-wasip2\n",
            Method::RustupUnknown => "method: rustup target wasm32-unknown-unknown\n",
            Method::DebianBuildStd => "method: -Zbuild-std with the system rustc and std sources\n",
        }
    }
}

/// Why no build could be set up.
#[derive(Debug)]
pub enum Error {
    /// None of the methods asked for is installed.
    NoToolchain { tried: Vec<Method> },
    /// Debian's compiler is there but nothing can link wasm.
    NoLinker,
    /// A program that reports on the toolchain failed.
    Run { program: String, message: String },
    /// The folder to build has no parent folder to remap.
    NoParent(PathBuf),
    /// Neither `CARGO_HOME` nor `HOME` is set.
    NoCargoHome,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoToolchain { tried } => {
                f.write_str("no wasm toolchain found; install one of: ")?;
                let hints: Vec<&str> = tried.iter().map(|m| m.install_hint()).collect();
                f.write_str(&hints.join(", or "))
            }
            Error::NoLinker => f.write_str(
                "no wasm linker: install a rustup toolchain (it ships rust-lld) or Debian's lld \
                 (wasm-ld)",
            ),
            Error::Run { program, message } => write!(f, "{program} failed: {message}"),
            Error::NoParent(dir) => write!(f, "{} has no parent folder", dir.display()),
            Error::NoCargoHome => f.write_str("neither CARGO_HOME nor HOME is set"),
        }
    }
}

impl std::error::Error for Error {}

/// A detected toolchain, ready to give a `cargo build` command.
#[derive(Debug, Clone)]
pub struct Toolchain {
    method: Method,
    cargo: PathBuf,
    rustc: PathBuf,
    /// Root of the std sources (`build-std` only), remapped out of the output.
    rust_src: Option<PathBuf>,
    linker: Option<PathBuf>,
    description: String,
}

impl Toolchain {
    /// The first of `methods` that is installed, as seen from `dir` (where
    /// rustup looks for a toolchain override).
    pub fn detect(methods: &[Method], dir: &Path) -> Result<Toolchain, Error> {
        let mut installed = None;
        for &method in methods {
            match method {
                Method::RustupWasip2 | Method::RustupUnknown => {
                    let targets = installed.get_or_insert_with(|| rustup_targets(dir));
                    if targets.iter().any(|t| t == method.target()) {
                        let rustc = PathBuf::from(rustup_which("rustc", dir)?);
                        let cargo = PathBuf::from(rustup_which("cargo", dir)?);
                        return Toolchain::finish(method, cargo, rustc, None, None);
                    }
                }
                Method::DebianBuildStd => {
                    let rustc = PathBuf::from("/usr/bin/rustc");
                    let cargo = PathBuf::from("/usr/bin/cargo");
                    let src = PathBuf::from("/usr/lib/rustlib/src/rust");
                    if rustc.exists() && cargo.exists() && src.join("library/std").exists() {
                        let linker = find_linker().ok_or(Error::NoLinker)?;
                        return Toolchain::finish(method, cargo, rustc, Some(src), Some(linker));
                    }
                }
            }
        }
        Err(Error::NoToolchain {
            tried: methods.to_vec(),
        })
    }

    fn finish(
        method: Method,
        cargo: PathBuf,
        rustc: PathBuf,
        rust_src: Option<PathBuf>,
        linker: Option<PathBuf>,
    ) -> Result<Toolchain, Error> {
        let rustc_version = capture(Command::new(&rustc).arg("-vV"))?;
        let mut description = method.describe().to_owned();
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
        Ok(Toolchain {
            method,
            cargo,
            rustc,
            rust_src,
            linker,
            description,
        })
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn target(&self) -> &'static str {
        self.method.target()
    }

    /// The method, rustc and LLVM versions and the linker, one per line:
    /// what decides the bytes besides the sources.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// `cargo build --release` for the wasm target in `workspace` (the
    /// caller adds package selection and `--locked`), with every
    /// machine-specific path remapped: the workspace's parent folder to
    /// `/ops`, cargo's home to `/cargo`, the std sources to `/rustc-src`,
    /// and a target folder outside the parent to `/target`.
    ///
    /// The parent folder and the target folder are remapped by a wrapper
    /// around rustc (written into `target_dir`) that cargo runs as its
    /// rustc, not through the rustflags: `-Zbuild-std` compiles std with the
    /// rustflags, and cargo hashes them into every crate's symbols, so a
    /// folder in them would build std again for every plugin folder (or for
    /// every plugin folder whose target folder lies outside it) and make the
    /// bytes depend on where the checkout is. Neither happens to the
    /// wrapper's own flags (std has no path under either folder), so plugins
    /// that share a target folder share one std. It is `RUSTC` rather than
    /// `RUSTC_WORKSPACE_WRAPPER` because cargo hashes a workspace
    /// wrapper's path into the workspace's crates, and that path is in the
    /// checkout.
    pub fn build_command(&self, workspace: &Path, target_dir: &Path) -> Result<Command, Error> {
        self.cargo_command(&["build"], workspace, target_dir)
    }

    /// [`Toolchain::build_command`] for the library of the one package in
    /// `dir`, built as a `cdylib` alone whatever else its manifest lists
    /// (a plugin crate is often an `rlib` too, for native tests). With a
    /// `cdylib` as the only root, cargo's LTO needs bitcode alone from the
    /// dependencies and std, as for the built-in plugins: std is compiled
    /// the same way, so plugins that share a target folder share it, and no
    /// object code is made that the link never reads.
    pub fn build_cdylib_command(&self, dir: &Path, target_dir: &Path) -> Result<Command, Error> {
        self.cargo_command(
            &["rustc", "--lib", "--crate-type", "cdylib"],
            dir,
            target_dir,
        )
    }

    fn cargo_command(
        &self,
        subcommand: &[&str],
        workspace: &Path,
        target_dir: &Path,
    ) -> Result<Command, Error> {
        let parent = workspace
            .parent()
            .ok_or_else(|| Error::NoParent(workspace.to_owned()))?;
        let wrapper = install_folder_remap(target_dir)?;
        let mut flags = vec![
            format!("--remap-path-prefix={}=/cargo", cargo_home()?.display()),
            "-Ccodegen-units=1".to_owned(),
            "-Cdebuginfo=0".to_owned(),
            "-Cstrip=debuginfo".to_owned(),
        ];
        if let Some(src) = &self.rust_src {
            flags.push(format!("--remap-path-prefix={}=/rustc-src", src.display()));
        }
        let mut cmd = Command::new(&self.cargo);
        if target_dir.starts_with(parent) {
            cmd.env_remove(TARGET_REMAP_ENV);
        } else {
            cmd.env(TARGET_REMAP_ENV, target_dir);
        }
        cmd.current_dir(workspace)
            .args(subcommand)
            .args(["--release", "--target", self.target()])
            .env("CARGO_TARGET_DIR", target_dir)
            .env("RUSTC", wrapper)
            .env(REAL_RUSTC_ENV, &self.rustc)
            .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
            .env(FOLDER_REMAP_ENV, parent)
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
            cmd.env(linker_env(self.target()), linker);
        }
        Ok(cmd)
    }

    /// Where cargo leaves the `.wasm` of the library `lib_name` (the
    /// package name with `-` as `_`).
    pub fn artifact(&self, target_dir: &Path, lib_name: &str) -> PathBuf {
        target_dir
            .join(self.target())
            .join("release")
            .join(format!("{lib_name}.wasm"))
    }
}

/// `CARGO_TARGET_<TRIPLE>_LINKER`.
fn linker_env(target: &str) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests;
