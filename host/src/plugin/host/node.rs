//! `node`: the build node, through [`RemoteNode`](crate::remote::RemoteNode).
//! `exec` and `remote-shell` need `remote-exec`; `write-file` and
//! `scratch-dir` need `remote-files`.

use std::sync::Arc;
use std::time::Instant;

use crate::output::LiveOutput;
use crate::plugin::bindings::latest::ops::plugin::node::Host;
use crate::plugin::bindings::types::{ExecOutput, ExecRequest, ExitStatus};
use crate::plugin::capability::Need;
use crate::plugin::state::PluginState;
use crate::remote::{RemoteCommand, RemoteExit, RemoteNode};

impl Host for PluginState {
    async fn exec(&mut self, request: ExecRequest) -> Result<ExecOutput, String> {
        let start = Instant::now();
        let result = self.remote_exec(request).await;
        self.host_time_since(start);
        result
    }

    async fn write_file(
        &mut self,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), String> {
        let start = Instant::now();
        let result = self.remote_write(path, contents, mode).await;
        self.host_time_since(start);
        result
    }

    async fn scratch_dir(&mut self, name: String) -> Result<String, String> {
        let start = Instant::now();
        let result = self.remote_scratch(name).await;
        self.host_time_since(start);
        result
    }

    async fn remote_shell(&mut self) -> Result<String, String> {
        let start = Instant::now();
        let result = self.remote_shell_line().await;
        self.host_time_since(start);
        result
    }
}

impl PluginState {
    fn node(&self) -> Result<Arc<dyn RemoteNode>, String> {
        self.ctx.node.clone().ok_or_else(|| {
            "no build node in this call (config validation runs before ops connects)".to_owned()
        })
    }

    async fn remote_exec(&mut self, request: ExecRequest) -> Result<ExecOutput, String> {
        self.check(Need::RemoteExec)?;
        let node = self.node()?;
        let mut capture = LiveOutput::new(
            self.output_label(request.label.clone()),
            self.ctx.printer.clone(),
        );
        let command = RemoteCommand {
            program: request.program,
            args: request.args,
            env: request.env,
            cwd: request.cwd,
            stdin: request.stdin,
            ..RemoteCommand::default()
        };
        if self.ctx.printer.is_verbose() {
            self.ctx.printer.debug(format!(
                "{}: remote exec: {} {}",
                self.plugin,
                command.program,
                command.args.join(" ")
            ));
        }
        let exit = node
            .exec(command, &mut capture)
            .await
            .map_err(|e| e.to_string())?;
        let (stdout, stderr, truncated) = capture.finish();
        Ok(ExecOutput {
            status: exit_status(exit),
            stdout,
            stderr,
            truncated,
        })
    }

    async fn remote_write(
        &mut self,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), String> {
        self.check(Need::RemoteFiles)?;
        if mode > 0o7777 {
            return Err(format!("mode {mode:o} is not a file mode"));
        }
        let node = self.node()?;
        node.write_file(&path, &contents, mode)
            .await
            .map_err(|e| e.to_string())
    }

    async fn remote_shell_line(&mut self) -> Result<String, String> {
        self.check(Need::RemoteExec)?;
        let shell = self.ctx.remote_shell.clone().ok_or_else(|| {
            "this build node offers no remote shell for local programs".to_owned()
        })?;
        shell.program_line().map_err(|e| e.to_string())
    }

    async fn remote_scratch(&mut self, name: String) -> Result<String, String> {
        self.check(Need::RemoteFiles)?;
        let node = self.node()?;
        // Namespaced by plugin, so that plugins cannot reach each other's
        // scratch directories (and credentials) by name.
        let scoped = crate::remote::scoped_scratch_name(&self.plugin, &name)?;
        node.scratch_dir(&scoped).await.map_err(|e| e.to_string())
    }
}

pub(crate) fn exit_status(exit: RemoteExit) -> ExitStatus {
    match exit {
        RemoteExit::Code(code) => ExitStatus::Code(code),
        RemoteExit::Signal(name) => ExitStatus::Signal(name),
    }
}
