//! The ops side of the relay: a Unix socket in a private directory whose
//! connections become commands on the node.
//!
//! A connection runs commands as the node user, so only this user's own
//! programs may make one: the directory is 0700 and the socket 0600
//! whatever the umask, a peer whose uid (`SO_PEERCRED`) is not ours is
//! turned away, and the socket exists only while the step that asked for
//! it runs ([`RemoteShell::release`]).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::frame::{self, Frame, RelayCodec};
use super::RELAY_ARG;
use crate::remote::{
    ChannelReader, OutputSink, RemoteCommand, RemoteError, RemoteNode, RemoteShell, Stdin,
};

/// The run's relay, started on first use by a local program that needs a
/// remote shell (rsync), stopped by [`Relay::stop`] or on drop.
pub struct Relay {
    node: Arc<dyn RemoteNode>,
    server: Mutex<Option<RelayServer>>,
}

impl Relay {
    pub fn new(node: Arc<dyn RemoteNode>) -> Relay {
        Relay {
            node,
            server: Mutex::new(None),
        }
    }

    /// Stops listening and removes the socket's directory.
    pub fn stop(&self) {
        let server = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(server);
    }
}

impl RemoteShell for Relay {
    fn program_line(&self) -> Result<String, RemoteError> {
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let server = match &mut *server {
            Some(server) => server,
            empty => empty.insert(RelayServer::start(self.node.clone()).map_err(|e| {
                RemoteError::InvalidRequest(format!("cannot start the local relay for rsync: {e}"))
            })?),
        };
        server
            .program_line()
            .map_err(|e| RemoteError::InvalidRequest(format!("cannot name the relay program: {e}")))
    }

    fn release(&self) {
        self.stop();
    }
}

/// Listens while it lives; the socket's directory is removed on drop.
struct RelayServer {
    socket: PathBuf,
    accept: JoinHandle<()>,
    // Owned so that the directory goes away with the server.
    _dir: tempfile::TempDir,
}

impl RelayServer {
    fn start(node: Arc<dyn RemoteNode>) -> io::Result<RelayServer> {
        // rsync splits its -e string on whitespace, so the socket path must
        // have none; /tmp is the fallback for an odd TMPDIR.
        let tmp = std::env::temp_dir();
        let base = if tmp.to_string_lossy().contains(char::is_whitespace) {
            PathBuf::from("/tmp")
        } else {
            tmp
        };
        // Created 0700 (the umask can only take bits away), then set to
        // exactly that: the umask must not leave it open to others, nor
        // closed to us.
        let private = fs::Permissions::from_mode(0o700);
        let dir = tempfile::Builder::new()
            .prefix("ops-relay-")
            .permissions(private.clone())
            .tempdir_in(base)?;
        fs::set_permissions(dir.path(), private)?;
        let own_uid = fs::metadata(dir.path())?.uid();
        let socket = dir.path().join("s");
        let listener = UnixListener::bind(&socket)?;
        fs::set_permissions(&socket, fs::Permissions::from_mode(0o600))?;
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Whoever else reached the socket (root, or a directory
                // opened up behind our back) gets nothing.
                if !stream.peer_cred().is_ok_and(|peer| peer.uid() == own_uid) {
                    continue;
                }
                let node = node.clone();
                tokio::spawn(async move {
                    // A failed connection is reported to its client (ERROR
                    // frame) or shows up as the client's own error.
                    let _ = serve(stream, node).await;
                });
            }
        });
        Ok(RelayServer {
            socket,
            accept,
            _dir: dir,
        })
    }

    /// The program line to give rsync as `-e`.
    fn program_line(&self) -> io::Result<String> {
        let exe = std::env::current_exe()?;
        let exe = exe.to_string_lossy();
        if exe.contains(char::is_whitespace) {
            return Err(io::Error::other(format!(
                "the ops executable's path {exe:?} contains whitespace, which rsync's -e cannot carry"
            )));
        }
        Ok(format!("{exe} {RELAY_ARG} {}", self.socket.display()))
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(stream: UnixStream, node: Arc<dyn RemoteNode>) -> io::Result<()> {
    let (rd, wr) = stream.into_split();
    let mut frames_in = FramedRead::new(rd, RelayCodec::default());
    let mut frames_out = FramedWrite::new(wr, RelayCodec::default());
    let words = match frames_in.next().await.transpose()? {
        Some(Frame {
            kind: frame::COMMAND,
            payload,
        }) => String::from_utf8(payload.to_vec())
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
        while let Some(Ok(frame)) = frames_in.next().await {
            if frame.kind != frame::STDIN || in_tx.send(frame.payload.to_vec()).await.is_err() {
                break;
            }
        }
        // Dropping the sender is the remote command's end of file.
    });

    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Frame>();
    let downstream = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if frames_out.send(frame).await.is_err() {
                break;
            }
        }
        let _ = frames_out.close().await;
    });

    let mut sink = FrameSink { tx: out_tx.clone() };
    let result = node
        .run(
            &command,
            Stdin::Stream(Box::new(ChannelReader::new(in_rx))),
            &mut sink,
        )
        .await;
    let last = match result {
        Ok(exit) => Frame::new(frame::EXIT, exit.shell_code().to_be_bytes().to_vec()),
        Err(e) => Frame::new(frame::ERROR, e.to_string()),
    };
    let _ = out_tx.send(last);
    drop(sink);
    drop(out_tx);
    let _ = downstream.await;
    upstream.abort();
    Ok(())
}

struct FrameSink {
    tx: mpsc::UnboundedSender<Frame>,
}

impl FrameSink {
    fn send(&self, kind: u8, chunk: &[u8]) {
        for piece in chunk.chunks(frame::MAX_PAYLOAD) {
            let _ = self.tx.send(Frame::new(kind, piece.to_vec()));
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
