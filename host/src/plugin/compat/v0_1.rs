//! Plugin API 0.1.0 values to and from the latest API's. Later versions
//! only add to 0.1.0 (the `http` capability and interface, typed errors,
//! progress patterns), so every 0.1.0 value has one latest counterpart.

use crate::plugin::bindings::latest::exports::ops::plugin::{image, sync};
use crate::plugin::bindings::types;
use crate::plugin::bindings::v0_1_0::image::exports::ops::plugin::image as old_image;
use crate::plugin::bindings::v0_1_0::sync::exports::ops::plugin::sync as old_sync;
use crate::plugin::bindings::v0_1_0::types as old;

pub fn metadata(m: old::PluginMetadata) -> types::PluginMetadata {
    types::PluginMetadata {
        name: m.name,
        version: m.version,
        api_version: m.api_version,
        kind: match m.kind {
            old::PluginKind::SyncStrategy => types::PluginKind::SyncStrategy,
            old::PluginKind::RegistryAuth => types::PluginKind::RegistryAuth,
            old::PluginKind::ImageBuilder => types::PluginKind::ImageBuilder,
        },
        description: m.description,
        capabilities: m
            .capabilities
            .into_iter()
            .map(|c| match c {
                old::Capability::RemoteExec => types::Capability::RemoteExec,
                old::Capability::RemoteFiles => types::Capability::RemoteFiles,
                old::Capability::LocalExec(p) => types::Capability::LocalExec(p),
                old::Capability::LocalRead => types::Capability::LocalRead,
                old::Capability::Env(n) => types::Capability::Env(n),
            })
            .collect(),
    }
}

super::shared_conversions!();
