//! A program on a pseudo-terminal of its own, as a person at a terminal
//! runs it: the terminal is its stdin, stdout, stderr and controlling
//! terminal. The test types into it, resizes it, reads what it shows and
//! checks its modes.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::eventually::{eventually, poll};

pub struct OnPty {
    controller: File,
    /// The terminal's side, kept open to read its modes after the program
    /// ended.
    terminal: OwnedFd,
    child: Option<Child>,
    shown: Arc<Mutex<Vec<u8>>>,
    /// The terminal's modes before the program started.
    initial: Modes,
}

/// A terminal's modes, comparable.
pub type Modes = (u32, u32, u32, u32, Vec<u8>);

impl OnPty {
    /// Starts `command` on a new terminal of `rows` x `cols`.
    pub fn spawn(mut command: Command, rows: u16, cols: u16) -> OnPty {
        let (mut controller, mut terminal) = (-1, -1);
        let size = winsize(rows, cols);
        // SAFETY: openpty fills the two fds; the rest are read only.
        let opened = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both were just opened and are owned by no one else.
        let (controller, terminal) = unsafe {
            (
                File::from_raw_fd(controller),
                OwnedFd::from_raw_fd(terminal),
            )
        };
        let mut on_pty = OnPty {
            controller,
            terminal,
            child: None,
            shown: Arc::new(Mutex::new(Vec::new())),
            initial: Default::default(),
        };
        on_pty.initial = on_pty.modes();
        for stdio in 0..3 {
            let fd = on_pty.terminal.try_clone().unwrap();
            match stdio {
                0 => command.stdin(Stdio::from(fd)),
                1 => command.stdout(Stdio::from(fd)),
                _ => command.stderr(Stdio::from(fd)),
            };
        }
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        on_pty.child = Some(command.spawn().expect("spawn on a terminal"));
        let mut reading = on_pty.controller.try_clone().unwrap();
        let into = on_pty.shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once nothing has the terminal open any more.
            while let Ok(n @ 1..) = reading.read(&mut buf) {
                into.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        on_pty
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("started in spawn")
    }

    /// The terminal's modes before the program started.
    pub fn initial_modes(&self) -> Modes {
        self.initial.clone()
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("started in spawn").id() as i32
    }

    /// Types `bytes`.
    pub fn type_in(&mut self, bytes: &[u8]) {
        self.controller.write_all(bytes).unwrap();
    }

    /// Resizes the terminal, as a terminal window does (the kernel tells
    /// the foreground process group with SIGWINCH).
    pub fn resize(&self, rows: u16, cols: u16) {
        let size = winsize(rows, cols);
        // SAFETY: TIOCSWINSZ only reads the `winsize` passed.
        let set = unsafe { libc::ioctl(self.controller.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(set, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }

    /// Everything the terminal has shown so far.
    pub fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal has shown `text`.
    #[track_caller]
    pub fn wait_for(&self, text: &str) {
        eventually(Duration::from_secs(30), text, || {
            let shown = self.shown();
            if shown.contains(text) {
                Ok(())
            } else {
                Err(format!("the terminal shows:\n{shown}"))
            }
        });
    }

    /// The terminal's modes now.
    pub fn modes(&self) -> Modes {
        // SAFETY: tcgetattr fills the one `termios` passed.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), &mut t) };
        assert_eq!(got, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc.to_vec())
    }

    /// Waits for the program to end; one still running after 60s is killed
    /// and the test fails with what the terminal showed.
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        let ended = poll(Duration::from_secs(60), || {
            self.child().try_wait().unwrap().ok_or(())
        });
        match ended {
            Ok(status) => status,
            Err(()) => {
                let _ = self.child().kill();
                panic!("still running after 60s; it showed:\n{}", self.shown());
            }
        }
    }
}

fn winsize(rows: u16, cols: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}
