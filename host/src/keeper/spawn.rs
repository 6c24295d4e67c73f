//! Starting the keeper: this same executable, `ops __keeper DIR BUILD`,
//! by fork and exec (`std::process::Command`), never a bare fork of this
//! multi-threaded process. It runs in a session of its own (`setsid`: no
//! controlling terminal, so a terminal's Ctrl-C or hang-up never reaches
//! it), with stdin and stdout on `/dev/null` and stderr on its log,
//! `keeper-BUILD.log` in its private directory; it closes every other
//! descriptor it inherited first thing (`server::close_inherited`), so it
//! holds no pipe of the shell or CI job that ran ops. Nobody waits for it:
//! it outlives the run by design.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::KEEPER_ARG;

/// How large the keeper's log may grow before it starts over.
const MAX_LOG: u64 = 1 << 20;

/// Starts a keeper for build `build` in `dir`.
pub fn start(dir: &Path, build: &str) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join(format!("keeper-{build}.log")))?;
    // A few lines per run: started afresh once it has grown past this.
    if log.metadata().is_ok_and(|m| m.len() > MAX_LOG) {
        log.set_len(0)?;
    }
    let mut command = Command::new(exe);
    command
        .arg(KEEPER_ARG)
        .arg(dir)
        .arg(build)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Not in the run's directory: a keeper must not hold a mount busy.
        .current_dir("/");
    // SAFETY: setsid(2) is async-signal-safe and only changes the child.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    // Reaped by init once this process exits; the keeper outlives the run.
    drop(child);
    Ok(())
}
