//! The keeper process (`ops __keeper DIR BUILD`): one per user and build
//! of ops, holding kept connections for as long as runs use them.
//!
//! It closes every descriptor it inherited, takes the build's lock in DIR
//! (or leaves: another keeper of this build runs), replaces a dead
//! keeper's socket, listens with mode 0600, and answers only peers of its
//! own uid. It exits when it holds no connection and nobody has talked to
//! it for [`LINGER`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use super::place;
use super::pool::Pool;
use super::protocol::{self, Refusal, Reply, Request};

/// How long a keeper with no connection waits for a run before it exits.
const LINGER: Duration = Duration::from_secs(5);
/// How often idle and dead connections are looked for.
const SWEEP: Duration = Duration::from_millis(500);
/// How long a peer may take to send its request.
const REQUEST_WITHIN: Duration = Duration::from_secs(10);

struct Keeper {
    build: String,
    pool: Pool,
    config: Arc<russh::server::Config>,
    started: Instant,
    /// Milliseconds since `started` of the last request, or of the last
    /// lease's end.
    last_seen: AtomicU64,
    /// Leases being served.
    leases: AtomicU64,
    /// `ops connection stop` closed everything: leave without lingering.
    stopped: std::sync::atomic::AtomicBool,
}

impl Keeper {
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_seen.store(now, Ordering::SeqCst);
    }

    fn idle_for(&self) -> Duration {
        let seen = Duration::from_millis(self.last_seen.load(Ordering::SeqCst));
        self.started.elapsed().saturating_sub(seen)
    }
}

/// `ops __keeper DIR BUILD`: runs until there is nothing to keep.
pub fn main(args: &[std::ffi::OsString]) -> ExitCode {
    close_inherited();
    let (Some(dir), Some(build)) = (args.first(), args.get(1)) else {
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let build = build.to_string_lossy().into_owned();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => return ExitCode::from(1),
    };
    match runtime.block_on(serve(&dir, build)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// One line in the keeper's log (its stderr, `keeper-BUILD.log`), with
/// the time: what it kept, reused and closed, and why.
pub fn log(line: impl AsRef<str>) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    eprintln!("{secs} keeper {}: {}", std::process::id(), line.as_ref());
}

/// Closes every descriptor but stdin, stdout and stderr: whatever the run
/// that started the keeper inherited without close-on-exec (a CI job's
/// pipe, a make jobserver) must not be held open by a process that
/// outlives it.
fn close_inherited() {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: closing descriptors this process inherited and has not
        // handed to anything yet (nothing else runs this early); the one
        // `read_dir` used is closed already, and closing it again fails
        // harmlessly.
        unsafe { libc::close(fd) };
    }
}

async fn serve(dir: &Path, build: String) -> std::io::Result<()> {
    place::check_directory(dir)?;
    if place::build_id()? != build {
        // Started by another build that the executable was replaced
        // under: its runs will not find this keeper.
        return Ok(());
    }
    let Some(_lock) = place::lock(dir, &build)? else {
        return Ok(());
    };
    let socket = place::socket(dir, &build)?;
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let keeper = Arc::new(Keeper {
        build,
        pool: Pool::default(),
        config: Arc::new(server_config()?),
        started: Instant::now(),
        last_seen: AtomicU64::new(0),
        leases: AtomicU64::new(0),
        stopped: std::sync::atomic::AtomicBool::new(false),
    });
    let own_uid = place::own_uid();
    let mut sweep = tokio::time::interval(SWEEP);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // Whoever else reached the socket (root, or a directory
                // opened up behind our back) gets nothing, not even an
                // answer.
                if !stream.peer_cred().is_ok_and(|peer| peer.uid() == own_uid) {
                    log(format!("refused a peer of another user: {:?}", stream.peer_cred().ok()));
                    continue;
                }
                keeper.touch();
                tokio::spawn(answer(keeper.clone(), stream));
            }
            _ = sweep.tick() => {
                keeper.pool.expire().await;
                let busy = keeper.leases.load(Ordering::SeqCst) > 0;
                let done = keeper.stopped.load(Ordering::SeqCst) || keeper.idle_for() >= LINGER;
                if !busy && keeper.pool.is_empty() && done {
                    break;
                }
            }
        }
    }
    // Runs arriving now find no socket and start a keeper of their own.
    let _ = std::fs::remove_file(&socket);
    log("nothing kept and nobody asking: exiting");
    Ok(())
}

/// Answers one peer's request.
async fn answer(keeper: Arc<Keeper>, mut stream: UnixStream) {
    let request: Option<Request> = {
        let mut buffered = tokio::io::BufReader::new(&mut stream);
        let line = protocol::read_line(&mut buffered, REQUEST_WITHIN).await;
        // A peer that sent more than its request before the answer does not
        // speak this protocol.
        match line {
            Ok(line) if buffered.buffer().is_empty() => serde_json::from_slice(&line).ok(),
            _ => None,
        }
    };
    let reply = match request {
        Some(Request::Status) => Reply::Status {
            build: keeper.build.clone(),
            pid: std::process::id(),
            connections: keeper.pool.status(),
        },
        Some(Request::Stop { dest }) => {
            keeper.stopped.store(dest.is_none(), Ordering::SeqCst);
            Reply::Stopped {
                closed: keeper.pool.stop(dest.as_deref()).await,
            }
        }
        Some(Request::Lease { build, .. }) if build != keeper.build => Reply::Refused {
            why: Refusal::Other,
            message: format!(
                "it is another build of ops ({build} asked, {})",
                keeper.build
            ),
        },
        Some(Request::Lease { resolved, idle, .. }) => {
            keeper.stopped.store(false, Ordering::SeqCst);
            keeper.leases.fetch_add(1, Ordering::SeqCst);
            let idle = idle.map(Duration::from_secs);
            let config = keeper.config.clone();
            super::lease::serve(&keeper.pool, config, stream, &resolved, idle).await;
            keeper.leases.fetch_sub(1, Ordering::SeqCst);
            keeper.touch();
            return;
        }
        None => Reply::Refused {
            why: Refusal::Other,
            message: "it could not read the request".into(),
        },
    };
    let _ = protocol::write_json(&mut stream, &reply).await;
    let _ = stream.shutdown().await;
}

/// The keeper's side of a run's link: a host key made for this keeper
/// alone (the run checks the socket's uid instead), "none" authentication
/// (after the uid check), and no inactivity timeout: a build may print
/// nothing for an hour.
fn server_config() -> std::io::Result<russh::server::Config> {
    let mut seed = [0u8; 32];
    let random = hex::decode(crate::text::random_hex(32)).map_err(std::io::Error::other)?;
    seed.copy_from_slice(&random);
    let key = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let mut methods = russh::MethodSet::empty();
    methods.push(russh::MethodKind::None);
    Ok(russh::server::Config {
        methods,
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![russh::keys::PrivateKey::from(key)],
        inactivity_timeout: None,
        keepalive_interval: None,
        ..Default::default()
    })
}
