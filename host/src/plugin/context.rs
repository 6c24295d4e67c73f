//! What a call into a plugin may reach on the host side.

use std::path::PathBuf;
use std::sync::Arc;

use crate::output::{Printer, Redactor};
use crate::remote::{RemoteNode, RemoteShell};

/// The world a plugin call runs in: the build node (absent during
/// validation, which happens before anything remote), the printer for logs
/// and live output, the local project root, and the redactor that learns
/// every secret the plugin is handed or returns.
#[derive(Clone)]
pub struct CallContext {
    pub(crate) node: Option<Arc<dyn RemoteNode>>,
    /// How local programs (rsync) reach the node, when they can.
    pub(crate) remote_shell: Option<Arc<dyn RemoteShell>>,
    pub(crate) printer: Arc<Printer>,
    pub(crate) project_root: PathBuf,
    pub(crate) redactor: Redactor,
}

impl CallContext {
    /// No node yet; the redactor is the printer's.
    pub fn new(printer: Arc<Printer>, project_root: impl Into<PathBuf>) -> CallContext {
        CallContext {
            redactor: printer.redactor().clone(),
            node: None,
            remote_shell: None,
            printer,
            project_root: project_root.into(),
        }
    }

    pub fn with_node(mut self, node: Arc<dyn RemoteNode>) -> CallContext {
        self.node = Some(node);
        self
    }

    pub fn with_remote_shell(mut self, shell: Arc<dyn RemoteShell>) -> CallContext {
        self.remote_shell = Some(shell);
        self
    }

    pub fn printer(&self) -> &Arc<Printer> {
        &self.printer
    }
}
