//! Node disk hygiene: `ops node prune`, `ops node df`, and the `[node]`
//! policy that prunes after every push.
//!
//! The image builder lists and removes images and prunes its cache (plugin
//! API 0.3.0's housekeeping calls); which images go is decided here
//! ([`selection`]), from the labels ops put on every image it built, so
//! that every builder prunes by the same rule and none can widen it. The
//! scratch directories of runs that are over and the free space are the
//! node's own ([`node_space`]).

mod node_space;
mod selection;

use std::sync::Arc;

use crate::config::PluginSection;
use crate::domain::ImageName;
use crate::exit::{Exit, ExitStatusOf};
use crate::plugin::{CallContext, ImageBuilder, PluginError};
use crate::remote::{RemoteError, RemoteNode};

pub use node_space::{Space, Stale};
pub use selection::Selection;

/// The labels that mark an image as made by ops for a project.
pub const PROJECT_LABEL: &str = "ops.project";
/// The repository ops named the image in (`{prefix}/{service}`): only names
/// in it are the project's.
pub const REPOSITORY_LABEL: &str = "ops.repository";
/// The run's start (RFC 3339, UTC, milliseconds): one value for all the
/// images of a run, and in the order the runs were made.
pub const BUILD_LABEL: &str = "ops.build";

#[derive(Debug, thiserror::Error)]
pub enum HousekeepingError {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("cleaning up on the node: {0}")]
    Remote(#[from] RemoteError),
}

impl ExitStatusOf for HousekeepingError {
    fn exit(&self) -> Exit {
        match self {
            HousekeepingError::Plugin(e) => e.exit(),
            // A lost node or Ctrl-C keep their own codes.
            HousekeepingError::Remote(e) => match e.exit() {
                Exit::Usage => Exit::Housekeeping,
                exit => exit,
            },
        }
    }
}

/// A project's images, as its image builder keeps them.
pub struct ProjectImages<'a> {
    pub builder: &'a ImageBuilder,
    /// `[build.image]`.
    pub section: &'a PluginSection,
    pub project: String,
    pub prefix: ImageName,
}

/// What a prune keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSettings {
    /// Builds to keep (at least 1).
    pub keep: usize,
    /// Build cache to keep, in bytes; `None` leaves the cache alone.
    pub cache: Option<u64>,
    pub dry_run: bool,
}

/// What a prune removed (or would).
#[derive(Debug, Default)]
pub struct PruneReport {
    /// `None` without `[build.image]`.
    pub images: Option<Selection>,
    /// Build cache freed (or above the limit, for a dry run); `None` when
    /// not asked to prune it.
    pub cache_freed: Option<u64>,
    pub stale: Stale,
}

/// Prunes `images` (when the project builds some) and the stale scratch
/// directories on `node`. `ctx` carries the node session.
pub async fn prune(
    ctx: &CallContext,
    node: &Arc<dyn RemoteNode>,
    images: Option<&ProjectImages<'_>>,
    settings: &PruneSettings,
) -> Result<PruneReport, HousekeepingError> {
    // The scratch script and the builder's listing wait on the node side
    // by side: one round trip's wait, not two.
    let planning = async {
        match images {
            Some(p) => Some(plan(ctx, p, settings, None).await).transpose(),
            None => Ok(None),
        }
    };
    let (stale, planned) = tokio::join!(stale_scratch(node, settings.dry_run), planning);
    let (stale, planned) = (stale?, planned?);
    let mut report = match images.zip(planned) {
        Some((p, plan)) => apply(ctx, p, plan, settings).await?,
        None => PruneReport::default(),
    };
    report.stale = stale;
    Ok(report)
}

/// Finds, and unless `dry_run` removes, the scratch and run directories
/// of runs that are over. Independent of any build: the `[node]` policy
/// does it beside the image builds.
pub async fn stale_scratch(
    node: &Arc<dyn RemoteNode>,
    dry_run: bool,
) -> Result<Stale, HousekeepingError> {
    Ok(node_space::stale_scratch(node.as_ref(), dry_run).await?)
}

/// What a prune will remove, found without changing anything: the listing
/// and the cache's size, which are what take time.
#[derive(Debug)]
pub struct Plan {
    pub selection: Selection,
    /// Bytes of build cache above the limit; `None` without a limit.
    pub cache_over: Option<u64>,
}

/// Plans a prune of `p`. With `current`, the build of a run still under
/// way: its images are never touched, and it counts as one of the kept
/// builds whether or not the builder lists it yet.
pub async fn plan(
    ctx: &CallContext,
    p: &ProjectImages<'_>,
    settings: &PruneSettings,
    current: Option<&str>,
) -> Result<Plan, HousekeepingError> {
    let listed = p.builder.list_images(ctx, p.section, &p.project).await?;
    let (listed, keep) = match current {
        Some(build) => (
            listed
                .into_iter()
                .filter(|i| i.label(BUILD_LABEL) != Some(build))
                .collect(),
            settings.keep.saturating_sub(1),
        ),
        None => (listed, settings.keep),
    };
    let mut selection = selection::select(&listed, &p.project, &p.prefix, keep);
    if let Some(build) = current {
        selection.kept_builds.insert(0, build.to_owned());
    }
    let cache_over = match settings.cache {
        Some(limit) => {
            let usage = p.builder.storage(ctx, p.section).await?;
            Some(usage.cache.saturating_sub(limit))
        }
        None => None,
    };
    Ok(Plan {
        selection,
        cache_over,
    })
}

/// Carries out `plan` (unless a dry run): the images, then the cache when
/// it is over its limit. The report's `stale` is left empty.
pub async fn apply(
    ctx: &CallContext,
    p: &ProjectImages<'_>,
    plan: Plan,
    settings: &PruneSettings,
) -> Result<PruneReport, HousekeepingError> {
    let selection = plan.selection;
    if !settings.dry_run && !selection.is_empty() {
        let names: Vec<String> = selection.names.iter().map(|r| r.what.clone()).collect();
        let ids: Vec<String> = selection.ids.iter().map(|r| r.what.clone()).collect();
        p.builder
            .remove_images(ctx, p.section, &names, &ids)
            .await?;
    }
    let cache_freed = match (plan.cache_over, settings.cache) {
        // Asking the size first is cheap beside a prune, which walks
        // every cache record: only a cache over its limit is pruned.
        (Some(over), Some(limit)) if over > 0 && !settings.dry_run => {
            Some(p.builder.prune_cache(ctx, p.section, limit).await?)
        }
        (over, _) => over,
    };
    Ok(PruneReport {
        images: Some(selection),
        cache_freed,
        stale: Stale::default(),
    })
}

/// What `ops node df` shows.
#[derive(Debug, Default)]
pub struct DiskReport {
    pub space: Space,
    /// The project's images: how many, in how many builds, and their bytes
    /// (shared layers counted once per image); `None` without images.
    pub images: Option<ImageUsage>,
    pub cache: Option<u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImageUsage {
    pub images: usize,
    pub builds: usize,
    pub bytes: u64,
}

pub async fn usage(
    ctx: &CallContext,
    node: &Arc<dyn RemoteNode>,
    images: Option<&ProjectImages<'_>>,
    build_path: &str,
) -> Result<DiskReport, HousekeepingError> {
    let mut report = DiskReport::default();
    let mut store = None;
    if let Some(p) = images {
        let listed = p.builder.list_images(ctx, p.section, &p.project).await?;
        let ours = selection::project_images(&listed, &p.project, &p.prefix);
        // The builds that count: those with a name left, as a prune ranks them.
        let builds = selection::select(&listed, &p.project, &p.prefix, usize::MAX).kept_builds;
        let counted: Vec<_> = ours
            .iter()
            .filter(|(_, build, _)| builds.iter().any(|b| b == build))
            .collect();
        report.images = Some(ImageUsage {
            images: counted.len(),
            builds: builds.len(),
            bytes: counted.iter().map(|(i, _, _)| i.size).sum(),
        });
        let storage = p.builder.storage(ctx, p.section).await?;
        report.cache = Some(storage.cache);
        store = storage.location;
    }
    report.space = node_space::space(node.as_ref(), build_path, store.as_deref()).await?;
    Ok(report)
}
