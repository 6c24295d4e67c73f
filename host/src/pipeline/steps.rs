//! The remote steps of one build, on one node: lock the build path, sync,
//! run the build command, then the images ([`images`](super::images)).

use std::sync::Arc;
use std::time::Instant;

use anyhow::anyhow;

use crate::domain::GitRef;
use crate::exit::{Exit, Failure};
use crate::output::{Event, LiveOutput, Printer, Step};
use crate::plugin::{CallContext, SyncRequest};
use crate::remote::critical_path::Chain;
use crate::remote::{AgentForwarding, AgentScope, RemoteCommand, RemoteNode, RemoteShell, Stdin};

use super::hooks::RunHooks;
use super::job::BuildJob;
use super::lock::LockRequest;
use super::plugins::BuildPlugins;
use super::Done;

pub(super) struct Run<'a> {
    pub job: BuildJob,
    pub plugins: &'a BuildPlugins,
    pub node: Arc<dyn RemoteNode>,
    pub remote_shell: Arc<dyn RemoteShell>,
    pub printer: &'a Arc<Printer>,
    pub hooks: &'a RunHooks,
}

impl Run<'_> {
    /// Runs the steps under the build lock; the lock is handed back for
    /// the caller to release beside the session's own teardown (each is a
    /// round trip; together they cost one).
    pub async fn execute(mut self) -> (Result<Done, Failure>, Option<LockRequest>) {
        if let Err(failure) = resolve_build_path(self.node.as_ref(), &mut self.job).await {
            return (Err(failure), None);
        }
        // The registry login needs a scratch directory: its root is made
        // beside the first commands instead of in a round trip of its own.
        if self.job.images.is_some() {
            self.node.prepare_scratch();
        }
        // Beside the steps, in a chain of its own (its command counts into
        // the chain it was started in): what waiting for the lock costs
        // shows in the wait of the first gated command.
        let lock_chain = Chain::new();
        let (path, holder) = (&self.job.path, &self.job.lock_holder);
        let request = async { super::lock::request(&self.node, path, holder, self.job.lock_wait) };
        let mut lock = lock_chain.run(request).await;
        // The steps' first commands go out together with the lock's request
        // and wait on the node until it holds the lock: the lock costs no
        // round trip of its own.
        self.node.set_gate(Some(lock.marker().to_owned()));
        let (node, printer) = (self.node.clone(), self.printer);
        let locked = async {
            let result = lock.locked(printer).await;
            node.set_gate(None);
            result
        };
        let result = tokio::try_join!(lock_chain.run(locked), self.steps()).map(|(_, done)| done);
        self.node.set_gate(None);
        // A step cut short (a refused login, a failed image) leaves commands
        // being stopped on the node; the lock goes only once they are gone.
        self.node.settle().await;
        (result, Some(lock))
    }

    async fn steps(&self) -> Result<Done, Failure> {
        let ctx = self
            .plugins
            .context
            .clone()
            .with_node(self.node.clone())
            .with_remote_shell(self.remote_shell.clone());
        // Only a sync plugin entitled to an agent runs its commands where
        // one may be forwarded; every other command never asks for it.
        let sync_ctx = match &self.job.sync_agent {
            AgentForwarding::Never => ctx.clone(),
            agent => {
                let scoped = AgentScope::new(self.node.clone(), agent.clone());
                ctx.clone().with_node(Arc::new(scoped))
            }
        };
        self.sync(&sync_ctx).await?;
        self.build_command().await?;
        self.hooks.post_build(self.printer).await?;
        let images = async {
            match (&self.job.images, &self.plugins.images) {
                (Some(job), Some(plugins)) => self.images(&ctx, job, plugins).await,
                _ => Ok(Vec::new()),
            }
        };
        // Beside the images, not before them: both only read what the
        // build command left. The first failure stops the other.
        let (images, artifacts) = tokio::try_join!(images, self.artifacts())?;
        let round_trips = Chain::current().map_or(0, |chain| chain.count());
        self.printer.debug(format!(
            "{round_trips} round trips to {} on the critical path",
            self.node.label()
        ));
        Ok(Done {
            images,
            artifacts,
            round_trips,
        })
    }

    async fn sync(&self, ctx: &CallContext) -> Result<(), Failure> {
        let step = Instant::now();
        let plugin = self.job.sync_plugin.as_str();
        let what = match (&self.job.git_ref, &self.job.branch) {
            (Some(r), _) => format!("{plugin} --ref {r}"),
            (None, Some(b)) => format!("{plugin} branch {b}"),
            (None, None) => plugin.to_owned(),
        };
        self.started_step(Step::Sync, format!("{what} -> {}", self.job.path));
        let synced = self
            .plugins
            .sync
            .sync(
                ctx,
                SyncRequest {
                    section: &self.job.sync_section,
                    path: self.job.path.clone(),
                    git_ref: self.job.git_ref.as_ref().map(GitRef::to_string),
                    branch: self.job.branch.as_ref().map(GitRef::to_string),
                },
            )
            .await;
        // Nothing after the sync may reach the node through the relay.
        self.remote_shell.release();
        let outcome = synced.map_err(|e| super::faults::sync_failure(e, &self.job.path))?;
        self.hooks.set_commit(outcome.commit.as_deref());
        if !outcome.summary.is_empty() {
            self.printer.info(format!("    {}", outcome.summary));
        }
        self.finished_step(Step::Sync, step);
        Ok(())
    }

    async fn build_command(&self) -> Result<(), Failure> {
        let step = Instant::now();
        let command = &self.job.command;
        self.started_step(Step::Build, command.clone());
        let remote = RemoteCommand::new("sh")
            .args(["-c", command.as_str()])
            .cwd(self.job.path.clone());
        let mut output = LiveOutput::new(Some("build".into()), self.printer.clone());
        let result = self.node.run(&remote, Stdin::empty(), &mut output).await;
        // Only shown, not inspected: the output is already on the screen.
        let _ = output.finish();
        let exit = result?;
        if !exit.success() {
            return Err(Failure::new(
                Exit::BuildCommand,
                anyhow!(
                    "build command `{command}` failed with {exit} (its output is above); no image \
                     was built"
                ),
            ));
        }
        self.finished_step(Step::Build, step);
        Ok(())
    }

    pub(super) fn started_step(&self, step: Step, detail: String) {
        self.printer.emit(&Event::StepStarted { step, detail });
    }

    pub(super) fn finished_step(&self, step: Step, since: Instant) {
        self.printer.emit(&Event::StepFinished {
            step,
            seconds: since.elapsed().as_secs_f64(),
        });
    }
}

/// `build.path` as the node sees it: a leading `~` or `~/` is the node
/// user's home, as it would be in a shell there. Every later step quotes the
/// path, so without this a literal `~` directory would be created.
async fn resolve_build_path(node: &dyn RemoteNode, job: &mut BuildJob) -> Result<(), Failure> {
    let rest = match job.path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
        _ => return Ok(()),
    };
    let home = node
        .capture(&RemoteCommand::new("sh").args(["-c", "printf '%s' \"$HOME\""]))
        .await?;
    if !home.starts_with('/') || home.contains('\n') {
        return Err(Failure::new(
            Exit::Connection,
            anyhow!(
                "build.path {:?} starts with `~`, but the node's $HOME is {home:?}; use an \
                 absolute path",
                job.path
            ),
        ));
    }
    job.path = format!("{}{rest}", home.trim_end_matches('/'));
    Ok(())
}

/// Counts `branches`, which ran side by side, into the current chain.
pub(super) fn add_side_by_side(branches: &[Arc<Chain>], at_once: usize) {
    if let Some(chain) = Chain::current() {
        chain.add_side_by_side(branches, at_once);
    }
}

pub(crate) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
