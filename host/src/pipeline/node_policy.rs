//! The `[node]` policy: after the images are built, the same prune as `ops
//! node prune` runs beside the pushes, so the run takes no longer for it.
//! It never touches this run's images (theirs is the newest build, and a
//! policy keeps at least one), and its failure is a warning: the build
//! itself went well.

use std::sync::Arc;

use crate::config::NodePolicy;
use crate::housekeeping::{self, ProjectImages, PruneReport, PruneSettings};
use crate::output::{Event, Printer};
use crate::plugin::CallContext;
use crate::remote::RemoteNode;

use super::image_job::ImageJob;
use super::plugins::ImagePlugins;

/// The builds a prune keeps when neither `--keep` nor `[node] keep` says.
pub const DEFAULT_KEEP: usize = 5;

/// The prune of `policy`, if it asks for one.
pub fn settings(policy: &NodePolicy) -> Option<PruneSettings> {
    policy.prunes().then(|| PruneSettings {
        keep: policy.keep.as_ref().map_or(DEFAULT_KEEP, |k| k.value),
        cache: policy.cache.as_ref().map(|c| c.value.0),
        dry_run: false,
    })
}

/// The project's images as `job` builds them with `plugins`.
pub fn project_images<'a>(job: &'a ImageJob, plugins: &'a ImagePlugins) -> ProjectImages<'a> {
    ProjectImages {
        builder: &plugins.builder,
        section: &job.section,
        project: job.project.clone(),
        prefix: job.prefix.clone(),
    }
}

/// Runs the policy's prune; a failure is only a warning.
pub async fn run(
    ctx: &CallContext,
    node: &Arc<dyn RemoteNode>,
    images: ProjectImages<'_>,
    settings: &PruneSettings,
    printer: &Printer,
) {
    match housekeeping::prune(ctx, node, Some(&images), settings).await {
        Ok(report) => events(&report, settings.dry_run)
            .iter()
            .for_each(|e| printer.emit(e)),
        Err(e) => printer.warn(format!(
            "the [node] policy's prune failed, the build did not: {e}"
        )),
    }
}

/// A prune's events: each removal, then the summary.
pub fn events(report: &PruneReport, dry_run: bool) -> Vec<Event> {
    let mut events = Vec::new();
    let mut summary = Event::PruneSummary {
        builds_kept: 0,
        builds_removed: 0,
        images_removed: 0,
        image_bytes: 0,
        cache_freed: report.cache_freed,
        stale_dirs: (report.stale.runs.len() + report.stale.scratch.len()) as u64,
        dry_run,
    };
    if let Some(selection) = &report.images {
        for removal in selection.names.iter().chain(&selection.ids) {
            events.push(Event::Pruned {
                image: removal.what.clone(),
                build: removal.build.clone(),
                bytes: removal.bytes,
                dry_run,
            });
        }
        if let Event::PruneSummary {
            builds_kept,
            builds_removed,
            images_removed,
            image_bytes,
            ..
        } = &mut summary
        {
            *builds_kept = selection.kept_builds.len() as u64;
            *builds_removed = selection.removed_builds.len() as u64;
            *images_removed = (selection.names.len() + selection.ids.len()) as u64;
            *image_bytes = selection.bytes();
        }
    }
    events.push(summary);
    events
}
