//! The image builder's housekeeping calls (plugin API 0.3.0): listing the
//! images ops made, removing some, the build cache's size, pruning it.
//!
//! Only builders of API 0.3.0 have them; an older one gets a failure that
//! names its API version, so that `ops node prune` says why it cannot.
//! Whatever a builder answers is checked here before anything acts on it:
//! a hostile builder's names and ids may end up in the next call and on the
//! user's terminal.

use super::bindings;
use super::context::CallContext;
use super::convert;
use super::error::{Fault, Operation, PluginError};
use super::handles::ImageBuilder;
use super::loaded::{within_limits, Pre};
use super::requests::{StorageUsage, StoredImage};
use crate::config::PluginSection;

/// At most this many images are taken from one listing.
const MAX_IMAGES: usize = 10_000;

/// Calls `$call` on a fresh instance of an API 0.3.0 builder; an older one
/// cannot do `$op`.
macro_rules! call_latest {
    ($builder:expr, $op:expr, $ctx:expr, $section:expr, |$b:ident, $store:ident| $call:expr) => {{
        let inner = &$builder.plugin().inner;
        let Pre::Latest(pre) = &inner.pre else {
            return Err(PluginError::Failed {
                plugin: inner.name.clone(),
                operation: $op,
                fault: Fault::Failed,
                message: format!(
                    "it targets plugin API {}, which has no image housekeeping; a builder for \
                     API 0.3.0 or later can {}",
                    inner.metadata.api_version,
                    $op.as_str()
                ),
            });
        };
        let mut $store = inner.new_store($ctx.clone(), convert::readable_paths($section));
        let clock = $store.data().clock.clone();
        let result = within_limits(&clock, async {
            match pre.instantiate_async(&mut $store).await {
                Ok($b) => $call.await,
                Err(e) => Err(e),
            }
        })
        .await;
        inner.settle($op, &$store, result)
    }};
}

impl ImageBuilder {
    /// This project's images on the node, as the builder lists them.
    pub async fn list_images(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
        project: &str,
    ) -> Result<Vec<StoredImage>, PluginError> {
        let config = convert::to_wit(section);
        let listed = call_latest!(self, Operation::ListImages, ctx, section, |b, store| b
            .ops_plugin_image()
            .call_list_images(&mut store, &config, project))?;
        if listed.len() > MAX_IMAGES {
            return Err(self.contract(format!(
                "it listed {} images, more than {MAX_IMAGES}",
                listed.len()
            )));
        }
        listed
            .into_iter()
            .map(|image| StoredImage::checked(image).map_err(|m| self.contract(m)))
            .collect()
    }

    /// Removes `names`, then the images of `ids` left without a name.
    pub async fn remove_images(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
        names: &[String],
        ids: &[String],
    ) -> Result<(), PluginError> {
        let config = convert::to_wit(section);
        call_latest!(self, Operation::RemoveImages, ctx, section, |b, store| b
            .ops_plugin_image()
            .call_remove_images(&mut store, &config, names, ids))
    }

    pub async fn storage(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
    ) -> Result<StorageUsage, PluginError> {
        let config = convert::to_wit(section);
        let usage: bindings::latest::exports::ops::plugin::image::StorageUsage =
            call_latest!(self, Operation::Storage, ctx, section, |b, store| b
                .ops_plugin_image()
                .call_storage(&mut store, &config))?;
        StorageUsage::checked(usage.cache, usage.location).map_err(|m| self.contract(m))
    }

    /// Prunes the build cache down to `keep_bytes`; the bytes freed.
    pub async fn prune_cache(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
        keep_bytes: u64,
    ) -> Result<u64, PluginError> {
        let config = convert::to_wit(section);
        call_latest!(self, Operation::PruneCache, ctx, section, |b, store| b
            .ops_plugin_image()
            .call_prune_cache(&mut store, &config, keep_bytes))
    }

    fn contract(&self, message: String) -> PluginError {
        PluginError::Contract {
            plugin: self.plugin().name().to_owned(),
            message,
        }
    }
}
