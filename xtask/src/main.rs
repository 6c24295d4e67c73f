//! Project tasks that need more than cargo: `cargo xtask plugins [--check]`
//! and `cargo xtask deps`.
//!
//! `plugins` compiles every crate of the `plugins/` workspace to
//! `wasm32-unknown-unknown`, turns each core module into a component with
//! wit-component, and writes them to `plugins/dist/` (built-ins) and
//! `plugins/dist/testing/` (test plugins), with `plugins/dist/TOOLCHAIN`
//! naming what built them. The host embeds the built-ins with
//! `include_bytes!`, so installing `ops` never needs a wasm toolchain.
//!
//! `plugins --check` rebuilds into a temporary folder and compares with the
//! committed bytes. Same toolchain and different bytes: the committed files
//! are stale, fail. Different toolchain (a distribution update): bytes are
//! expected to differ, so the rebuild is copied over `plugins/dist/` for the
//! tests to use and the drift is reported, without failing.
//!
//! `deps` checks both workspaces' dependencies against `deny.toml`
//! (licenses, banned crates, sources), as `cargo deny check bans licenses
//! sources` would, with nothing to install.

mod deps;
mod license;
mod plugins;

use anyhow::{bail, Result};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["plugins"] => plugins::build_into_dist(),
        ["plugins", "--check"] => plugins::check(),
        ["deps"] => deps::check(&plugins::repo_root()?),
        _ => bail!(
            "usage:\n  cargo xtask plugins          build every plugin into plugins/dist\n  \
             cargo xtask plugins --check  rebuild and compare with plugins/dist\n  \
             cargo xtask deps             check dependencies against deny.toml"
        ),
    }
}
