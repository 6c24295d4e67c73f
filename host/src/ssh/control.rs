//! The connection's channels and the remote process groups running on
//! them.
//!
//! At most [`MAX_CHANNELS`] command channels are open at once, plus up to
//! [`CONTROL_CHANNELS`] short control channels (killing process groups),
//! staying under OpenSSH's default `MaxSessions 10`. Every channel is
//! closed explicitly: russh does not close on drop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use russh::client::{Handle, Msg};
use russh::ChannelMsg;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::connect::ClientHandler;
use super::wrapper;
use crate::remote::RemoteError;

/// Command channels open at once.
pub const MAX_CHANNELS: usize = 8;
/// Command channels opened ahead of need (within [`MAX_CHANNELS`]): a
/// command then finds its channel open instead of waiting a round trip for
/// it. Five: a run's first commands all go out at once (the reaper, the
/// build lock, the scratch guardian, the sync and the registry login), and
/// so, later, do the default example's three images.
const READY_CHANNELS: usize = 5;
/// Extra channels for kill commands.
pub const CONTROL_CHANNELS: usize = 2;
/// How long a stopped command gets between TERM and KILL, in tenths of a
/// second.
const KILL_GRACE_TENTHS: u32 = 30;

/// A command channel and its slot.
pub(super) type CommandChannel = (OwnedSemaphorePermit, russh::Channel<Msg>);

/// Opens channels within the limits above.
pub(super) struct Channels {
    handle: Handle<ClientHandler>,
    commands: Arc<Semaphore>,
    control: Semaphore,
    ready: Mutex<Vec<CommandChannel>>,
    opening: AtomicUsize,
    /// Set when the session closes: no more channels are opened ahead.
    closing: AtomicBool,
}

impl Channels {
    pub(super) fn new(handle: Handle<ClientHandler>) -> Channels {
        Channels {
            handle,
            commands: Arc::new(Semaphore::new(MAX_CHANNELS)),
            control: Semaphore::new(CONTROL_CHANNELS),
            ready: Mutex::new(Vec::new()),
            opening: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
        }
    }

    /// A channel opened ahead of need, if one is ready.
    pub(super) fn take_ready(&self) -> Option<CommandChannel> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Whether a channel opened ahead of need is waiting.
    pub(super) fn has_ready(&self) -> bool {
        !self
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Opens channels ahead of need until [`READY_CHANNELS`] are ready or
    /// under way, as far as free command slots allow; their opens go out
    /// together instead of one round trip each. True if it opened any.
    pub(super) async fn fill(&self) -> bool {
        let mut opens = Vec::new();
        loop {
            if self.closing.load(Ordering::SeqCst) {
                break;
            }
            let ready = self.ready.lock().unwrap_or_else(|p| p.into_inner()).len();
            if ready + self.opening.load(Ordering::SeqCst) >= READY_CHANNELS {
                break;
            }
            let Ok(permit) = self.commands.clone().try_acquire_owned() else {
                break;
            };
            self.opening.fetch_add(1, Ordering::SeqCst);
            opens.push(async move {
                let opened = self.open().await;
                self.opening.fetch_sub(1, Ordering::SeqCst);
                match opened {
                    // Opened while the session closed: nobody will use it.
                    Ok(channel) if self.closing.load(Ordering::SeqCst) => {
                        let _ = channel.close().await;
                    }
                    Ok(channel) => {
                        let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
                        ready.push((permit, channel));
                    }
                    Err(_) => {}
                }
            });
        }
        let opened = !opens.is_empty();
        futures::future::join_all(opens).await;
        opened
    }

    /// Stops opening channels ahead and closes the unused ones: every
    /// channel is closed explicitly, which is also how a connection keeper
    /// tells a run that ended in order from one that died.
    pub(super) async fn close_ready(&self) {
        self.closing.store(true, Ordering::SeqCst);
        // Opens under way close their channel themselves once answered.
        let settled = async {
            while self.opening.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), settled).await;
        let ready: Vec<CommandChannel> =
            std::mem::take(&mut *self.ready.lock().unwrap_or_else(|p| p.into_inner()));
        for (_permit, channel) in ready {
            let _ = channel.close().await;
        }
    }

    pub(super) fn handle(&self) -> &Handle<ClientHandler> {
        &self.handle
    }

    /// A command slot, held until the command's process is gone.
    pub(super) async fn command_slot(&self) -> Result<OwnedSemaphorePermit, RemoteError> {
        self.commands
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RemoteError::Disconnected("session closed".into()))
    }

    pub(super) async fn open(&self) -> Result<russh::Channel<Msg>, RemoteError> {
        self.handle
            .channel_open_session()
            .await
            .map_err(|e| RemoteError::Disconnected(format!("cannot open a channel: {e}")))
    }

    /// Runs a shell snippet on a control channel and waits for it.
    async fn control(&self, script: &str) -> Result<(), RemoteError> {
        let _permit = self
            .control
            .acquire()
            .await
            .map_err(|_| RemoteError::Disconnected("session closed".into()))?;
        let mut channel = self.open().await?;
        let result = async {
            channel
                .exec(true, script.as_bytes().to_vec())
                .await
                .map_err(|e| RemoteError::Disconnected(e.to_string()))?;
            channel
                .eof()
                .await
                .map_err(|e| RemoteError::Disconnected(e.to_string()))?;
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
            Ok(())
        }
        .await;
        let _ = channel.close().await;
        result
    }

    /// Stops the process groups `pgids` and every process tagged with one
    /// of `tags`: TERM, a grace period, then KILL.
    pub(super) async fn kill(&self, pgids: &[u32], tags: &[String]) {
        if !pgids.is_empty() || !tags.is_empty() {
            let _ = self
                .control(&wrapper::kill_script(pgids, tags, KILL_GRACE_TENTHS))
                .await;
        }
    }
}

/// The process groups of the commands running on this connection, and the
/// kills of stopped commands still under way.
#[derive(Default)]
pub(super) struct ProcessGroups {
    /// Running commands: id -> process group, once the wrapper reported it.
    running: Mutex<HashMap<u64, Option<u32>>>,
    next_id: AtomicU64,
    pending: Mutex<Vec<JoinHandle<()>>>,
    interrupted: AtomicBool,
}

impl ProcessGroups {
    fn running(&self) -> MutexGuard<'_, HashMap<u64, Option<u32>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Books a new command; its process group comes later.
    pub(super) fn start(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.running().insert(id, None);
        id
    }

    pub(super) fn set_group(&self, id: u64, pgid: u32) {
        self.running().insert(id, Some(pgid));
    }

    /// Unbooks a command; returns its process group if it was known.
    pub(super) fn finish(&self, id: u64) -> Option<u32> {
        self.running().remove(&id).flatten()
    }

    /// Keeps track of a background kill so that closing can wait for it.
    pub(super) fn add_pending(&self, task: JoinHandle<()>) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    pub(super) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Marks the session interrupted and returns every running command
    /// whose process group is known, with that group.
    pub(super) fn interrupt(&self) -> Vec<(u64, u32)> {
        self.interrupted.store(true, Ordering::SeqCst);
        self.running()
            .iter()
            .filter_map(|(id, pgid)| Some((*id, (*pgid)?)))
            .collect()
    }

    /// Waits at most `within` for every booked command to end (held
    /// processes just released take a round trip to go).
    pub(super) async fn wait_ended(&self, within: std::time::Duration) {
        let ended = async {
            while !self.running().is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(within, ended).await;
    }

    /// Waits for every background kill, including ones started meanwhile.
    pub(super) async fn wait_pending(&self) {
        loop {
            let pending: Vec<JoinHandle<()>> = {
                let mut list = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::take(&mut *list)
            };
            if pending.is_empty() {
                return;
            }
            for task in pending {
                let _ = task.await;
            }
        }
    }
}
