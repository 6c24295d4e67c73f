//! `--dry-run`: what would happen, touching nothing.

use crate::config::Hooks;
use crate::node::NodeTarget;
use crate::output::Printer;

use super::job::BuildJob;
use super::plugins::BuildPlugins;
use super::steps::plural;

/// `--dry-run`: what would happen, touching nothing.
pub(super) fn print_plan(
    printer: &Printer,
    job: &BuildJob,
    target: &NodeTarget,
    plugins: &BuildPlugins,
    hooks: (&Hooks, bool),
) {
    let mut lines = vec![format!("build node: {} ({})", target.host, target.origin)];
    lines.push(format!(
        "sync: {} ({}) into {}{}",
        job.sync_plugin,
        plugins.sync.plugin().metadata().version,
        job.path,
        match (&job.git_ref, &job.branch) {
            (Some(r), _) => format!(", ref {r}"),
            (None, Some(b)) => format!(", branch {b}"),
            (None, None) => String::new(),
        }
    ));
    lines.push(format!("build: sh -c {:?} in {}", job.command, job.path));
    if !job.artifacts.is_empty() {
        let patterns: Vec<String> = job.artifacts.iter().map(|a| format!("{a:?}")).collect();
        lines.push(format!(
            "artifacts: {} into {}",
            patterns.join(", "),
            job.artifacts_dir.display()
        ));
    }
    match &job.images {
        None => lines.push("images: none ([build.image] is absent)".into()),
        Some(images) => {
            lines.push(format!(
                "images: {} from {} with {}, {} at a time",
                plural(images.plans.len(), "image"),
                images.dockerfile,
                images.builder,
                job.jobs
            ));
            for plan in &images.plans {
                lines.push(format!("  {plan}"));
            }
            lines.push(if job.push {
                format!(
                    "push: yes{}",
                    match (&images.registry, images.login) {
                        (Some(r), true) => format!(" (login to {r})"),
                        _ => String::new(),
                    }
                )
            } else {
                "push: no (--no-push)".into()
            });
        }
    }
    let (hooks, run) = hooks;
    if !hooks.is_empty() {
        lines.push(match run {
            true => "hooks, run on this machine with sh -c:".to_owned(),
            false => "hooks: none run (--no-hooks); the file names:".to_owned(),
        });
        for (point, command) in hooks.iter() {
            lines.push(format!("  {point}: {}", command.as_str()));
        }
    }
    printer.info("dry run: nothing was touched; this build would do:");
    for line in lines {
        printer.info(format!("  {line}"));
    }
}
