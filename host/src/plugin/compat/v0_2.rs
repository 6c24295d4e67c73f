//! Plugin API 0.2.0 values to and from the latest API's. 0.3.0 only adds
//! to 0.2.0 (typed errors, progress patterns, a push's platforms), so every
//! 0.2.0 value has one latest counterpart.

use crate::plugin::bindings::latest::exports::ops::plugin::{image, sync};
use crate::plugin::bindings::types;
use crate::plugin::bindings::v0_2_0::exports::ops::plugin::image as old_image;
use crate::plugin::bindings::v0_2_0::exports::ops::plugin::sync as old_sync;
use crate::plugin::bindings::v0_2_0::ops::plugin::types as old;

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
                old::Capability::Http(h) => types::Capability::Http(h),
            })
            .collect(),
    }
}

pub fn http_request(r: old::HttpRequest) -> types::HttpRequest {
    types::HttpRequest {
        method: r.method,
        url: r.url,
        headers: r.headers,
        body: r.body,
    }
}

pub fn http_response(r: types::HttpResponse) -> old::HttpResponse {
    old::HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

super::shared_conversions!();
