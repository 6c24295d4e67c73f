//! Reaching the chosen node: one verified SSH session, seen by the rest of
//! the host only as a [`RemoteNode`]. With persistence on, the session runs
//! over a connection the keeper holds between runs; any trouble with the
//! keeper means a direct connection, with one line saying why.

use std::path::PathBuf;
use std::sync::Arc;

use super::NodeTarget;
use crate::exit::{Exit, ExitStatusOf};
use crate::keeper::client::Leased;
use crate::keeper::persist::{self, Sources};
use crate::keeper::PersistError;
use crate::output::Printer;
use crate::remote::RemoteNode;
use crate::ssh::{ConnectOptions, Resolved, Session, SshError, Target};

/// How to reach a node, beyond what its target says.
#[derive(Debug, Clone, Default)]
pub struct ReachSettings {
    /// Trust and remember an unknown host key (a changed one is refused).
    pub accept_new_host_key: bool,
    /// Where `.ssh/` is; `$HOME` when `None`.
    pub home: Option<PathBuf>,
}

/// Why the node could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// The persistence setting is not one (exit 2: nothing was touched).
    #[error(transparent)]
    Persist(#[from] PersistError),
}

impl ExitStatusOf for ReachError {
    fn exit(&self) -> Exit {
        match self {
            ReachError::Ssh(e) => e.exit(),
            ReachError::Persist(e) => e.exit(),
        }
    }
}

/// Connects to `target`; the session ends with [`RemoteNode::close`].
pub async fn connect(
    target: &NodeTarget,
    settings: &ReachSettings,
    printer: &Printer,
) -> Result<Arc<dyn RemoteNode>, ReachError> {
    let options = ConnectOptions {
        accept_new_host_key: settings.accept_new_host_key,
        home: settings.home.clone(),
    };
    let resolved = Resolved::resolve(&target.ssh_target(), &options)?;
    if let Some(keep) = persist::decide(&Sources::from_env(), &resolved)? {
        match crate::keeper::client::lease(&resolved, keep, printer).await? {
            Leased::Session(session) => {
                printer.debug(format!(
                    "on a kept connection to {} ({})",
                    session.label(),
                    target.origin
                ));
                return Ok(Arc::new(session));
            }
            Leased::Direct(Some(why)) => {
                printer.warn(format!("connection keeper: {why}; connecting directly"));
            }
            Leased::Direct(None) => {}
        }
    }
    let session = Session::connect_resolved(&resolved, printer).await?;
    printer.debug(format!(
        "connected to {} ({})",
        session.label(),
        target.origin
    ));
    Ok(Arc::new(session))
}

impl NodeTarget {
    /// What SSH needs of this target.
    pub fn ssh_target(&self) -> Target {
        Target {
            host: self.host.clone(),
            user: self.user.clone(),
            port: self.port,
            host_key: self.host_key.clone(),
        }
    }
}
