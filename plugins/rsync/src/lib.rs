//! `rsync`: the sync strategy for `source = "push"`: the local project tree
//! to `build.path` with delta transfer, honouring `.gitignore` and
//! `[build.push] exclude`.
//!
//! Its transport is the SSH connection ops already opened and verified:
//! `node.remote-shell` gives the program line that local rsync uses as `-e`,
//! so host keys, auth, ProxyJump and "one login per run" hold as for every
//! other step.

// The SDK's bindings under the names the modules of this crate use.
use ops_plugin_sdk::bindings::{exports, ops};

pub mod args;

use exports::ops::plugin::sync::{SyncOutcome, SyncRequest};
use ops::plugin::types::{Capability, Config, ConfigError, ConfigValue, ExecRequest, ExitStatus};
use ops::plugin::{local, node};
use ops_plugin_sdk::error::{is_disk_full, no_space, tool_missing};
use ops_plugin_sdk::{unknown_key_message, Error};

const SECTION: &str = "build.push";
const KEYS: &[&str] = &["exclude"];

struct Rsync;

impl ops_plugin_sdk::Plugin for Rsync {
    fn describe() -> ops_plugin_sdk::Description {
        ops_plugin_sdk::Description {
            name: "rsync",
            version: env!("CARGO_PKG_VERSION"),
            description: "Push the local project tree to the build node with rsync",
            capabilities: vec![
                Capability::LocalExec(vec!["rsync".into()]),
                Capability::RemoteExec,
            ],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        excludes(&config).map(|_| ())
    }
}

impl ops_plugin_sdk::SyncStrategy for Rsync {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, Error> {
        let excludes = excludes(&request.config).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        if request.git_ref.is_some() {
            return Err(
                "--ref cannot be used with source = \"push\": the local working tree is sent as it is"
                    .into(),
            );
        }
        let rsh = node::remote_shell()?;
        let root = local::project_root();
        let out = local::exec(&ExecRequest {
            program: "rsync".into(),
            args: args::rsync_args(&rsh, &root, "build-node", &request.path, &excludes),
            env: Vec::new(),
            cwd: Some(root.clone()),
            stdin: None,
            label: None,
            progress: Vec::new(),
        })
        .map_err(|e| match e {
            Error::ToolMissing(_) => tool_missing(
                "rsync is not installed on this machine",
                "install it (Debian/Ubuntu: apt-get install rsync, macOS: brew install rsync)",
            ),
            e => e,
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status {
            ExitStatus::Code(0) => {}
            // The node's shell could not find rsync (`sh: 1: rsync: not
            // found`); local rsync then only says the connection closed.
            ExitStatus::Code(_) if rsync_missing_on_node(&stderr) => {
                return Err(tool_missing(
                    "rsync is not installed on the build node",
                    "install it there (Debian/Ubuntu: apt-get install rsync)",
                ))
            }
            ExitStatus::Code(code) => {
                let message = format!(
                    "rsync of {root} to {} failed with exit code {code}: {}",
                    request.path,
                    tail(&stderr)
                );
                if is_disk_full(&stderr) {
                    return Err(no_space(message, request.path.clone()));
                }
                return Err(message.into());
            }
            ExitStatus::Signal(sig) => {
                return Err(format!("rsync was killed by signal SIG{sig}").into())
            }
        }
        let (files, sent) = args::parse_stats(&String::from_utf8_lossy(&out.stdout));
        let mut summary = format!("pushed {root}");
        if let Some(files) = files {
            summary.push_str(&format!(", {files} files changed"));
        }
        if let Some(sent) = sent {
            summary.push_str(&format!(", {sent} bytes sent"));
        }
        Ok(SyncOutcome {
            commit: None,
            summary,
        })
    }
}

fn rsync_missing_on_node(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|line| line.contains("rsync: not found") || line.contains("rsync: command not found"))
}

/// The last lines of a program's error output, which say what went wrong.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

fn excludes(config: &Config) -> Result<Vec<String>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut patterns = Vec::new();
    for entry in config {
        match (entry.key.as_str(), &entry.value) {
            ("exclude", ConfigValue::TextList(list)) => {
                for pattern in list {
                    match args::check_pattern(pattern) {
                        Ok(()) => patterns.push(pattern.clone()),
                        Err(problem) => errors.push(ConfigError {
                            key: "exclude".into(),
                            message: format!("exclude pattern {pattern:?} {problem}"),
                        }),
                    }
                }
            }
            ("exclude", _) => errors.push(ConfigError {
                key: "exclude".into(),
                message:
                    "`exclude` must be a list of patterns, e.g. exclude = [\"target/\", \"*.log\"]"
                        .into(),
            }),
            (key, _) => errors.push(ConfigError {
                key: key.into(),
                message: unknown_key_message(key, SECTION, KEYS),
            }),
        }
    }
    if errors.is_empty() {
        Ok(patterns)
    } else {
        Err(errors)
    }
}

ops_plugin_sdk::export_sync_strategy!(Rsync);
