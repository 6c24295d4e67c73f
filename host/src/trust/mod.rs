//! A project file needs the user's trust before it can do what only the
//! user should decide, as `direnv allow` and `mise trust` do: send a local
//! file from outside the project (a key under `~/.ssh`), send secrets to a
//! node that only its own `host_key` pin vouches for, send the user's API
//! token to an origin only it names, give a third-party plugin grants
//! that act on this machine, or run local hooks ([`findings`]). An ordinary file asks for none
//! of these and passes without a word.
//!
//! [`gate`] runs before every command that reads the file and could send
//! something (before any connection or API request); it lets a file
//! through when `ops trust` recorded trust for exactly these findings
//! ([`store`]: keyed by the file's canonical path and a digest of the parts
//! that matter, so editing the build command does not ask again), when
//! `OPS_TRUST=1` is set, or when the user says yes at a terminal.

mod error;
mod findings;
mod store;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::output::Printer;
use crate::ssh::{home_dir, SshConfigFile};

pub use error::TrustError;
use findings::{Context, Finding};
use store::Store;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// What `config` would do; its hooks only when `hooks` (they run).
fn findings_of(config: &Config, hooks: bool) -> Vec<Finding> {
    let home = home_dir();
    // An unreadable ssh_config confirms nothing: the file is judged on its
    // own, which can only ask more.
    let ssh_config = home
        .as_deref()
        .and_then(|h| SshConfigFile::load(h).ok())
        .unwrap_or_default();
    let cx = Context {
        home: home.as_deref(),
        ssh_config: &ssh_config,
        env_api_url: env("OPS_API_URL").filter(|v| !v.is_empty()),
    };
    let mut found = findings::collect(config, &cx);
    if hooks {
        found.extend(findings::hooks(config));
    }
    found
}

fn canonical(file: &Path) -> PathBuf {
    file.canonicalize().unwrap_or_else(|_| file.to_path_buf())
}

fn listing(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {}: {}", f.location, f.what))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lets `config` through, or refuses it (exit 2) before anything is sent.
/// `hooks`: the command runs the file's hooks, so they need trust too.
/// Trust given to the whole file (`ops trust`) covers a command that
/// needs only part of it.
pub fn gate(config: &Config, hooks: bool, printer: &Printer) -> Result<(), TrustError> {
    let findings = findings_of(config, hooks);
    if findings.is_empty() {
        return Ok(());
    }
    let file = canonical(&config.file);
    if env("OPS_TRUST").as_deref() == Some("1") {
        printer.debug(format!(
            "{} trusted by OPS_TRUST=1:\n{}",
            file.display(),
            listing(&findings)
        ));
        return Ok(());
    }
    let digest = store::digest(&file, &findings);
    let whole = store::digest(&file, &findings_of(config, true));
    let store = Store::from_env(env);
    if store
        .as_ref()
        .is_some_and(|s| s.trusts(&file, &digest) || s.trusts(&file, &whole))
    {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && ask(config, &findings) {
        store.ok_or(TrustError::NoStore)?.record(&file, &digest)?;
        return Ok(());
    }
    let only_hooks = findings.len() == findings::hooks(config).len() && hooks;
    Err(TrustError::Untrusted {
        file: config.file.display().to_string(),
        list: listing(&findings),
        hint: match only_hooks {
            true => "; or build without running them: `ops build --no-hooks`".to_owned(),
            false => String::new(),
        },
    })
}

/// At a terminal: the findings, then "trust this file? [y/N]".
fn ask(config: &Config, findings: &[Finding]) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{} would:\n{}\ntrust this file? [y/N] ",
        config.file.display(),
        listing(findings)
    );
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `ops trust`: shows what the file would do and records trust for it;
/// with `revoke`, forgets it.
pub fn record(config: &Config, revoke: bool, printer: &Printer) -> Result<(), TrustError> {
    let file = canonical(&config.file);
    let store = Store::from_env(env).ok_or(TrustError::NoStore)?;
    if revoke {
        let word = match store.revoke(&file)? {
            true => "no longer trusted",
            false => "was not trusted",
        };
        printer.data(&format!("{}: {word}", file.display()));
        return Ok(());
    }
    let findings = findings_of(config, true);
    if findings.is_empty() {
        printer.data(&format!(
            "{}: needs no trust (no local files, unconfirmed host keys, API tokens to new \
             origins, local plugin grants or hooks)",
            file.display()
        ));
        return Ok(());
    }
    store.record(&file, &store::digest(&file, &findings))?;
    printer.data(&format!(
        "{}: trusted to\n{}",
        file.display(),
        listing(&findings)
    ));
    Ok(())
}

#[cfg(test)]
mod tests;
