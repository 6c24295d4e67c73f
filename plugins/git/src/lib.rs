//! `git`: the sync strategy for `source = "git"`.
//!
//! Clones `repo` into `build.path` on the node (or fetches when it is
//! already there), checks out `--ref`, else `build.branch`, else the remote's
//! default branch, resets hard and keeps ignored files (warm `target/`
//! caches). Credentials never reach the node's argv, its git config or any
//! output: the SSH key lives in a host-managed scratch directory for the run
//! and is named through `GIT_SSH_COMMAND`; an HTTPS token travels as an
//! environment-only git config entry.

wit_bindgen::generate!({
    path: "../../wit/v0.2.0",
    world: "sync-strategy",
});

// Makes cargo rebuild this crate when the contract changes: the macro
// above reads the WIT without telling cargo.
const _: &str = include_str!("../../../wit/v0.2.0/plugin.wit");

mod auth;
mod config;
mod sync;

use exports::ops::plugin::plugin::Guest as PluginGuest;
use exports::ops::plugin::sync::{Guest as SyncGuest, SyncOutcome, SyncRequest};
use ops::plugin::types::{Capability, Config, ConfigError, PluginKind, PluginMetadata};

struct Git;

impl PluginGuest for Git {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "git".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api_version: ops_plugin_common::API_VERSION.into(),
            kind: PluginKind::SyncStrategy,
            description: "Clone or fetch [build.git] repo on the build node and check out the ref"
                .into(),
            capabilities: vec![
                Capability::RemoteExec,
                Capability::RemoteFiles,
                Capability::LocalRead,
            ],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        let parsed = config::GitConfig::parse(&config)?;
        // A missing key file is a config error now, not a failed sync after
        // connecting to the node.
        if let Some(path) = &parsed.ssh_key {
            if let Err(e) = ops::plugin::local::read_file(path) {
                return Err(vec![ConfigError {
                    key: "ssh_key".into(),
                    message: e,
                }]);
            }
        }
        Ok(())
    }
}

impl SyncGuest for Git {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, String> {
        let config = config::GitConfig::parse(&request.config).map_err(|errors| {
            let lines: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            lines.join("; ")
        })?;
        sync::run(&config, &request).map_err(|e| auth::explain_refusal(&config, e))
    }
}

export!(Git);
