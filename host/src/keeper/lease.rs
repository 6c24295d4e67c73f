//! One run's lease in the keeper: find or make the connection, check its
//! host keys again, serve the run SSH over it, and afterwards keep the
//! connection (the run ended in order) or close it (anything else).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixStream;

use super::bridge::{LeaseHandler, LeaseState, LesseeRoute};
use super::pool::{Kept, Pool};
use super::protocol::{self, Refusal, Reply};
use crate::ssh::{Learned, Resolved, Upstream};

/// How long the run's channels get to wind down after its link closed.
const DRAIN_WITHIN: Duration = Duration::from_secs(2);

/// A found or new connection for one lease.
struct Found {
    kept: Arc<Kept>,
    round_trips: u64,
    learned: Vec<Learned>,
}

pub async fn serve(
    pool: &Pool,
    config: Arc<russh::server::Config>,
    mut stream: UnixStream,
    resolved: &Resolved,
    idle: Option<Duration>,
) {
    let found = match find(pool, resolved).await {
        Ok(found) => found,
        Err(refused) => {
            let _ = protocol::write_json(&mut stream, &refused).await;
            return;
        }
    };
    let kept = found.kept;
    super::server::log(format!(
        "{}: leased ({})",
        kept.destination,
        if found.round_trips == 0 {
            "kept"
        } else {
            "new"
        }
    ));
    let reply = Reply::Leased {
        round_trips: found.round_trips,
        learned: found.learned,
        agent_forwarded_before: kept
            .agent_forwarded
            .load(std::sync::atomic::Ordering::SeqCst),
    };
    let in_order = match protocol::write_json(&mut stream, &reply).await {
        Ok(()) => run(config, stream, &kept).await,
        Err(_) => true,
    };
    kept.route.set(None);
    if in_order && !kept.upstream.is_closed() {
        super::server::log(format!("{}: run ended in order; kept", kept.destination));
        pool.give_back(&kept, idle);
    } else {
        super::server::log(format!(
            "{}: run ended with channels open, or the connection is gone; closed",
            kept.destination
        ));
        pool.close(&kept).await;
    }
}

/// An idle kept connection for `resolved` whose host keys are still
/// accepted, else a new one.
async fn find(pool: &Pool, resolved: &Resolved) -> Result<Found, Reply> {
    let key = resolved.key();
    while let Some(kept) = pool.take(&key) {
        if kept.upstream.is_closed() {
            pool.close(&kept).await;
            continue;
        }
        match kept.upstream.recheck(resolved) {
            Ok(learned) => {
                return Ok(Found {
                    kept,
                    round_trips: 0,
                    learned,
                })
            }
            // Never reused: a new connection shows the refusal.
            Err(error) => {
                super::server::log(format!("{}: not reused: {error}", kept.destination));
                pool.close(&kept).await
            }
        }
    }
    let route = Arc::new(LesseeRoute::default());
    match Upstream::establish_routed(resolved, route.clone()).await {
        Ok(mut upstream) => {
            let learned = std::mem::take(&mut upstream.learned);
            let round_trips = upstream.round_trips;
            let kept = Kept::new(key, resolved.label(), upstream, route);
            pool.add(kept.clone());
            Ok(Found {
                kept,
                round_trips,
                learned,
            })
        }
        Err(error) => Err(Reply::Refused {
            why: Refusal::of(&error),
            message: error.to_string(),
        }),
    }
}

/// Serves the run SSH on `stream` until its link ends; whether it ended in
/// order.
async fn run(config: Arc<russh::server::Config>, stream: UnixStream, kept: &Arc<Kept>) -> bool {
    let state = Arc::new(LeaseState::default());
    let handler = LeaseHandler {
        kept: kept.clone(),
        state: state.clone(),
    };
    let session = match russh::server::run_stream(config, stream, handler).await {
        Ok(session) => session,
        Err(_) => return false,
    };
    kept.route.set(Some(session.handle()));
    let watch = watch_node(kept.clone(), session.handle());
    // However the link ended (a disconnect, the socket closed), the
    // channels say whether the run closed what it opened.
    let _ = session.await;
    watch.abort();
    state.orderly(DRAIN_WITHIN).await
}

/// Ends the run's link when the kept connection dies under it, so that the
/// run sees its connection lost instead of channels that never answer.
fn watch_node(kept: Arc<Kept>, run: russh::server::Handle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !kept.upstream.is_closed() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = run
            .disconnect(
                russh::Disconnect::ConnectionLost,
                "the connection to the node was lost".into(),
                "en".into(),
            )
            .await;
    })
}
