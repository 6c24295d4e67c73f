//! Asking for a key's passphrase on the controlling terminal, with echo
//! off, the way ssh does. Without a terminal there is nobody to ask.
//!
//! rpassword reads the answer. Around it, [`Quiet`] turns echo off before
//! the prompt is printed (rpassword would print it first, and an answer
//! typed at once would be echoed) and, like OpenSSH's readpassphrase,
//! catches the signals that would end ops mid-prompt so that the terminal
//! gets its echo back before ops dies of them.

use std::cell::UnsafeCell;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The passphrase typed on `/dev/tty`, or `None` when there is no terminal.
pub fn ask(key: &Path) -> Option<String> {
    // The terminal settings and signal dispositions are process-wide.
    let _one_at_a_time = PROMPT.lock().unwrap_or_else(PoisonError::into_inner);
    // The live display's redraws would erase the prompt.
    let _display_off = crate::output::pause_live_display();
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let quiet = Quiet::on(tty.as_raw_fd())?;
    let _ = write!(tty, "Enter passphrase for key '{}': ", key.display());
    let _ = tty.flush();
    let answer = rpassword::read_password();
    drop(quiet);
    match answer {
        Ok(answer) => Some(answer),
        // Ctrl-D: an empty answer, which fails to decrypt like a wrong one.
        Err(err) if err.kind() == ErrorKind::UnexpectedEof => Some(String::new()),
        Err(_) => None,
    }
}

static PROMPT: Mutex<()> = Mutex::new(());

/// The terminal being prompted on (-1 when none), the thread prompting
/// and the terminal's settings from before the prompt, for
/// [`restore_and_reraise`]. Atomics and a static cell, because a signal
/// handler may take no lock.
static TTY_FD: AtomicI32 = AtomicI32::new(-1);
static PROMPTER: AtomicUsize = AtomicUsize::new(0);
static SAVED: SavedTermios = SavedTermios(UnsafeCell::new(MaybeUninit::uninit()));

struct SavedTermios(UnsafeCell<MaybeUninit<libc::termios>>);

// SAFETY: written only by `Quiet::on`, under PROMPT and while TTY_FD is -1;
// read only while TTY_FD holds a descriptor (Release/Acquire on TTY_FD).
unsafe impl Sync for SavedTermios {}

/// Signals whose default action ends the process. Ctrl-C at the prompt is
/// one of them too: rpassword reads it and raises SIGINT.
const ENDING: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Echo off on a terminal until dropped. Meanwhile each of [`ENDING`] that
/// would kill ops first puts the terminal back; a signal that something
/// else in ops handles (tokio) or ignores is left to it.
struct Quiet {
    fd: RawFd,
    saved: libc::termios,
    replaced: Vec<(libc::c_int, libc::sigaction)>,
}

impl Quiet {
    fn on(fd: RawFd) -> Option<Quiet> {
        let mut saved = MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills `saved` when it returns 0.
        if unsafe { libc::tcgetattr(fd, saved.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: initialised by the successful tcgetattr above.
        let saved = unsafe { saved.assume_init() };
        // SAFETY: see SavedTermios; no handler reads it yet.
        unsafe { (*SAVED.0.get()).write(saved) };
        // SAFETY: pthread_self has no preconditions.
        PROMPTER.store(unsafe { libc::pthread_self() } as usize, Ordering::Relaxed);
        TTY_FD.store(fd, Ordering::Release);

        // A handler installed with a plain sigaction is taken out again
        // afterwards. signal-hook or tokio would leave theirs in for good,
        // and ops would then ignore SIGTERM and SIGHUP after a prompt.
        let mut replaced = Vec::new();
        for sig in ENDING {
            // SAFETY: both sigaction structs are valid for the calls; the
            // handler only makes async-signal-safe calls.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction =
                    restore_and_reraise as extern "C" fn(libc::c_int) as libc::sighandler_t;
                // One restore at a time, whichever signals come.
                libc::sigfillset(&mut new.sa_mask);
                if libc::sigaction(sig, &new, ptr::null_mut()) == 0 {
                    replaced.push((sig, old));
                }
            }
        }
        let quiet = Quiet {
            fd,
            saved,
            replaced,
        };

        let mut silent = saved;
        // ECHONL off as well: rpassword prints the newline after the answer.
        silent.c_lflag &= !(libc::ECHO | libc::ECHONL);
        // SAFETY: valid fd and termios. Failing, the answer would be echoed.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &silent) } != 0 {
            return None;
        }
        Some(quiet)
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        // Terminal first: a signal arriving before the handlers are back
        // then finds nothing left to restore.
        // SAFETY: valid fd (the caller's tty outlives self) and termios.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
        for (sig, old) in &self.replaced {
            // SAFETY: `old` is what sigaction returned for this signal.
            unsafe { libc::sigaction(*sig, old, ptr::null_mut()) };
        }
        TTY_FD.store(-1, Ordering::Release);
    }
}

/// Puts the terminal back, then lets the signal's default action end ops
/// as it would have without the prompt.
extern "C" fn restore_and_reraise(sig: libc::c_int) {
    let fd = TTY_FD.load(Ordering::Acquire);
    // SAFETY: pthread_self, pthread_kill, tcsetattr, signal and raise are
    // async-signal-safe; SAVED is initialised and PROMPTER is a live
    // thread (it is inside `ask`) whenever TTY_FD holds a descriptor.
    unsafe {
        if fd >= 0 {
            let prompter = PROMPTER.load(Ordering::Relaxed);
            if libc::pthread_self() as usize != prompter {
                // Restoring from here could race with rpassword setting the
                // terminal on the prompting thread and lose. There, the
                // handler interrupts it, and ops dies before it resumes.
                libc::pthread_kill(prompter as libc::pthread_t, sig);
                return;
            }
            libc::tcsetattr(fd, libc::TCSANOW, (*SAVED.0.get()).as_ptr());
        }
        // `sig` is blocked while this runs: it is delivered, with the
        // default action, as soon as the handler returns.
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, ExitStatus, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    const CHILD: &str = "OPS_TEST_PASSPHRASE_CHILD";
    const SECRET: &str = "open sesame";

    /// Not a test of its own: the prompt, run by [`prompt_on_a_pty`] in a
    /// child process whose controlling terminal is a pty.
    #[test]
    fn prompt_in_child() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let answer = ask(Path::new("/keys/id_ed25519"));
        println!("answer matches: {}", answer.as_deref() == Some(SECRET));
    }

    struct Run {
        status: ExitStatus,
        screen: String,
        /// Whether ECHO was on once the prompt was showing.
        echo_at_prompt: bool,
        /// The pty's local modes before the child started and after it ended.
        lflag_before: libc::tcflag_t,
        lflag_after: libc::tcflag_t,
    }

    fn lflag(fd: RawFd) -> libc::tcflag_t {
        let mut t = MaybeUninit::<libc::termios>::uninit();
        assert_eq!(unsafe { libc::tcgetattr(fd, t.as_mut_ptr()) }, 0);
        unsafe { t.assume_init() }.c_lflag
    }

    /// A new pty: (master, slave), neither inherited by children.
    fn open_pty() -> (File, OwnedFd) {
        unsafe {
            let (mut m, mut s) = (-1, -1);
            let rc = libc::openpty(&mut m, &mut s, ptr::null_mut(), ptr::null(), ptr::null());
            assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
            for fd in [m, s] {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
            (File::from_raw_fd(m), OwnedFd::from_raw_fd(s))
        }
    }

    /// [`prompt_in_child`] in a child whose controlling terminal is `slave`.
    fn spawn_prompt_on(slave: &OwnedFd) -> std::process::Child {
        let stdio = || Stdio::from(slave.try_clone().unwrap());
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "ssh::passphrase::tests::prompt_in_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // The pty becomes the child's /dev/tty.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A test runner started in the background may ignore these.
                for sig in ENDING {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop(command);
        child
    }

    /// Runs [`prompt_in_child`] on a fresh pty, waits for the prompt, then
    /// lets `act` type or send a signal.
    fn prompt_on_a_pty(act: impl FnOnce(&mut File, u32)) -> Run {
        let (mut master, slave) = open_pty();
        let lflag_before = lflag(slave.as_raw_fd());
        let mut child = spawn_prompt_on(&slave);
        let mut reading = master.try_clone().unwrap();
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reading.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut screen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !String::from_utf8_lossy(&screen).contains("id_ed25519': ") {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => screen.extend(chunk),
                Err(_) => {
                    let _ = child.kill();
                    panic!("no prompt: {}", String::from_utf8_lossy(&screen));
                }
            }
        }
        let echo_at_prompt = lflag(slave.as_raw_fd()) & libc::ECHO != 0;

        act(&mut master, child.id());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("prompt still running: {}", String::from_utf8_lossy(&screen));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let lflag_after = lflag(slave.as_raw_fd());
        // With the last slave closed the reader sees the end of the output.
        drop(slave);
        while let Ok(chunk) = rx.recv_timeout(Duration::from_secs(5)) {
            screen.extend(chunk);
        }
        Run {
            status,
            screen: String::from_utf8_lossy(&screen).into_owned(),
            echo_at_prompt,
            lflag_before,
            lflag_after,
        }
    }

    #[test]
    fn an_answer_is_read_without_echo_and_echo_comes_back() {
        let run = prompt_on_a_pty(|master, _| {
            master.write_all(format!("{SECRET}\r").as_bytes()).unwrap();
        });
        assert!(run.status.success(), "{:?}: {}", run.status, run.screen);
        assert!(!run.echo_at_prompt, "echo was on at the prompt");
        assert!(
            run.screen.contains("answer matches: true"),
            "{}",
            run.screen
        );
        assert!(!run.screen.contains(SECRET), "echoed: {}", run.screen);
        assert!(run
            .screen
            .contains("Enter passphrase for key '/keys/id_ed25519': "));
        assert_eq!(run.lflag_after, run.lflag_before);
    }

    #[test]
    fn a_signal_mid_prompt_ends_ops_with_the_terminal_put_back() {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let run = prompt_on_a_pty(|_, pid| {
                // SAFETY: kill has no memory-safety preconditions.
                assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
            });
            assert_eq!(run.status.signal(), Some(sig), "{}", run.screen);
            assert!(!run.echo_at_prompt);
            assert!(
                run.lflag_after & libc::ECHO != 0,
                "echo still off after {sig}"
            );
            assert_eq!(run.lflag_after, run.lflag_before, "after {sig}");
        }
    }

    #[test]
    fn ctrl_c_typed_at_the_prompt_ends_ops_with_the_terminal_put_back() {
        let run = prompt_on_a_pty(|master, _| master.write_all(b"op\x03").unwrap());
        assert_eq!(run.status.signal(), Some(libc::SIGINT), "{}", run.screen);
        assert_eq!(run.lflag_after, run.lflag_before);
    }
}
