//! The local terminal while a program on the node owns it (`ops exec -t`):
//! its type and size, the size as it changes (SIGWINCH), and raw mode, so
//! that every key (Ctrl-C included) reaches the node's terminal instead of
//! being acted on here. Raw mode is a guard: dropping it puts back the
//! modes it found, on every way out of the run.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use tokio::sync::watch;

use crate::remote::TerminalSize;

/// `TERM` here, for the node's terminal; `dumb` when unset, which programs
/// there take as "no escape sequences".
pub fn term() -> String {
    std::env::var("TERM")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "dumb".into())
}

/// The size of the terminal `fd` is, if it is one and knows its size.
pub fn size(fd: BorrowedFd<'_>) -> Option<TerminalSize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the one passed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (got == 0 && ws.ws_col > 0 && ws.ws_row > 0).then_some(TerminalSize {
        cols: u32::from(ws.ws_col),
        rows: u32::from(ws.ws_row),
    })
}

/// The size of the terminal `fd`, now and after every SIGWINCH, until the
/// receiver is dropped. Without a size, [`TerminalSize::FALLBACK`].
pub fn watch_size(fd: BorrowedFd<'static>) -> io::Result<watch::Receiver<TerminalSize>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut winch = signal(SignalKind::window_change())?;
    let (tx, rx) = watch::channel(size(fd).unwrap_or(TerminalSize::FALLBACK));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = winch.recv() => if got.is_none() { break },
                () = tx.closed() => break,
            }
            if let Some(now) = size(fd) {
                tx.send_if_modified(|was| std::mem::replace(was, now) != now);
            }
        }
    });
    Ok(rx)
}

/// The terminal `fd` in raw mode until this is dropped.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Puts the terminal `fd` in raw mode: no echo, no line editing, no
    /// signals from keys, no output processing (the node's terminal does
    /// all of that).
    pub fn enter(fd: BorrowedFd<'_>) -> io::Result<RawMode> {
        let fd = fd.as_raw_fd();
        let saved = get(fd)?;
        set(fd, &raw(&saved))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Nothing better to do if the terminal is gone.
        let _ = set(self.fd, &self.saved);
    }
}

fn get(fd: RawFd) -> io::Result<libc::termios> {
    // SAFETY: tcgetattr fills the one `termios` passed.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(t)
}

fn set(fd: RawFd, t: &libc::termios) -> io::Result<()> {
    // TCSADRAIN: what was written in the old mode is shown in it.
    // SAFETY: tcsetattr only reads the `termios` passed.
    if unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `t` in raw mode, as `cfmakeraw` and OpenSSH's client make it.
fn raw(t: &libc::termios) -> libc::termios {
    let mut r = *t;
    r.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON
        | libc::IXANY
        | libc::IXOFF);
    r.c_oflag &= !libc::OPOST;
    r.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    r.c_cflag &= !(libc::CSIZE | libc::PARENB);
    r.c_cflag |= libc::CS8;
    r.c_cc[libc::VMIN] = 1;
    r.c_cc[libc::VTIME] = 0;
    r
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    use super::*;

    /// A pseudo-terminal pair: (controller, terminal).
    fn pty(size: TerminalSize) -> (OwnedFd, OwnedFd) {
        let (mut controller, mut terminal) = (-1, -1);
        let ws = libc::winsize {
            ws_row: size.rows as u16,
            ws_col: size.cols as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let opened = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(opened, 0, "{}", io::Error::last_os_error());
        unsafe {
            (
                OwnedFd::from_raw_fd(controller),
                OwnedFd::from_raw_fd(terminal),
            )
        }
    }

    fn modes(t: &libc::termios) -> (u32, u32, u32, u32, Vec<u8>) {
        (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc.to_vec())
    }

    #[test]
    fn raw_mode_passes_every_key_and_is_undone_on_drop() {
        let (_controller, terminal) = pty(TerminalSize { cols: 80, rows: 24 });
        let before = get(terminal.as_raw_fd()).unwrap();
        assert_ne!(before.c_lflag & libc::ISIG, 0, "a new terminal is cooked");
        {
            let _raw = RawMode::enter(terminal.as_fd()).unwrap();
            let now = get(terminal.as_raw_fd()).unwrap();
            assert_eq!(now.c_lflag & (libc::ISIG | libc::ICANON | libc::ECHO), 0);
            assert_eq!(now.c_iflag & (libc::IXON | libc::ICRNL), 0);
            assert_eq!(now.c_oflag & libc::OPOST, 0);
        }
        assert_eq!(modes(&get(terminal.as_raw_fd()).unwrap()), modes(&before));
    }

    #[test]
    fn the_size_is_read_from_the_terminal() {
        let (_controller, terminal) = pty(TerminalSize {
            cols: 123,
            rows: 45,
        });
        assert_eq!(
            size(terminal.as_fd()),
            Some(TerminalSize {
                cols: 123,
                rows: 45
            })
        );
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(size(file.as_fd()), None);
    }
}
