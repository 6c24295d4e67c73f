//! `node`: the build node, through [`RemoteNode`](crate::remote::RemoteNode).
//! `exec` and `remote-shell` need `remote-exec`; `write-file` and
//! `scratch-dir` need `remote-files`.
//!
//! `remote-files` writes only inside what the call was given: the build
//! path of a sync or image build, and the scratch directories the plugin
//! asked for in this call. A file anywhere else (`~/.bashrc`, run by every
//! later command) would make it code execution.

use std::sync::Arc;

use super::error::HostCallError;
use crate::output::{LiveOutput, Progress};
use crate::plugin::bindings::latest::ops::plugin::node::Host;
use crate::plugin::bindings::types::{Error as WitError, ExecOutput, ExecRequest, ExitStatus};
use crate::plugin::capability::Need;
use crate::plugin::state::PluginState;
use crate::remote::{RemoteCommand, RemoteExit, RemoteNode};

impl Host for PluginState {
    async fn exec(&mut self, request: ExecRequest) -> Result<ExecOutput, WitError> {
        let start = self.host_call_begins();
        let result = self.remote_exec(request).await;
        self.host_time_since(start);
        result.map_err(|e| self.typed(e))
    }

    async fn write_file(
        &mut self,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), WitError> {
        let start = self.host_call_begins();
        let result = self.remote_write(path, contents, mode).await;
        self.host_time_since(start);
        result.map_err(|e| self.typed(e))
    }

    async fn scratch_dir(&mut self, name: String) -> Result<String, WitError> {
        let start = self.host_call_begins();
        let result = self.remote_scratch(name).await;
        self.host_time_since(start);
        result.map_err(|e| self.typed(e))
    }

    async fn remote_shell(&mut self) -> Result<String, WitError> {
        let start = self.host_call_begins();
        let result = self.remote_shell_line().await;
        self.host_time_since(start);
        result.map_err(|e| self.typed(e))
    }
}

impl PluginState {
    fn node(&self) -> Result<Arc<dyn RemoteNode>, HostCallError> {
        self.ctx.node.clone().ok_or(HostCallError::NoNode)
    }

    /// The capability check, whose refusal the state has recorded.
    fn need(&mut self, need: Need<'_>) -> Result<(), HostCallError> {
        self.check(need).map_err(HostCallError::Refused)
    }

    async fn remote_exec(&mut self, request: ExecRequest) -> Result<ExecOutput, HostCallError> {
        self.need(Need::RemoteExec)?;
        let node = self.node()?;
        let progress = Progress::new(&request.progress).map_err(HostCallError::Invalid)?;
        let mut capture = LiveOutput::new(
            self.output_label(request.label.clone()),
            self.ctx.printer.clone(),
        )
        .with_progress(progress);
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
        let exit = node.exec(command, &mut capture).await?;
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
    ) -> Result<(), HostCallError> {
        self.need(Need::RemoteFiles)?;
        if mode > 0o7777 {
            return Err(HostCallError::Invalid(format!(
                "mode {mode:o} is not a file mode"
            )));
        }
        if mode & FORBIDDEN_MODE != 0 {
            return Err(self.refuse(format!(
                "remote-files refused: mode {mode:o} for {path}: plugins write no setuid, \
                 setgid, sticky or world-writable files"
            )));
        }
        let node = self.node()?;
        let within = |dir: &String| under(&path, dir);
        if self.scratch.iter().any(within) {
            // The scratch directory is private to this run and holds only
            // what plugins wrote there: no directory, no symbolic link.
            return Ok(node.write_file(&path, &contents, mode).await?);
        }
        let Some(root) = self.build_path.clone().filter(within) else {
            return Err(self.refuse(format!(
                "remote-files refused: {path} is outside what plugin {} was given in this call \
                 (the build path, and scratch directories it asked for)",
                self.plugin
            )));
        };
        // The build path holds the repository, whose symbolic links could
        // lead anywhere: they are checked on the node, where they are.
        let relative = path[root.len()..].trim_start_matches('/').to_owned();
        let command = RemoteCommand::new("sh")
            .args([
                "-c",
                CONFINED_WRITE,
                "sh",
                &root,
                &relative,
                &format!("{mode:o}"),
            ])
            .stdin(contents);
        node.capture(&command)
            .await
            .map(|_| ())
            .map_err(|source| HostCallError::Write { path, source })
    }

    fn refuse(&mut self, refusal: String) -> HostCallError {
        self.refusals.push(refusal.clone());
        HostCallError::Refused(refusal)
    }

    async fn remote_shell_line(&mut self) -> Result<String, HostCallError> {
        self.need(Need::RemoteExec)?;
        let shell = self
            .ctx
            .remote_shell
            .clone()
            .ok_or(HostCallError::NoRemoteShell)?;
        Ok(shell.program_line()?)
    }

    async fn remote_scratch(&mut self, name: String) -> Result<String, HostCallError> {
        self.need(Need::RemoteFiles)?;
        let node = self.node()?;
        // Namespaced by plugin, so that plugins cannot reach each other's
        // scratch directories (and credentials) by name.
        let scoped = crate::remote::scoped_scratch_name(&self.plugin, &name)
            .map_err(HostCallError::Invalid)?;
        let dir = node.scratch_dir(&scoped).await?;
        self.scratch.push(dir.clone());
        Ok(dir)
    }
}

/// setuid, setgid, sticky, and writable by others.
const FORBIDDEN_MODE: u32 = 0o7002;

/// Whether `path` is strictly below `dir`, with no `.`, `..` or empty
/// component that could lead out of it.
fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() || !(dir.starts_with('/') || dir.starts_with("~/")) {
        return false;
    }
    let Some(rest) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    !rest.is_empty() && rest.split('/').all(|c| !matches!(c, "" | "." | ".."))
}

/// Writes stdin to `$1/$2` with mode `$3`, atomically, refusing when any
/// component below `$1` is a symbolic link (or an intermediate one is not a
/// directory) and when the target is a directory. `$1` may start with `~/`,
/// as `build.path` may.
const CONFINED_WRITE: &str = r#"r=$1; case $r in "~/"*) r="$HOME/${r#"~/"}";; esac
cd -- "$r" || exit 1
set -f; IFS=/; p=
for c in $2; do
  if [ -n "$p" ]; then
    if [ -L "$p" ] || [ ! -d "$p" ]; then echo "$p is a symbolic link or not a directory" >&2; exit 1; fi
    p="$p/$c"
  else p=$c; fi
done
if [ -L "$p" ] || [ -d "$p" ]; then echo "$p is a symbolic link or a directory" >&2; exit 1; fi
umask 077; t=$(mktemp "$p.ops-XXXXXX") || exit 1
if cat > "$t" && chmod "$3" "$t" && mv -f -- "$t" "$p"; then exit 0; else rm -f -- "$t"; exit 1; fi"#;

pub(crate) fn exit_status(exit: RemoteExit) -> ExitStatus {
    match exit {
        RemoteExit::Code(code) => ExitStatus::Code(code),
        RemoteExit::Signal(name) => ExitStatus::Signal(name),
    }
}
