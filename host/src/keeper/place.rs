//! Where the keeper lives: a directory only this user can enter, holding
//! the socket and the lock of each build of ops, and the id of this build.
//!
//! The directory is `$XDG_RUNTIME_DIR/ops`, else `${TMPDIR:-/tmp}/ops-UID`.
//! Either way ops makes it 0700 and refuses it when it is not a directory
//! of this user with no access for others (a symbolic link, another
//! user's directory made first in a shared /tmp), since whoever can reach
//! the socket would reach the node.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The longest socket path a Unix socket address holds (`sun_path`, less
/// its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// This process's effective uid: the only one a keeper talks to.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Where the keeper directory is (it may not exist).
pub fn path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(runtime) if runtime.is_absolute() => runtime.join("ops"),
        _ => std::env::temp_dir().join(format!("ops-{}", own_uid())),
    }
}

/// The keeper directory, made if missing and checked to be private.
pub fn directory() -> io::Result<PathBuf> {
    let dir = path();
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_directory(&dir)?;
    Ok(dir)
}

/// Refuses `dir` unless it is a real directory of this user that nobody
/// else may enter or list.
pub fn check_directory(dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory")
    } else if meta.uid() != own_uid() {
        Some("belongs to another user")
    } else if meta.mode() & 0o077 != 0 {
        Some("is open to other users (it must be 0700)")
    } else {
        None
    };
    match problem {
        Some(why) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} {why}", dir.display()),
        )),
        None => Ok(()),
    }
}

/// The id of this build of ops: its version and the executable's size,
/// modification time and inode. Any rebuild or reinstall changes it, so a
/// run never talks to a keeper of another build.
pub fn build_id() -> io::Result<String> {
    let exe = std::env::current_exe()?;
    let meta = fs::metadata(&exe)?;
    let text = format!(
        "{} {} {} {} {} {}",
        env!("CARGO_PKG_VERSION"),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.dev(),
        meta.ino()
    );
    Ok(hex::encode(&Sha256::digest(text.as_bytes())[..8]))
}

/// The socket of build `build`'s keeper in `dir`.
pub fn socket(dir: &Path, build: &str) -> io::Result<PathBuf> {
    let path = dir.join(format!("keeper-{build}.sock"));
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the socket path {} is too long", path.display()),
        ));
    }
    Ok(path)
}

/// Every keeper socket in `dir`, of any build.
pub fn sockets(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keeper-") && n.ends_with(".sock"))
        })
        .collect();
    found.sort();
    found
}

/// Takes the lock that makes one keeper per build: `None` when another
/// keeper holds it. Held for as long as the file stays open.
pub fn lock(dir: &Path, build: &str) -> io::Result<Option<fs::File>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir.join(format!("keeper-{build}.lock")))?;
    // SAFETY: flock on a descriptor this function owns; no memory involved.
    let locked = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    if locked == 0 {
        return Ok(Some(file));
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_a_private_directory_of_ours_is_used() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("k");
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        check_directory(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            check_directory(&dir).is_err(),
            "a directory others can list"
        );
        let link = base.path().join("link");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(check_directory(&link).is_err(), "a symbolic link");
    }

    #[test]
    fn one_lock_holder_per_build() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), "b1").unwrap();
        assert!(first.is_some());
        assert!(lock(dir.path(), "b1").unwrap().is_none());
        assert!(lock(dir.path(), "b2").unwrap().is_some());
        drop(first);
        assert!(lock(dir.path(), "b1").unwrap().is_some());
    }
}
