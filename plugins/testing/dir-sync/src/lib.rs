//! `dir-sync`: creates `build.path` on the node and writes its section's
//! `greeting` into `greeting.txt` there. Declares remote-exec only.
//!
//! ```toml
//! [build]
//! source = "dir-sync"
//! [build.dir-sync]
//! greeting = "hello"
//! ```

use ops_plugin_sdk::bindings::exports::ops::plugin::sync::{SyncOutcome, SyncRequest};
use ops_plugin_sdk::exec::Exec;
use ops_plugin_sdk::{
    unknown_key_message, Capability, Config, ConfigError, ConfigValue, Description, Plugin,
    SyncStrategy,
};

const SECTION: &str = "build.dir-sync";
const KEYS: &[&str] = &["greeting"];

pub struct DirSync;

impl Plugin for DirSync {
    fn describe() -> Description {
        Description {
            name: "dir-sync",
            version: env!("CARGO_PKG_VERSION"),
            description: "Creates build.path and writes greeting.txt into it",
            capabilities: vec![Capability::RemoteExec],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        for entry in &config {
            if !KEYS.contains(&entry.key.as_str()) {
                errors.push(ConfigError {
                    key: entry.key.clone(),
                    message: unknown_key_message(&entry.key, SECTION, KEYS),
                });
            }
        }
        if greeting(&config).is_none() {
            errors.push(ConfigError {
                key: "greeting".into(),
                message: format!("missing `greeting` (a string) in [{SECTION}]"),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl SyncStrategy for DirSync {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, String> {
        let greeting = greeting(&request.config).unwrap_or_default();
        Exec::remote("mkdir").args(["-p", "--", &request.path]).run()?;
        Exec::remote("sh")
            .args(["-c", "printf '%s\\n' \"$1\" > greeting.txt", "sh", &greeting])
            .cwd(request.path.clone())
            .run()?;
        log::info!("wrote greeting.txt into {}", request.path);
        Ok(SyncOutcome {
            commit: None,
            summary: format!("greeting.txt written into {}", request.path),
        })
    }
}

fn greeting(config: &Config) -> Option<String> {
    config.iter().find_map(|e| match (&*e.key, &e.value) {
        ("greeting", ConfigValue::Text(s) | ConfigValue::Secret(s)) => Some(s.clone()),
        _ => None,
    })
}

ops_plugin_sdk::export_sync_strategy!(DirSync);
