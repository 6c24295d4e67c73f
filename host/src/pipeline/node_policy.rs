//! The `[node]` policy: the same prune as `ops node prune` after every run
//! that pushes, off the critical path. What to remove is found beside the
//! image builds (listing, cache size: the slow part, which changes
//! nothing); it is removed beside the pushes, once every image was built,
//! so a run whose build fails removes nothing. This run's build is never
//! touched and counts as one of the kept. A failure is a warning: the
//! build itself went well.

use std::sync::Arc;

use crate::config::NodePolicy;
use crate::housekeeping::{self, Plan, ProjectImages, PruneReport, PruneSettings, Stale};
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

/// The policy's plan, made beside the image builds: the listing and the
/// cache's size are what take time, and they change nothing; the stale
/// scratch directories of other runs go meanwhile. This run's build is
/// kept apart. A failure is only a warning, and no prune follows.
pub async fn plan(
    ctx: &CallContext,
    node: &Arc<dyn RemoteNode>,
    job: &ImageJob,
    plugins: &ImagePlugins,
    settings: &PruneSettings,
    printer: &Printer,
) -> Option<(Plan, Stale)> {
    let images = project_images(job, plugins);
    let (plan, stale) = tokio::join!(
        housekeeping::plan(ctx, &images, settings, Some(&job.build_id)),
        housekeeping::stale_scratch(node, settings.dry_run)
    );
    match plan.and_then(|plan| Ok((plan, stale?))) {
        Ok(planned) => Some(planned),
        Err(e) => {
            warned(printer, &e);
            None
        }
    }
}

/// Carries out `plan` beside the pushes, once every image was built.
pub async fn apply(
    ctx: &CallContext,
    images: ProjectImages<'_>,
    (plan, stale): (Plan, Stale),
    settings: &PruneSettings,
    printer: &Printer,
) {
    match housekeeping::apply(ctx, &images, plan, settings).await {
        Ok(report) => {
            let report = PruneReport { stale, ..report };
            events(&report, settings.dry_run)
                .iter()
                .for_each(|e| printer.emit(e))
        }
        Err(e) => warned(printer, &e),
    }
}

fn warned(printer: &Printer, error: &housekeeping::HousekeepingError) {
    printer.warn(format!(
        "the [node] policy's prune failed, the build did not: {error}"
    ));
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
