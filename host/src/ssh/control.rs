//! The connection's channels and the remote process groups running on
//! them.
//!
//! At most [`MAX_CHANNELS`] command channels are open at once, plus up to
//! [`CONTROL_CHANNELS`] short control channels (killing process groups),
//! staying under OpenSSH's default `MaxSessions 10`. Every channel is
//! closed explicitly: russh does not close on drop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// Extra channels for kill commands.
pub const CONTROL_CHANNELS: usize = 2;
/// How long a stopped command gets between TERM and KILL, in tenths of a
/// second.
const KILL_GRACE_TENTHS: u32 = 30;

/// Opens channels within the limits above.
pub(super) struct Channels {
    handle: Handle<ClientHandler>,
    commands: Arc<Semaphore>,
    control: Semaphore,
}

impl Channels {
    pub(super) fn new(handle: Handle<ClientHandler>) -> Channels {
        Channels {
            handle,
            commands: Arc::new(Semaphore::new(MAX_CHANNELS)),
            control: Semaphore::new(CONTROL_CHANNELS),
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

    /// Kills the process groups `pgids`: TERM, a grace period, then KILL.
    pub(super) async fn kill(&self, pgids: &[u32]) {
        if !pgids.is_empty() {
            let _ = self
                .control(&wrapper::kill_script(pgids, KILL_GRACE_TENTHS))
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

    /// Marks the session interrupted and returns every known process group.
    pub(super) fn interrupt(&self) -> Vec<u32> {
        self.interrupted.store(true, Ordering::SeqCst);
        self.running().values().flatten().copied().collect()
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
