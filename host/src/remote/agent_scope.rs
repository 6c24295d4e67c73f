//! The sync step's view of the node: every command it runs gets the agent
//! the sync plugin is entitled to (the user's ssh-agent, or one holding
//! only the deploy key), and nothing else on the node ever does. The
//! pipeline wraps a sync in this only when its plugin is entitled.

use std::fmt;
use std::sync::Arc;

use russh::keys::PrivateKey;

use super::{
    AgentForwarding, BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode,
    Stdin,
};

pub struct AgentScope {
    node: Arc<dyn RemoteNode>,
    agent: AgentForwarding,
}

impl AgentScope {
    pub fn new(node: Arc<dyn RemoteNode>, agent: AgentForwarding) -> AgentScope {
        AgentScope { node, agent }
    }
}

impl RemoteNode for AgentScope {
    fn label(&self) -> &str {
        self.node.label()
    }

    fn run<'a>(
        &'a self,
        command: &'a RemoteCommand,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(async move {
            let mut command = command.clone();
            command.agent = self.agent.clone();
            self.node.run(&command, stdin, output).await
        })
    }

    fn set_gate(&self, marker: Option<String>) {
        self.node.set_gate(marker)
    }

    fn settle(&self) -> BoxFuture<'_, ()> {
        self.node.settle()
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        self.node.scratch_dir(name)
    }

    fn connect_round_trips(&self) -> u64 {
        self.node.connect_round_trips()
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        self.node.interrupt()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.node.close()
    }
}

/// A deploy key (`[build.git] ssh_key`), read on this machine. The
/// transport serves it as an agent on the sync's channels; it is never
/// written anywhere.
#[derive(Clone)]
pub struct DeployKey(Arc<PrivateKey>);

impl DeployKey {
    pub fn new(key: PrivateKey) -> DeployKey {
        DeployKey(Arc::new(key))
    }

    pub fn key(&self) -> &PrivateKey {
        &self.0
    }
}

// Never the key's bytes, whoever prints a command.
impl fmt::Debug for DeployKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeployKey({})",
            self.0.public_key().fingerprint(Default::default())
        )
    }
}

impl PartialEq for DeployKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for DeployKey {}
