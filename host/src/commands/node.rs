//! `ops node prune` and `ops node df`: disk hygiene on the build node.
//!
//! Both read the project as `ops build` would (which image builder, which
//! prefix, `build.path`), connect, and ask the image builder (plugin API
//! 0.3.0's housekeeping calls) and the node. What a prune removes is
//! decided in `housekeeping`, from the labels ops put on every image.

use std::path::PathBuf;
use std::sync::Arc;

use comfy_table::{presets, Table};

use crate::config::Config;
use crate::distribution::project::LockMode;
use crate::domain::ByteSize;
use crate::exit::{Exit, ExitStatusOf, Failure};
use crate::housekeeping::{self, DiskReport, PruneSettings};
use crate::node::{connect, ReachSettings};
use crate::output::{Event, Format, Printer};
use crate::pipeline::{node_policy, BuildJob, BuildPlugins, BuildSettings};
use crate::plugin::{Limits, Runtime};

#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub config_file: PathBuf,
    pub reach: ReachSettings,
    pub action: NodeAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAction {
    Prune {
        keep: Option<usize>,
        cache: Option<ByteSize>,
        dry_run: bool,
    },
    Df,
}

pub async fn run(settings: NodeSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let job = BuildJob::new(&config, &BuildSettings::defaults(&settings.config_file))?;
    let root = crate::pipeline::project_root(config.dir());
    let runtime = Runtime::new(Limits::from_env())?;
    // Nothing here builds: ops.lock is read, never written.
    let plugins =
        BuildPlugins::load(&runtime, &config, &job, &printer, &root, LockMode::Check).await?;
    let target = crate::node::resolve(&config).await?;
    let node = connect(&target, &settings.reach, &printer).await?;
    let ctx = plugins.context.clone().with_node(node.clone());
    let images = job
        .images
        .as_ref()
        .zip(plugins.images.as_ref())
        .map(|(job, plugins)| node_policy::project_images(job, plugins));
    let failed =
        |e: housekeeping::HousekeepingError| Failure::new(e.exit(), anyhow::Error::from(e));
    let result = match settings.action {
        NodeAction::Prune {
            keep,
            cache,
            dry_run,
        } => {
            let prune = PruneSettings {
                keep: keep
                    .or(config.node.keep.as_ref().map(|k| k.value))
                    .unwrap_or(node_policy::DEFAULT_KEEP),
                cache: cache
                    .or(config.node.cache.as_ref().map(|c| c.value))
                    .map(|c| c.0),
                dry_run,
            };
            housekeeping::prune(&ctx, &node, images.as_ref(), &prune)
                .await
                .map(|report| {
                    node_policy::events(&report, dry_run)
                        .iter()
                        .for_each(|e| printer.emit(e))
                })
        }
        NodeAction::Df => housekeeping::usage(&ctx, &node, images.as_ref(), &job.path)
            .await
            .map(|report| show_disk(&printer, &job.path, &report)),
    };
    node.close().await;
    result.map_err(failed)?;
    Ok(Exit::Success)
}

fn show_disk(printer: &Printer, build_path: &str, report: &DiskReport) {
    let space = &report.space;
    let usage = report.images.as_ref();
    let event = Event::NodeDisk {
        build_path: build_path.to_owned(),
        build_path_bytes: space.build_path,
        images: usage.map(|u| u.images as u64),
        builds: usage.map(|u| u.builds as u64),
        image_bytes: usage.map(|u| u.bytes),
        cache_bytes: report.cache,
        free_bytes: space.build_fs.as_ref().map(|f| f.available),
        size_bytes: space.build_fs.as_ref().map(|f| f.size),
        store_free_bytes: space.store_fs.as_ref().map(|f| f.available),
        store_mount: space.store_fs.as_ref().map(|f| f.mount.clone()),
    };
    if printer.format() == Format::Json {
        printer.emit(&event);
        return;
    }
    let size = |b: Option<u64>| b.map_or_else(|| "-".to_owned(), |b| ByteSize(b).to_string());
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(["WHAT", "SIZE", "DETAIL"]);
    let path_detail = if space.build_path.is_some() {
        build_path.to_owned()
    } else {
        format!("{build_path} (not there yet)")
    };
    table.add_row(["build path".to_owned(), size(space.build_path), path_detail]);
    if let Some(u) = usage {
        table.add_row([
            "images".to_owned(),
            size(Some(u.bytes)),
            format!(
                "{} images of {} builds (shared layers counted in each)",
                u.images, u.builds
            ),
        ]);
        table.add_row(["build cache".to_owned(), size(report.cache), String::new()]);
    }
    if let Some(fs) = &space.build_fs {
        table.add_row([
            "free".to_owned(),
            size(Some(fs.available)),
            format!("of {} on {}", ByteSize(fs.size), fs.mount),
        ]);
    }
    if let Some(fs) = space
        .store_fs
        .as_ref()
        .filter(|s| Some(&s.mount) != space.build_fs.as_ref().map(|b| &b.mount))
    {
        table.add_row([
            "free (builder)".to_owned(),
            size(Some(fs.available)),
            format!("of {} on {}", ByteSize(fs.size), fs.mount),
        ]);
    }
    printer.data(&table.to_string());
}
