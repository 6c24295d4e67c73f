//! The steps of `ops build`, in the spec's order:
//!
//! 1. read `[build]` from `ops.toml` ([`job`]: everything checkable
//!    locally, including every plugin's validation of its section);
//! 2. connect to the build node (one SSH connection for the whole run);
//! 3. sync the code (the `git` or `rsync` sync plugin);
//! 4. run `build.command` ([`steps`]);
//! 5. build the images, at most `-j` at once ([`schedule`]);
//! 6. push them, only if every image built.
//!
//! Ctrl-C (or SIGTERM) at any point kills the remote process groups,
//! removes the run's scratch directories (registry credentials live there)
//! and exits 130.

pub mod job;
mod lock;
pub mod plan;
mod plugins;
mod project;
pub mod schedule;
mod steps;

use std::sync::Arc;
use std::time::Instant;

use crate::cli::args::BuildArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output::{Event, Printer};
use crate::ssh::{ConnectOptions, Session};

use job::BuildJob;
use plugins::BuildPlugins;

pub async fn run(args: BuildArgs, printer: Arc<Printer>) -> Result<Exit, Failure> {
    let started = Instant::now();
    let config = Config::load(&args.node.file, printer.redactor())?;
    let job = BuildJob::new(&config, &args)?;
    let project_root = project::root(config.dir());
    let plugins = BuildPlugins::load(&config, &job, &printer, &project_root).await?;
    let target = crate::node::resolve(&config).await?;

    if args.dry_run {
        steps::print_plan(&printer, &job, &target, &plugins);
        return Ok(Exit::Success);
    }

    printer.emit(&Event::StepStarted {
        step: "connect".into(),
        detail: target.origin.clone(),
    });
    let options = ConnectOptions {
        accept_new_host_key: args.node.accept_new_host_key,
        home: None,
    };
    let session = Session::connect(&target, &options, &printer).await?;
    let mut job = job;
    if let Err(failure) = steps::resolve_build_path(&session, &mut job).await {
        session.close().await;
        return Err(failure);
    }

    let run = steps::Run {
        job: &job,
        plugins: &plugins,
        session: &session,
        printer: &printer,
        started,
    };
    let result = tokio::select! {
        result = run.execute() => result,
        () = interrupted() => {
            // Dropping the steps' futures starts killing their remote
            // process groups; this waits for that and removes scratch dirs.
            session.interrupt_all().await;
            Err(Failure::new(
                Exit::Interrupted,
                anyhow::anyhow!("interrupted; remote work on {} was stopped", session.label()),
            ))
        }
    };
    session.close().await;
    result.map(|()| Exit::Success)
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        // Without a SIGTERM handler Ctrl-C still works.
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
