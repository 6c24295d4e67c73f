//! What a run and the keeper say before SSH: one JSON line each way. A
//! lease's answer is followed, on the same socket, by SSH with the keeper
//! as the server; so lines are read a byte at a time, never past their
//! newline.

use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::ssh::{Learned, Resolved, SshError};

/// The longest line either side reads.
const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// A connection for one run, kept `idle` seconds after it (`None`: for
    /// ever). `build` must be the keeper's own.
    Lease {
        build: String,
        resolved: Box<Resolved>,
        idle: Option<u64>,
    },
    Status,
    /// Close the kept connections to `dest`, or all of them.
    Stop {
        dest: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// SSH follows on the socket.
    Leased {
        /// Round trips the keeper spent making the connection (0: kept).
        round_trips: u64,
        learned: Vec<Learned>,
        agent_forwarded_before: bool,
    },
    Refused {
        why: Refusal,
        message: String,
    },
    Status {
        build: String,
        pid: u32,
        connections: Vec<ConnectionInfo>,
    },
    Stopped {
        closed: Vec<String>,
    },
}

/// Why the keeper has no connection for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The node's host key was refused: a direct connection says how.
    HostKey,
    /// Authentication failed in the keeper (it cannot ask a passphrase).
    Auth,
    /// The node cannot be reached: a direct connection would not either.
    Unreachable,
    /// Anything else (another build, a bad request, the keeper's own
    /// fault).
    Other,
}

impl Refusal {
    pub fn of(error: &SshError) -> Refusal {
        match error {
            SshError::UnknownHostKey { .. }
            | SshError::HostKeyMismatch { .. }
            | SshError::HostKeyRevoked { .. }
            | SshError::HostCertificate { .. }
            | SshError::BadPin { .. }
            | SshError::KnownHosts { .. } => Refusal::HostKey,
            SshError::Auth { .. } => Refusal::Auth,
            SshError::Connect { .. } | SshError::Timeout { .. } => Refusal::Unreachable,
            _ => Refusal::Other,
        }
    }
}

/// One kept connection, as `ops connection status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// `user@host` or `user@[host]:port`.
    pub destination: String,
    pub age_secs: u64,
    /// Since the last run using it ended (0 while a run holds it).
    pub idle_secs: u64,
    /// Runs it has served.
    pub leases: u64,
    pub leased: bool,
}

/// Reads one line (without its newline) within `deadline`.
pub async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut R,
    deadline: Duration,
) -> io::Result<Vec<u8>> {
    let read = async {
        let mut line = Vec::new();
        loop {
            let byte = reader.read_u8().await?;
            if byte == b'\n' {
                return Ok(line);
            }
            if line.len() >= MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            line.push(byte);
        }
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))?
}

/// Reads one JSON line within `deadline`.
pub async fn read_json<R, T>(reader: &mut R, deadline: Duration) -> io::Result<T>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let line = read_line(reader, deadline).await?;
    serde_json::from_slice(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes `value` as one JSON line.
pub async fn write_json<W: AsyncWrite + Unpin, T: Serialize>(
    writer: &mut W,
    value: &T,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await
}
