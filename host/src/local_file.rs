//! Reading files of the user's machine, bounded. Every path ops reads can
//! be named by a project's ops.toml (the config itself, a plugin, a key, a
//! known_hosts file), so none is read whole on trust: a device such as
//! `/dev/zero` would never end and a FIFO would never open. Here, the
//! lowest layer, so that config, ssh and the plugin runtime share it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The most ops reads of a text file: a config, known_hosts, a key, a lock
/// file.
pub const MAX_TEXT_FILE: u64 = 16 << 20;

/// The most ops reads of a plugin component.
pub const MAX_COMPONENT_FILE: u64 = 64 << 20;

/// Checks that `path` is a regular file of at most `max` bytes, for a
/// library that opens it itself.
pub fn check_local_file(path: &Path, max: u64) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    Ok(())
}

/// The bytes of `path`, a regular file of at most `max` bytes.
pub fn read_local_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    check_local_file(path, max)?;
    // Non-blocking, so that a FIFO swapped in since the check does not
    // wait for a writer; it is refused just below.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    read_open_file(file, max)
}

/// [`read_local_file`] as UTF-8 text.
pub fn read_local_text(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_local_file(path, max)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_open_file(file: File, max: u64) -> io::Result<Vec<u8>> {
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    // A file that grows while it is read is still read no further.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

fn not_regular() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file (a device, FIFO or directory); ops reads only regular files",
    )
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {max} bytes, more than ops reads from such a file"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        for path in [Path::new("/dev/zero"), &fifo, dir.path()] {
            let err = read_local_file(path, 1 << 20).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, vec![b'x'; 11]).unwrap();
        assert!(read_local_file(&file, 10).is_err());
        assert_eq!(read_local_text(&file, 11).unwrap().len(), 11);
    }
}
