//! `ops __relay SOCKET [-l USER] HOST COMMAND...`: the remote-shell program
//! rsync runs. It forwards its stdin to the running ops and writes back the
//! remote command's stdout and stderr, then exits with its status. It lives
//! only as long as one rsync: a single-threaded runtime is all it needs.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::frame::{self, Frame, RelayCodec};
use crate::remote::local_stdin;

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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ops relay: cannot start: {e}");
            return ExitCode::from(TRANSPORT_FAILURE);
        }
    };
    let result = runtime.block_on(relay(socket, args));
    // The stdin thread may still be blocked in a read; it ends with the
    // process.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("ops relay: {message}");
            ExitCode::from(TRANSPORT_FAILURE)
        }
    }
}

async fn relay(socket: &Path, args: &[String]) -> Result<u8, String> {
    let words = remote_words(args)?;
    let stream = UnixStream::connect(socket).await.map_err(|e| {
        format!(
            "cannot reach the running ops at {}: {e} (this program is only useful while \
             `ops build` runs)",
            socket.display()
        )
    })?;
    let (rd, wr) = stream.into_split();
    let mut frames_in = FramedRead::new(rd, RelayCodec::default());
    let mut frames_out = FramedWrite::new(wr, RelayCodec::default());
    frames_out
        .send(Frame::new(frame::COMMAND, words.join("\0")))
        .await
        .map_err(|e| format!("cannot send the command: {e}"))?;

    let mut stdin = local_stdin();
    tokio::spawn(async move {
        while let Some(chunk) = stdin.recv().await {
            if frames_out
                .send(Frame::new(frame::STDIN, chunk))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = frames_out
            .send(Frame::new(frame::STDIN_EOF, Vec::new()))
            .await;
    });

    let mut stdout = tokio::io::stdout();
    loop {
        let frame = frames_in
            .next()
            .await
            .transpose()
            .map_err(|e| format!("connection to ops: {e}"))?;
        let Some(Frame { kind, payload }) = frame else {
            return Err("ops closed the connection before the command ended".into());
        };
        match kind {
            frame::STDOUT => {
                stdout
                    .write_all(&payload)
                    .await
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
                stdout
                    .flush()
                    .await
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            frame::STDERR => {
                let _ = std::io::stderr().lock().write_all(&payload);
            }
            frame::EXIT => {
                let code = <[u8; 4]>::try_from(payload.as_ref())
                    .map(i32::from_be_bytes)
                    .map_err(|_| "malformed exit frame".to_owned())?;
                return Ok(code.clamp(0, 255) as u8);
            }
            frame::ERROR => return Err(String::from_utf8_lossy(&payload).into_owned()),
            kind => return Err(format!("unexpected frame kind {kind}")),
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
