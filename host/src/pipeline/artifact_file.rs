//! One artifact written on this machine as it streams in from the node:
//! into a temporary file in its final folder, hashed on the way, then
//! renamed into place. A partial file never has the final name, and no
//! more than one chunk of it is ever in memory.

use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::remote::OutputSink;

/// The most of the node's stderr kept for the error message.
const STDERR_KEPT: usize = 4096;

/// An artifact being received: an [`OutputSink`] for the remote `cat`.
pub(super) struct ArtifactFile {
    temp: NamedTempFile,
    target: PathBuf,
    hasher: Sha256,
    bytes: u64,
    /// The first write that failed; the rest of the stream is dropped.
    error: Option<io::Error>,
    pub stderr: Vec<u8>,
}

/// What was written.
pub(super) struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

impl ArtifactFile {
    /// Starts `relative` (already checked to be a plain relative path)
    /// under `dir`. The folders on the way are made as real folders; one
    /// that exists as a symlink or a file is refused, so that nothing is
    /// written anywhere but under `dir`.
    pub fn create(dir: &Path, relative: &Path) -> io::Result<ArtifactFile> {
        fs::create_dir_all(dir)?;
        let target = dir.join(relative);
        let mut folder = dir.to_path_buf();
        if let Some(parent) = relative.parent() {
            for name in parent.components() {
                folder.push(name);
                match fs::symlink_metadata(&folder) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => return Err(not_a_folder(&folder)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&folder)?,
                    Err(e) => return Err(e),
                }
            }
        }
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(io::Error::other(format!(
                "{} is a folder; ops will not replace it with a file",
                target.display()
            )));
        }
        let temp = tempfile::Builder::new()
            .prefix(".ops-artifact-")
            .tempfile_in(&folder)?;
        Ok(ArtifactFile {
            temp,
            target,
            hasher: Sha256::new(),
            bytes: 0,
            error: None,
            stderr: Vec::new(),
        })
    }

    /// Gives the file `mode` (its permission bits) and its final name; the
    /// rename replaces whatever had the name (a symlink is replaced, not
    /// followed). Dropped without this, the temporary file is removed.
    pub fn finish(mut self, mode: u32) -> io::Result<Written> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let file = self.temp.as_file_mut();
        file.flush()?;
        file.set_permissions(Permissions::from_mode(mode & 0o777))?;
        file.sync_all()?;
        self.temp.persist(&self.target).map_err(|e| e.error)?;
        Ok(Written {
            path: self.target,
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

impl OutputSink for ArtifactFile {
    fn stdout(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        match self.temp.as_file_mut().write_all(chunk) {
            Ok(()) => {
                self.hasher.update(chunk);
                self.bytes += chunk.len() as u64;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn stderr(&mut self, chunk: &[u8]) {
        let room = STDERR_KEPT.saturating_sub(self.stderr.len());
        self.stderr
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

fn not_a_folder(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} exists and is not a folder (a symlink is not followed)",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gets_its_name_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = ArtifactFile::create(dir.path(), Path::new("a/b/c.bin")).unwrap();
        file.stdout(b"hello ");
        file.stdout(b"world");
        assert!(!dir.path().join("a/b/c.bin").exists());
        let written = file.finish(0o750).unwrap();
        assert_eq!(fs::read(&written.path).unwrap(), b"hello world");
        assert_eq!(written.bytes, 11);
        assert_eq!(
            written.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let mode = fs::metadata(&written.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
    }

    #[test]
    fn an_unfinished_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = ArtifactFile::create(dir.path(), Path::new("x")).unwrap();
        file.stdout(b"part");
        drop(file);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_symlinked_folder_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert!(ArtifactFile::create(dir.path(), Path::new("link/x")).is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_at_the_final_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("x")).unwrap();
        let mut file = ArtifactFile::create(dir.path(), Path::new("x")).unwrap();
        file.stdout(b"new");
        file.finish(0o644).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(dir.path().join("x")).unwrap(), b"new");
    }
}
