//! The plugins one build uses, loaded and with their config sections
//! validated before anything remote happens.

use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, SyncSource};
use crate::exit::Failure;
use crate::output::Printer;
use crate::plugin::{CallContext, ImageBuilder, Registry, RegistryAuth, Runtime, SyncStrategy};

use super::job::BuildJob;

/// The built-in plugin behind each `build.source`.
pub fn sync_plugin_name(source: SyncSource) -> &'static str {
    match source {
        SyncSource::Git => "git",
        SyncSource::Push => "rsync",
    }
}

pub const IMAGE_BUILDER: &str = "docker";
pub const REGISTRY_AUTH: &str = "token-auth";

pub struct BuildPlugins {
    pub sync: SyncStrategy,
    /// Present when the job builds images.
    pub images: Option<ImagePlugins>,
    /// Without a node; the steps add the session.
    pub context: CallContext,
}

pub struct ImagePlugins {
    pub builder: ImageBuilder,
    /// Present when `[build.image]` has a token, i.e. pushing needs a login.
    pub auth: Option<RegistryAuth>,
}

impl BuildPlugins {
    pub async fn load(
        runtime: &Runtime,
        config: &Config,
        job: &BuildJob,
        printer: &Arc<Printer>,
        project_root: &Path,
    ) -> Result<BuildPlugins, Failure> {
        let registry = Registry::new(runtime, &config.plugins)?;
        let context = CallContext::new(printer.clone(), project_root);

        let sync = registry.sync_strategy(sync_plugin_name(job.source)).await?;
        sync.validate(&context, &job.sync_section).await?;

        let images = match &job.images {
            None => None,
            Some(image_job) => {
                let builder = registry.image_builder(IMAGE_BUILDER).await?;
                builder.validate(&context, &image_job.section).await?;
                let auth = if image_job.login {
                    let auth = registry.registry_auth(REGISTRY_AUTH).await?;
                    auth.validate(&context, &image_job.section).await?;
                    Some(auth)
                } else {
                    None
                };
                Some(ImagePlugins { builder, auth })
            }
        };
        Ok(BuildPlugins {
            sync,
            images,
            context,
        })
    }
}
