//! The ops side of the relay: a Unix socket in a private directory whose
//! connections become commands on the SSH session.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::frame;
use crate::remote::{OutputSink, RemoteCommand, RemoteExit};
use crate::ssh::{ChannelReader, Session, Stdin};

/// Listens while it lives; the socket's directory is removed on drop.
pub struct RelayServer {
    socket: PathBuf,
    accept: JoinHandle<()>,
    // Owned so that the directory (0700, created by tempfile) goes away
    // with the server.
    _dir: tempfile::TempDir,
}

impl RelayServer {
    pub fn start(session: Session) -> io::Result<RelayServer> {
        // rsync splits its -e string on whitespace, so the socket path must
        // have none; /tmp is the fallback for an odd TMPDIR.
        let tmp = std::env::temp_dir();
        let base = if tmp.to_string_lossy().contains(char::is_whitespace) {
            PathBuf::from("/tmp")
        } else {
            tmp
        };
        let dir = tempfile::Builder::new()
            .prefix("ops-relay-")
            .tempdir_in(base)?;
        let socket = dir.path().join("s");
        let listener = UnixListener::bind(&socket)?;
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = session.clone();
                tokio::spawn(async move {
                    // A failed connection is reported to its client (ERROR
                    // frame) or shows up as the client's own error.
                    let _ = serve(stream, session).await;
                });
            }
        });
        Ok(RelayServer {
            socket,
            accept,
            _dir: dir,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The program line to give rsync as `-e`.
    pub fn remote_shell(&self) -> io::Result<String> {
        let exe = std::env::current_exe()?;
        let exe = exe.to_string_lossy();
        if exe.contains(char::is_whitespace) {
            return Err(io::Error::other(format!(
                "the ops executable's path {exe:?} contains whitespace, which rsync's -e cannot carry"
            )));
        }
        Ok(format!(
            "{exe} {} {}",
            crate::cli::RELAY_ARG,
            self.socket.display()
        ))
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    match stream.read_exact(&mut header[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    stream.read_exact(&mut header[1..]).await?;
    let len = frame::payload_len(&header)?;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    Ok(Some((header[0], payload)))
}

async fn serve(stream: UnixStream, session: Session) -> io::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let words = match read_frame(&mut rd).await? {
        Some((frame::COMMAND, bytes)) => String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "command is not UTF-8"))?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "expected a command frame",
            ))
        }
    };
    // Exactly what ssh does with `ssh host WORDS...`: join with spaces and
    // let the remote shell parse the line. rsync escapes its arguments for
    // that shell, so running them through one is what keeps them intact.
    let line = words.split('\0').collect::<Vec<_>>().join(" ");
    let command = RemoteCommand::new("sh").args(["-c", line.as_str()]);

    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(16);
    let upstream = tokio::spawn(async move {
        while let Ok(Some((kind, bytes))) = read_frame(&mut rd).await {
            match kind {
                frame::STDIN => {
                    if in_tx.send(bytes).await.is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        // Dropping the sender is the remote command's end of file.
    });

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let downstream = tokio::spawn(async move {
        while let Some(buf) = out_rx.recv().await {
            if wr.write_all(&buf).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });

    let mut sink = FrameSink { tx: out_tx.clone() };
    let result = session
        .run(
            &command,
            Stdin::Stream(Box::new(ChannelReader::new(in_rx))),
            &mut sink,
        )
        .await;
    let last = match result {
        Ok(exit) => frame::encode(frame::EXIT, &exit_code(&exit).to_be_bytes()),
        Err(e) => frame::encode(frame::ERROR, e.to_string().as_bytes()),
    };
    let _ = out_tx.send(last);
    drop(sink);
    drop(out_tx);
    let _ = downstream.await;
    upstream.abort();
    Ok(())
}

fn exit_code(exit: &RemoteExit) -> i32 {
    exit.shell_code()
}

struct FrameSink {
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

impl FrameSink {
    fn send(&self, kind: u8, chunk: &[u8]) {
        for piece in chunk.chunks(frame::MAX_PAYLOAD) {
            let _ = self.tx.send(frame::encode(kind, piece));
        }
    }
}

impl OutputSink for FrameSink {
    fn stdout(&mut self, chunk: &[u8]) {
        self.send(frame::STDOUT, chunk);
    }

    fn stderr(&mut self, chunk: &[u8]) {
        self.send(frame::STDERR, chunk);
    }
}
