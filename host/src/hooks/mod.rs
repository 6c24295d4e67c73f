//! The project's local hooks (`[hooks]` in ops.toml): one shell command
//! each, run with `sh -c` on this machine in the folder of ops.toml, its
//! output shown under the hook's name as a step of its own.
//!
//! A hook is local code a project file chose, so it runs only in a file
//! the user trusts (the trust gate, before anything runs) and only with
//! what it is given: the `OPS_*` variables of the run, and the
//! environment ops was started with minus every variable ops.toml reads a
//! secret from (the registry token, `OPS_API_TOKEN`, ...). What the hooks
//! may do, and when, is the pipeline's business; this module only runs one.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::config::{Config, HookPoint, Hooks};
use crate::exit::{interrupted, Exit, ExitStatusOf};
use crate::output::{Event, LiveOutput, Printer, Step};
use crate::remote::OutputSink;

/// Every variable a hook may be given: set from the run, or removed when
/// the run has no value for it, so that one inherited from ops's own
/// environment never passes for the run's.
pub const VARIABLES: &[&str] = &[
    "OPS_PROJECT",
    "OPS_TAG",
    "OPS_REF",
    "OPS_COMMIT",
    "OPS_NODE",
    "OPS_SERVICES",
    "OPS_IMAGES",
    "OPS_FAILED_STEP",
    "OPS_EXIT_CODE",
];

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{point} hook `{command}` failed with {status} (its output is above)")]
    Failed {
        point: HookPoint,
        command: String,
        status: ExitStatus,
    },
    #[error("interrupted; the {point} hook was stopped")]
    Interrupted { point: HookPoint },
    #[error("{point} hook `{command}` could not be started in {}: {source}", dir.display())]
    Start {
        point: HookPoint,
        command: String,
        dir: PathBuf,
        source: std::io::Error,
    },
}

impl ExitStatusOf for HookError {
    fn exit(&self) -> Exit {
        match self {
            HookError::Interrupted { .. } => Exit::Interrupted,
            HookError::Failed { .. } | HookError::Start { .. } => Exit::Hook,
        }
    }
}

/// The hooks of one project file, ready to run.
#[derive(Debug, Clone)]
pub struct HookRunner {
    hooks: Hooks,
    dir: PathBuf,
    /// The variables ops.toml reads secrets from: never inherited.
    scrubbed: Vec<String>,
}

impl HookRunner {
    pub fn new(config: &Config) -> HookRunner {
        HookRunner {
            hooks: config.hooks.clone(),
            dir: config.dir().to_path_buf(),
            scrubbed: config.secret_variables().to_vec(),
        }
    }

    /// Runs the hook for `point`, if there is one, with `vars` (names from
    /// [`VARIABLES`]) set; a hook that exits non-zero is an error. With
    /// `interruptible`, Ctrl-C (or SIGTERM) while it runs stops it and is
    /// an error too: only where ops already handles those signals (on the
    /// node's steps). Elsewhere their default action ends ops, and Ctrl-C
    /// at a terminal reaches the hook as well: it runs in ops's own
    /// process group. (Handling them earlier would outlive the hook, and
    /// take Ctrl-C from the passphrase prompt of the connection.)
    pub async fn run(
        &self,
        point: HookPoint,
        vars: &[(&str, String)],
        interruptible: bool,
        printer: &Arc<Printer>,
    ) -> Result<(), HookError> {
        let Some(command) = self.hooks.get(point) else {
            return Ok(());
        };
        let step = step_of(point);
        let started = Instant::now();
        printer.emit(&Event::StepStarted {
            step,
            detail: command.value.clone(),
        });
        let start_error = |source| HookError::Start {
            point,
            command: command.value.clone(),
            dir: self.dir.clone(),
            source,
        };
        let child = self.command(command, vars).spawn().map_err(start_error)?;
        let status = if interruptible {
            tokio::select! {
                status = watch(child, point, printer) => status,
                () = interrupted() => return Err(HookError::Interrupted { point }),
            }
        } else {
            watch(child, point, printer).await
        };
        let status = status.map_err(start_error)?;
        if !status.success() {
            return Err(HookError::Failed {
                point,
                command: command.value.clone(),
                status,
            });
        }
        printer.emit(&Event::StepFinished {
            step,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    /// `sh -c COMMAND` in the project's folder, with the run's variables
    /// and none of the secret ones; killed if the run drops it.
    fn command(&self, command: &str, vars: &[(&str, String)]) -> tokio::process::Command {
        let mut sh = tokio::process::Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let removed = self.scrubbed.iter().map(String::as_str);
        for name in removed.chain(VARIABLES.iter().copied()) {
            sh.env_remove(name);
        }
        sh.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        sh
    }
}

/// Shows the hook's output under its name until it ends; its status.
async fn watch(
    mut child: tokio::process::Child,
    point: HookPoint,
    printer: &Arc<Printer>,
) -> std::io::Result<ExitStatus> {
    let mut output = LiveOutput::new(Some(point.as_str().to_owned()), printer.clone());
    let (tx, mut rx) = mpsc::channel(16);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, false, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, true, tx));
    }
    while let Some((is_stderr, chunk)) = rx.recv().await {
        if is_stderr {
            output.stderr(&chunk);
        } else {
            output.stdout(&chunk);
        }
    }
    // Only shown, not inspected: the output is already on the screen.
    let _ = output.finish();
    child.wait().await
}

/// The step a hook shows as (the same word as its key).
pub fn step_of(point: HookPoint) -> Step {
    match point {
        HookPoint::PreBuild => Step::PreBuild,
        HookPoint::PostBuild => Step::PostBuild,
        HookPoint::PostPush => Step::PostPush,
        HookPoint::OnFailure => Step::OnFailure,
    }
}

/// Forwards one of the hook's streams, chunk by chunk, until it closes.
async fn pump(
    mut from: impl tokio::io::AsyncRead + Unpin,
    is_stderr: bool,
    to: mpsc::Sender<(bool, Vec<u8>)>,
) {
    let mut buf = vec![0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.send((is_stderr, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
