//! The full log of a run, kept on the user's machine: every line at `-v`
//! detail, without colour, redacted like everything else. One file per run
//! under the XDG state dir, per project; the newest [`KEEP`] are kept.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// How many logs of one project are kept.
pub const KEEP: usize = 20;

pub struct RunLog {
    file: File,
    path: PathBuf,
}

impl RunLog {
    /// Opens a new log for the project in `project_dir`, under `state_dir`
    /// (see [`state_dir`]), and removes that project's oldest logs.
    pub fn create(state_dir: &Path, project_dir: &Path) -> io::Result<RunLog> {
        let dir = state_dir.join("runs").join(project_key(project_dir));
        fs::create_dir_all(&dir)?;
        let stamp = humantime::format_rfc3339_millis(SystemTime::now())
            .to_string()
            .replace(':', "-");
        let path = dir.join(format!("{stamp}-{}.log", std::process::id()));
        // Logs hold the node's output, which is the user's business only.
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&path)?;
        prune(&dir, KEEP)?;
        Ok(RunLog { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line; a full disk must not stop the build, so errors are
    /// dropped.
    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.file, "{text}");
    }
}

/// `$XDG_STATE_HOME/ops`, else `~/.local/state/ops`.
pub fn state_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |name: &str| env(name).filter(|v| v.starts_with('/'));
    if let Some(state) = nonempty("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("ops"));
    }
    nonempty("HOME").map(|home| PathBuf::from(home).join(".local/state/ops"))
}

/// The directory's name (readable) and a hash of its full path (unique).
fn project_key(project_dir: &Path) -> String {
    let absolute = fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_owned());
    let name: String = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    format!("{name}-{}", &hex::encode(hash)[..8])
}

/// Removes all but the newest `keep` logs; names start with the time, so
/// they sort oldest first.
fn prune(dir: &Path, keep: usize) -> io::Result<()> {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let excess = logs.len().saturating_sub(keep);
    for old in &logs[..excess] {
        let _ = fs::remove_file(old);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_follows_xdg_then_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            state_dir(env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            Some(PathBuf::from("/s/ops"))
        );
        // A relative XDG path is invalid by the spec and ignored.
        assert_eq!(
            state_dir(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.local/state/ops"))
        );
        assert_eq!(state_dir(env(&[])), None);
    }

    #[test]
    fn keeps_the_newest_logs_of_a_project_only() {
        let state = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let mut first = RunLog::create(state.path(), project.path()).unwrap();
        first.line("first run");
        let first = first.path().to_owned();
        let mut last = None;
        for _ in 0..KEEP {
            std::thread::sleep(std::time::Duration::from_millis(2));
            last = Some(RunLog::create(state.path(), project.path()).unwrap());
        }
        RunLog::create(state.path(), other.path()).unwrap();
        let last = last.unwrap();
        let dir = last.path().parent().unwrap();
        assert_eq!(fs::read_dir(dir).unwrap().count(), KEEP);
        assert!(!first.exists(), "the oldest log was kept");
        let mode = fs::metadata(last.path()).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(state.path().join("runs")).unwrap().count(), 2);
    }
}
