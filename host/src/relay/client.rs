//! `ops __relay SOCKET [-l USER] HOST COMMAND...`: the remote-shell program
//! rsync runs. It forwards its stdin to the running ops and writes back the
//! remote command's stdout and stderr, then exits with its status. Plain
//! threads and blocking I/O: this process lives only as long as one rsync.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use super::frame;

/// What ssh exits with when it cannot run the command at all.
const TRANSPORT_FAILURE: u8 = 255;

/// The remote command's words: what follows `[-l USER] HOST`.
pub fn remote_words(args: &[String]) -> Result<&[String], String> {
    let mut rest = args;
    if rest.first().map(String::as_str) == Some("-l") {
        if rest.len() < 2 {
            return Err("-l needs a user name".into());
        }
        // The user is the one ops already logged in as.
        rest = &rest[2..];
    }
    match rest.split_first() {
        Some((host, words)) if !host.starts_with('-') && !words.is_empty() => Ok(words),
        Some((host, _)) if host.starts_with('-') => Err(format!("unsupported option {host}")),
        _ => Err("usage: ops __relay SOCKET [-l USER] HOST COMMAND...".into()),
    }
}

pub fn run(socket: &Path, args: &[String]) -> ExitCode {
    match relay(socket, args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("ops relay: {message}");
            ExitCode::from(TRANSPORT_FAILURE)
        }
    }
}

fn relay(socket: &Path, args: &[String]) -> Result<u8, String> {
    let words = remote_words(args)?;
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach the running ops at {}: {e} (this program is only useful while \
             `ops build` runs)",
            socket.display()
        )
    })?;
    let command = words.join("\0");
    frame::write_frame(&mut stream, frame::COMMAND, command.as_bytes())
        .map_err(|e| format!("cannot send the command: {e}"))?;

    let mut upstream = stream
        .try_clone()
        .map_err(|e| format!("cannot duplicate the socket: {e}"))?;
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if frame::write_frame(&mut upstream, frame::STDIN, &buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = frame::write_frame(&mut upstream, frame::STDIN_EOF, &[]);
    });

    let mut stdout = std::io::stdout().lock();
    loop {
        let frame =
            frame::read_frame(&mut stream).map_err(|e| format!("connection to ops: {e}"))?;
        match frame {
            Some((frame::STDOUT, bytes)) => {
                stdout
                    .write_all(&bytes)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            Some((frame::STDERR, bytes)) => {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(&bytes);
            }
            Some((frame::EXIT, bytes)) => {
                let code = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(i32::from_be_bytes)
                    .map_err(|_| "malformed exit frame".to_owned())?;
                return Ok(code.clamp(0, 255) as u8);
            }
            Some((frame::ERROR, bytes)) => return Err(String::from_utf8_lossy(&bytes).into_owned()),
            Some((kind, _)) => return Err(format!("unexpected frame kind {kind}")),
            None => return Err("ops closed the connection before the command ended".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Result<Vec<String>, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        remote_words(&args).map(|w| w.to_vec())
    }

    #[test]
    fn takes_what_rsync_passes() {
        assert_eq!(
            words(&["node", "rsync", "--server", "."]).unwrap(),
            ["rsync", "--server", "."]
        );
        assert_eq!(
            words(&["-l", "ops", "node", "rsync", "--server"]).unwrap(),
            ["rsync", "--server"]
        );
        assert!(words(&["node"]).is_err());
        assert!(words(&["-p", "22", "node", "x"]).is_err());
        assert!(words(&["-l"]).is_err());
    }
}
