//! The run's side of the keeper: lease a kept connection (starting the
//! keeper when there is none), or say in one line why not and let the run
//! connect directly; and `ops connection status` and `stop`.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;

use super::persist::Keep;
use super::place;
use super::protocol::{self, Refusal, Reply, Request};
use super::spawn;
use crate::output::Printer;
use crate::ssh::{KeeperLink, Resolved, Session, SshError};

pub use super::protocol::ConnectionInfo;

/// How long a new keeper may take to answer on its socket.
const READY_WITHIN: Duration = Duration::from_secs(2);
/// How long a kept connection may take to open a run's first channels
/// (one round trip on a live path): past it, the path is taken as frozen.
const FIRST_CHANNELS_WITHIN: Duration = Duration::from_secs(3);
/// How long the keeper may take to answer anything but a new connection.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// What became of the lease.
pub enum Leased {
    Session(Session),
    /// No kept connection; `Some` is the one line saying why, for the user.
    Direct(Option<String>),
}

/// A session over a kept connection for `resolved`, kept `keep` after the
/// run; a node that cannot be reached is an error, as it would be
/// directly.
pub async fn lease(resolved: &Resolved, keep: Keep, printer: &Printer) -> Result<Leased, SshError> {
    match try_lease(resolved, keep, printer).await {
        Ok(session) => Ok(Leased::Session(session)),
        Err(Fallback::Quiet) => Ok(Leased::Direct(None)),
        Err(Fallback::Say(why)) => Ok(Leased::Direct(Some(why))),
        Err(Fallback::Fail(error)) => Err(error),
    }
}

enum Fallback {
    /// Connect directly, which reports the node's own answer.
    Quiet,
    /// Connect directly, saying why.
    Say(String),
    /// Do not: the node is unreachable either way.
    Fail(SshError),
}

impl From<io::Error> for Fallback {
    fn from(error: io::Error) -> Fallback {
        Fallback::Say(error.to_string())
    }
}

async fn try_lease(
    resolved: &Resolved,
    keep: Keep,
    printer: &Printer,
) -> Result<Session, Fallback> {
    let dir = place::directory()?;
    let build = place::build_id()?;
    let socket = place::socket(&dir, &build)?;
    let request = Request::Lease {
        build: build.clone(),
        resolved: Box::new(resolved.clone()),
        idle: keep.seconds(),
    };
    // No keeper, or one found exiting at its idle time (it closes the
    // socket on us): a new one is started, once. A keeper that takes too
    // long is not asked twice.
    let within = reply_within(resolved);
    let (stream, reply) = match lease_exchange(&socket, &request, within).await {
        Ok(answered) => answered,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(e.into()),
        Err(_) => {
            spawn::start(&dir, &build)?;
            wait_ready(&socket).await?;
            lease_exchange(&socket, &request, within).await?
        }
    };
    let (round_trips, agent_forwarded_before) = match reply {
        Reply::Leased {
            round_trips,
            learned,
            agent_forwarded_before,
        } => {
            for learned in &learned {
                printer.warn(learned.message());
            }
            (round_trips, agent_forwarded_before)
        }
        Reply::Refused { why, message } => return Err(refused(why, message, resolved)),
        _ => return Err(Fallback::Say("it answered something else".into())),
    };
    let mut link = KeeperLink::open(stream, resolved)
        .await
        .map_err(Fallback::Say)?;
    link.round_trips = round_trips;
    link.agent_forwarded_before = agent_forwarded_before;
    Session::over_keeper(link, FIRST_CHANNELS_WITHIN)
        .await
        .map_err(Fallback::Say)
}

/// Sends a lease request to the keeper at `socket` and reads its answer;
/// the stream goes on with SSH after a lease.
async fn lease_exchange(
    socket: &Path,
    request: &Request,
    within: Duration,
) -> io::Result<(UnixStream, Reply)> {
    let mut stream = ask(socket, request).await?;
    let reply = protocol::read_json(&mut stream, within).await?;
    Ok((stream, reply))
}

/// Connects to the keeper at `socket`, checks it is ours, and sends
/// `request`.
async fn ask(socket: &Path, request: &Request) -> io::Result<UnixStream> {
    let mut stream = UnixStream::connect(socket).await?;
    let peer = stream.peer_cred()?;
    if peer.uid() != place::own_uid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is served by uid {}, not ours",
                socket.display(),
                peer.uid()
            ),
        ));
    }
    protocol::write_json(&mut stream, request).await?;
    Ok(stream)
}

async fn wait_ready(socket: &Path) -> io::Result<()> {
    let since = Instant::now();
    loop {
        if UnixStream::connect(socket).await.is_ok() {
            return Ok(());
        }
        if since.elapsed() > READY_WITHIN {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("it did not start within {}s", READY_WITHIN.as_secs()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long a lease's answer may take: a new connection through every hop,
/// each within its `ConnectTimeout`, and some.
fn reply_within(resolved: &Resolved) -> Duration {
    let connects: Duration = resolved
        .hops
        .iter()
        .chain(std::iter::once(&resolved.host))
        .map(|h| h.connect_timeout)
        .sum();
    connects + ANSWER_WITHIN
}

fn refused(why: Refusal, message: String, resolved: &Resolved) -> Fallback {
    match why {
        Refusal::HostKey => Fallback::Quiet,
        Refusal::Auth => Fallback::Say(format!(
            "it could not log in as {} (it cannot ask for a passphrase; ssh-add the key for \
             persistence)",
            resolved.label()
        )),
        Refusal::Unreachable => Fallback::Fail(SshError::Relayed { message }),
        Refusal::Other => Fallback::Say(message),
    }
}

/// What one keeper said about its connections.
#[derive(Debug, Clone)]
pub struct KeeperStatus {
    pub build: String,
    pub pid: u32,
    /// Whether it is this build's keeper (the only one runs use).
    pub current: bool,
    pub connections: Vec<ConnectionInfo>,
}

/// The status of every keeper of this user (any build) that answers.
pub async fn status() -> io::Result<Vec<KeeperStatus>> {
    let Some((dir, build)) = existing_place()? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for socket in place::sockets(&dir) {
        if let Ok(Reply::Status {
            build: theirs,
            pid,
            connections,
        }) = exchange(&socket, &Request::Status).await
        {
            found.push(KeeperStatus {
                current: theirs == build,
                build: theirs,
                pid,
                connections,
            });
        }
    }
    Ok(found)
}

/// Closes the kept connections to `dest` (all without one) in every keeper
/// of this user; the destinations closed.
pub async fn stop(dest: Option<&str>) -> io::Result<Vec<String>> {
    let Some((dir, _)) = existing_place()? else {
        return Ok(Vec::new());
    };
    let request = Request::Stop {
        dest: dest.map(str::to_owned),
    };
    let mut closed = Vec::new();
    for socket in place::sockets(&dir) {
        if let Ok(Reply::Stopped { closed: these }) = exchange(&socket, &request).await {
            closed.extend(these);
        }
    }
    Ok(closed)
}

/// The keeper directory and this build's id, if the directory exists
/// (status and stop never make one).
fn existing_place() -> io::Result<Option<(std::path::PathBuf, String)>> {
    let dir = place::path();
    if !dir.exists() {
        return Ok(None);
    }
    place::check_directory(&dir)?;
    Ok(Some((dir, place::build_id()?)))
}

async fn exchange(socket: &Path, request: &Request) -> io::Result<Reply> {
    let mut stream = UnixStream::connect(socket).await?;
    if stream.peer_cred()?.uid() != place::own_uid() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "not ours"));
    }
    protocol::write_json(&mut stream, request).await?;
    protocol::read_json(&mut stream, ANSWER_WITHIN).await
}
