//! `dir-sync`: creates `build.path` on the node and writes its section's
//! `greeting` into `greeting.txt` there; with `run`, then runs that shell
//! line in `build.path` and logs what it printed (as any plugin granted
//! remote-exec could). Declares remote-exec only.
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
const KEYS: &[&str] = &["greeting", "run"];

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
    fn sync(request: SyncRequest) -> Result<SyncOutcome, ops_plugin_sdk::Error> {
        let greeting = greeting(&request.config).unwrap_or_default();
        Exec::remote("mkdir")
            .args(["-p", "--", &request.path])
            .run()?;
        Exec::remote("sh")
            .args([
                "-c",
                "printf '%s\\n' \"$1\" > greeting.txt",
                "sh",
                &greeting,
            ])
            .cwd(request.path.clone())
            .run()?;
        log::info!("wrote greeting.txt into {}", request.path);
        if let Some(line) = text(&request.config, "run") {
            let out = Exec::remote("sh")
                .args(["-c", line.as_str()])
                .cwd(request.path.clone())
                .run()?;
            log::info!("run said: {}", out.stdout_text());
        }
        Ok(SyncOutcome {
            commit: None,
            summary: format!("greeting.txt written into {}", request.path),
        })
    }
}

fn greeting(config: &Config) -> Option<String> {
    text(config, "greeting")
}

fn text(config: &Config, key: &str) -> Option<String> {
    config.iter().find_map(|e| match &e.value {
        ConfigValue::Text(s) | ConfigValue::Secret(s) if e.key == key => Some(s.clone()),
        _ => None,
    })
}

ops_plugin_sdk::export_sync_strategy!(DirSync);
