//! Reaching the chosen node: one verified SSH session, seen by the rest of
//! the host only as a [`RemoteNode`].

use std::path::PathBuf;
use std::sync::Arc;

use super::NodeTarget;
use crate::output::Printer;
use crate::remote::RemoteNode;
use crate::ssh::{ConnectOptions, Session, SshError, Target};

/// How to reach a node, beyond what its target says.
#[derive(Debug, Clone, Default)]
pub struct ReachSettings {
    /// Trust and remember an unknown host key (a changed one is refused).
    pub accept_new_host_key: bool,
    /// Where `.ssh/` is; `$HOME` when `None`.
    pub home: Option<PathBuf>,
}

/// Connects to `target`; the session ends with [`RemoteNode::close`].
pub async fn connect(
    target: &NodeTarget,
    settings: &ReachSettings,
    printer: &Printer,
) -> Result<Arc<dyn RemoteNode>, SshError> {
    let options = ConnectOptions {
        accept_new_host_key: settings.accept_new_host_key,
        home: settings.home.clone(),
    };
    let session = Session::connect(&target.ssh_target(), &options, printer).await?;
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
