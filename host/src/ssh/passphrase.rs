//! Asking for a key's passphrase on the controlling terminal, with echo
//! off, the way ssh does. Without a terminal there is nobody to ask.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// The passphrase typed on `/dev/tty`, or `None` when there is no terminal.
pub fn ask(key: &Path) -> Option<String> {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return None;
    }
    let mut silent = saved;
    silent.c_lflag &= !libc::ECHO;
    silent.c_lflag |= libc::ECHONL;
    // Echo goes off before the prompt appears, so that nothing typed in
    // answer to the prompt can ever be echoed.
    // SAFETY: fd is open for the lifetime of `tty`; both structs are valid.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &silent) };
    let mut out = &tty;
    let _ = write!(out, "Enter passphrase for key '{}': ", key.display());
    let _ = out.flush();
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above; restores what tcgetattr returned.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read.ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_owned())
}
