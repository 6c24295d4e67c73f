//! The keeper's connections: each keyed by everything that resolved it,
//! each leased to one run at a time, closed when idle past its time or
//! dead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::bridge::LesseeRoute;
use super::protocol::ConnectionInfo;
use crate::ssh::Upstream;

/// One kept connection.
pub struct Kept {
    /// [`Resolved::key`](crate::ssh::Resolved::key) of what made it.
    pub key: String,
    pub destination: String,
    pub upstream: Upstream,
    /// Where the node's requests to reach an agent go: the lessee.
    pub route: Arc<LesseeRoute>,
    made: Instant,
    leased: AtomicBool,
    leases: AtomicU64,
    /// Some run on it had the agent forwarded: sshd keeps the socket.
    pub agent_forwarded: AtomicBool,
    /// Since when it is idle, and for how long it may stay so (`None`: no
    /// limit).
    idle: Mutex<(Instant, Option<Duration>)>,
}

impl Kept {
    pub fn new(
        key: String,
        destination: String,
        upstream: Upstream,
        route: Arc<LesseeRoute>,
    ) -> Arc<Kept> {
        Arc::new(Kept {
            key,
            destination,
            upstream,
            route,
            made: Instant::now(),
            leased: AtomicBool::new(true),
            leases: AtomicU64::new(1),
            agent_forwarded: AtomicBool::new(false),
            idle: Mutex::new((Instant::now(), None)),
        })
    }

    fn idle(&self) -> MutexGuard<'_, (Instant, Option<Duration>)> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn info(&self) -> ConnectionInfo {
        let leased = self.leased.load(Ordering::SeqCst);
        ConnectionInfo {
            destination: self.destination.clone(),
            age_secs: self.made.elapsed().as_secs(),
            idle_secs: if leased {
                0
            } else {
                self.idle().0.elapsed().as_secs()
            },
            leases: self.leases.load(Ordering::SeqCst),
            leased,
        }
    }

    /// Whether `dest` names it: as status shows it, or by host name, with
    /// or without the user.
    fn named(&self, dest: &str) -> bool {
        if self.destination == dest {
            return true;
        }
        let (user, host) = self
            .destination
            .split_once('@')
            .unwrap_or(("", &self.destination));
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.split_once(']'))
            .map_or(host, |(h, _)| h);
        dest == bare || dest == format!("{user}@{bare}")
    }
}

#[derive(Default)]
pub struct Pool {
    kept: Mutex<Vec<Arc<Kept>>>,
}

impl Pool {
    fn kept(&self) -> MutexGuard<'_, Vec<Arc<Kept>>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection with this key, now leased.
    pub fn take(&self, key: &str) -> Option<Arc<Kept>> {
        let kept = self.kept();
        let found = kept
            .iter()
            .find(|k| k.key == key && !k.leased.load(Ordering::SeqCst))?;
        found.leased.store(true, Ordering::SeqCst);
        found.leases.fetch_add(1, Ordering::SeqCst);
        Some(found.clone())
    }

    /// A new connection, leased by the run that asked for it.
    pub fn add(&self, kept: Arc<Kept>) {
        self.kept().push(kept);
    }

    /// The run using `kept` ended in order: idle now, for at most `limit`.
    pub fn give_back(&self, kept: &Kept, limit: Option<Duration>) {
        *kept.idle() = (Instant::now(), limit);
        kept.leased.store(false, Ordering::SeqCst);
    }

    /// Takes `kept` out and closes it.
    pub async fn close(&self, kept: &Arc<Kept>) {
        self.kept().retain(|k| !Arc::ptr_eq(k, kept));
        kept.upstream.disconnect().await;
    }

    /// Closes the idle connections past their time and the dead ones that
    /// no run holds.
    pub async fn expire(&self) {
        let done: Vec<Arc<Kept>> = self
            .kept()
            .iter()
            .filter(|k| {
                let leased = k.leased.load(Ordering::SeqCst);
                let (since, limit) = *k.idle();
                !leased && (k.upstream.is_closed() || limit.is_some_and(|l| since.elapsed() >= l))
            })
            .cloned()
            .collect();
        for kept in done {
            let why = if kept.upstream.is_closed() {
                "the connection is gone"
            } else {
                "idle past its time"
            };
            super::server::log(format!("{}: closed: {why}", kept.destination));
            self.close(&kept).await;
        }
    }

    /// Closes the connections `dest` names (all of them without one), as
    /// `ssh -O exit` closes a master: a run holding one loses its
    /// connection, and its work on the node is stopped. Their
    /// destinations.
    pub async fn stop(&self, dest: Option<&str>) -> Vec<String> {
        let chosen: Vec<Arc<Kept>> = self
            .kept()
            .iter()
            .filter(|k| dest.is_none_or(|d| k.named(d)))
            .cloned()
            .collect();
        let mut closed = Vec::new();
        for kept in chosen {
            closed.push(kept.destination.clone());
            self.close(&kept).await;
        }
        closed
    }

    pub fn status(&self) -> Vec<ConnectionInfo> {
        self.kept().iter().map(|k| k.info()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.kept().is_empty()
    }
}
