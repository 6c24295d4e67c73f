//! `git`: the sync strategy for `source = "git"`.
//!
//! Clones `repo` into `build.path` on the node (or fetches when it is
//! already there), checks out `--ref`, else `build.branch`, else the remote's
//! default branch, resets hard and keeps ignored files (warm `target/`
//! caches). Credentials never reach the node's argv, its git config or any
//! output: the SSH key is never on the node at all (the host serves it to
//! this plugin's commands as an agent holding that key only); an HTTPS
//! token travels as an environment-only git config entry.

// The SDK's bindings under the names the modules of this crate use.
use ops_plugin_sdk::bindings::{exports, ops};

mod auth;
mod config;
mod sync;

use exports::ops::plugin::sync::{SyncOutcome, SyncRequest};
use ops::plugin::types::{Capability, Config, ConfigError};

struct Git;

impl ops_plugin_sdk::Plugin for Git {
    fn describe() -> ops_plugin_sdk::Description {
        ops_plugin_sdk::Description {
            name: "git",
            version: env!("CARGO_PKG_VERSION"),
            description: "Clone or fetch [build.git] repo on the build node and check out the ref",
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
                    message: e.into(),
                }]);
            }
        }
        Ok(())
    }
}

impl ops_plugin_sdk::SyncStrategy for Git {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, ops_plugin_sdk::Error> {
        let config = config::GitConfig::parse(&request.config).map_err(|errors| {
            let lines: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            lines.join("; ")
        })?;
        sync::run(&config, &request).map_err(|e| {
            let message = auth::explain_refusal(&config, e);
            if ops_plugin_sdk::error::is_disk_full(&message) {
                ops_plugin_sdk::error::no_space(message, request.path.clone())
            } else {
                ops_plugin_sdk::Error::Failed(message)
            }
        })
    }
}

ops_plugin_sdk::export_sync_strategy!(Git);
