//! The allowed_signers files ops reads, in order: the project's
//! (`[plugins] signers`), the one an environment variable names (for CI),
//! the user's and the system's; each with its revoked-keys file beside it.
//! A key revoked in any of them is revoked for all: revocation is the
//! one statement that must not be outvoted by another file.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ssh_key::PublicKey;

use super::signers::{read_revoked, read_signers, revoked_path, Revoked, Signer};
use super::SignError;

/// Names an allowed_signers file to trust as well (CI).
pub const SIGNERS_ENV: &str = "OPS_ALLOWED_SIGNERS";

/// One allowed_signers file and who put it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFile {
    /// `project`, `environment`, `user`, `system`.
    pub origin: &'static str,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    files: Vec<TrustFile>,
    signers: Vec<Signer>,
    revoked: Vec<Revoked>,
}

impl TrustFile {
    /// The files in the order they are read; `project` is the file
    /// `[plugins] signers` names.
    pub fn all(project: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Vec<TrustFile> {
        let mut files = Vec::new();
        if let Some(path) = project {
            files.push(TrustFile {
                origin: "project",
                path: path.to_owned(),
            });
        }
        if let Some(path) = env(SIGNERS_ENV).filter(|p| !p.is_empty()) {
            files.push(TrustFile {
                origin: "environment",
                path: PathBuf::from(path),
            });
        }
        if let Some(path) = TrustFile::user_path(env) {
            files.push(TrustFile {
                origin: "user",
                path,
            });
        }
        files.push(TrustFile {
            origin: "system",
            path: PathBuf::from("/etc/ops/allowed_signers"),
        });
        files
    }

    /// `$XDG_CONFIG_HOME/ops/allowed_signers`, else
    /// `~/.config/ops/allowed_signers`.
    pub fn user_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let base = env("XDG_CONFIG_HOME")
            .filter(|p| Path::new(p).is_absolute())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
        Some(base.join("ops/allowed_signers"))
    }
}

impl TrustStore {
    /// Reads every file of `files` and the revoked-keys file beside it;
    /// absent files say nothing.
    pub fn load(files: Vec<TrustFile>) -> Result<TrustStore, SignError> {
        let mut store = TrustStore::default();
        for file in &files {
            store.signers.extend(read_signers(&file.path)?);
            store
                .revoked
                .extend(read_revoked(&revoked_path(&file.path))?);
        }
        store.files = files;
        Ok(store)
    }

    pub fn files(&self) -> &[TrustFile] {
        &self.files
    }

    pub fn signers(&self) -> &[Signer] {
        &self.signers
    }

    /// Where `key` is revoked, if it is.
    pub fn revoked(&self, key: &PublicKey) -> Option<&Revoked> {
        self.revoked
            .iter()
            .find(|r| r.key.key_data() == key.key_data())
    }

    /// The lines that trust `key` for plugin signatures at `now`.
    pub fn trusting(&self, key: &PublicKey, now: SystemTime) -> Vec<&Signer> {
        self.signers
            .iter()
            .filter(|s| s.key.key_data() == key.key_data() && s.usable(now))
            .collect()
    }

    /// The files read, for messages: `a, b (absent)`.
    pub fn describe(&self) -> String {
        let each: Vec<String> = self
            .files
            .iter()
            .map(|f| {
                let absent = if f.path.exists() { "" } else { ", absent" };
                format!("{} ({}{absent})", f.path.display(), f.origin)
            })
            .collect();
        each.join(", ")
    }
}
