//! The sync step's view of the node: every command it runs may have the
//! user's ssh-agent forwarded, as `[build.git] forward_agent` (or the
//! node's `ForwardAgent`) asks. The rest of the run never sees the agent.

use std::sync::Arc;

use super::{
    AgentForwarding, BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode,
    Stdin,
};

pub struct AgentScope {
    node: Arc<dyn RemoteNode>,
    wanted: Option<bool>,
}

impl AgentScope {
    /// `wanted`: `forward_agent` from the config, when set.
    pub fn new(node: Arc<dyn RemoteNode>, wanted: Option<bool>) -> AgentScope {
        AgentScope { node, wanted }
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
            command.agent = AgentForwarding::Sync(self.wanted);
            self.node.run(&command, stdin, output).await
        })
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        self.node.scratch_dir(name)
    }
}
