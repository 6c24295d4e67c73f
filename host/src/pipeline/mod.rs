//! The steps of `ops build`, in the spec's order:
//!
//! 1. read `[build]` from `ops.toml` ([`job`]: everything checkable
//!    locally, including every plugin's validation of its section);
//! 2. connect to the build node (one SSH connection for the whole run);
//! 3. sync the code (the `git` or `rsync` sync plugin);
//! 4. run `build.command` ([`steps`]);
//! 5. build the images, at most `-j` at once ([`images`], [`schedule`]);
//! 6. push them, only if every image built.
//!
//! The project's local hooks ([`hooks`]) run around them: `pre_build`
//! before step 2, `post_build` after step 4, `post_push` after step 6 (the
//! node's session closed), `on_failure` after any failure.
//!
//! The pipeline reaches the node only through
//! [`RemoteNode`](crate::remote::RemoteNode), so everything after the
//! connection ([`execute`]) runs as well against an in-process node.
//! Ctrl-C (or SIGTERM) at any point kills the remote process groups,
//! removes the run's scratch directories (registry credentials live there)
//! and exits 130.

mod artifact_file;
mod artifact_paths;
mod artifacts;
mod dry_run;
mod faults;
mod hooks;
mod image_job;
mod images;
mod job;
mod lock;
pub(crate) mod node_policy;
mod plan;
mod plugins;
mod project;
mod schedule;
mod settings;
mod steps;
#[cfg(test)]
mod tests;
mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::distribution::project::LockMode;
use crate::exit::{interrupted, Exit, Failure};
use crate::output::{ArtifactSummary, Event, ImageSummary, Printer, Step};
use crate::plugin::{Limits, Runtime};
use crate::relay::Relay;
use crate::remote::critical_path::Chain;
use crate::remote::RemoteNode;

pub use settings::{BuildSettings, DEFAULT_JOBS, DEFAULT_LOCK_WAIT, DEFAULT_TAG};
pub use validate::validate;

use hooks::RunHooks;
pub(crate) use job::{build_path, BuildJob};
pub(crate) use plugins::{uses as plugin_uses, BuildPlugins};
pub(crate) use project::root as project_root;
pub(crate) use steps::plural;

pub async fn run(settings: BuildSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    let started = Instant::now();
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let mut job = BuildJob::new(&config, &settings)?;
    let project_root = project::root(config.dir());
    let runtime = Runtime::new(Limits::from_env())?;
    let lock = match (settings.locked, settings.dry_run) {
        (true, _) => LockMode::Locked,
        (false, true) => LockMode::Check,
        (false, false) => LockMode::Write,
    };
    let plugins = if settings.dry_run {
        BuildPlugins::check(&runtime, &config, &job, &printer, &project_root, lock).await?
    } else {
        BuildPlugins::load(&runtime, &config, &job, &printer, &project_root, lock).await?
    };
    job.sync_agent = crate::plugin::sync_agent(&plugins.sync, &job.sync_section, &project_root)?;
    let target = crate::node::resolve(&config).await?;

    if settings.dry_run {
        let hooks = (&config.hooks, settings.hooks);
        dry_run::print_plan(&printer, &job, &target, &plugins, hooks);
        return Ok(Exit::Success);
    }

    let hooks = RunHooks::new(&config, &job, &settings, &target);
    let result = build(job, &plugins, &target, &settings, &hooks, &printer, started).await;
    if let Err(failure) = &result {
        hooks.on_failure(failure, &printer).await;
    }
    result
}

/// From the `pre_build` hook to the summary.
async fn build(
    job: BuildJob,
    plugins: &BuildPlugins,
    target: &crate::node::NodeTarget,
    settings: &BuildSettings,
    hooks: &RunHooks,
    printer: &Arc<Printer>,
    started: Instant,
) -> Result<Exit, Failure> {
    hooks.pre_build(printer).await?;
    let connecting = Instant::now();
    printer.emit(&Event::StepStarted {
        step: Step::Connect,
        detail: target.origin.clone(),
    });
    let node = crate::node::connect(target, &settings.reach, printer).await?;
    printer.emit(&Event::StepFinished {
        step: Step::Connect,
        seconds: connecting.elapsed().as_secs_f64(),
    });
    let pushed = job.push && job.images.is_some();
    let done = execute(job, plugins, node, printer, hooks, interrupted()).await?;
    if pushed {
        hooks.post_push(&done.images, printer).await?;
    }
    printer.emit(&Event::Summary {
        ok: true,
        images: done.images,
        artifacts: done.artifacts,
        seconds: started.elapsed().as_secs_f64(),
        round_trips: Some(done.round_trips),
    });
    Ok(Exit::Success)
}

/// What a run that ended well did on the node.
pub(crate) struct Done {
    pub images: Vec<ImageSummary>,
    /// What `build.artifacts` wrote on this machine.
    pub artifacts: Vec<ArtifactSummary>,
    /// Round trips to the node on the critical path.
    pub round_trips: u64,
}

/// Everything after the connection: the remote steps on `node`, until they
/// end or `stop` resolves (Ctrl-C), then the session is closed.
async fn execute(
    job: BuildJob,
    plugins: &BuildPlugins,
    node: Arc<dyn RemoteNode>,
    printer: &Arc<Printer>,
    hooks: &RunHooks,
    stop: impl Future<Output = ()>,
) -> Result<Done, Failure> {
    let relay = Arc::new(Relay::new(node.clone()));
    let run = steps::Run {
        job,
        plugins,
        node: node.clone(),
        remote_shell: relay.clone(),
        printer,
        hooks,
    };
    let chain = Chain::new();
    chain.add(node.connect_round_trips());
    let (result, lock) = tokio::select! {
        ran = chain.run(run.execute()) => ran,
        () = stop => {
            relay.stop();
            // Dropping the steps' futures starts killing their remote
            // process groups; this waits for that and removes scratch dirs.
            node.interrupt().await;
            let failure = Failure::new(
                Exit::Interrupted,
                anyhow::anyhow!("interrupted; remote work on {} was stopped", node.label()),
            );
            (Err(failure), None)
        }
    };
    relay.stop();
    // The lock's release goes out with the scratch directories' removal:
    // every command of the run has ended (`settle`), so nothing is left for
    // the lock to guard; the reaper follows once both are answered.
    let release = async {
        if let Some(lock) = lock {
            lock.release().await;
        }
    };
    node.close_with(Box::pin(release)).await;
    result
}
