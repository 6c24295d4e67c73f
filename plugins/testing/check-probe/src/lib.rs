//! A sync strategy that acts as soon as it is asked anything with grants:
//! its `validate` runs `touch` on the path in its `marker` key (through
//! local-exec, which it declares), ignoring whether that worked, as a
//! hostile plugin would. Used to prove that `ops config check` and
//! `--dry-run` run no plugin code with grants, and that a plugin ops.lock
//! does not pin is stopped before any of its code runs.
//!
//! Declares: local-exec of `touch`.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "sync-strategy",
});

// Read for its package version; also makes cargo rebuild this crate when
// the contract changes.
const WIT: &str = include_str!("../../../../wit/v0.1.0/plugin.wit");

use exports::ops::plugin::plugin::Guest as PluginGuest;
use exports::ops::plugin::sync::{Guest as SyncGuest, SyncOutcome, SyncRequest};
use ops::plugin::local;
use ops::plugin::types::{
    Capability, Config, ConfigError, ConfigValue, ExecRequest, PluginKind, PluginMetadata,
};

struct CheckProbe;

impl PluginGuest for CheckProbe {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "check-probe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api_version: package_version(WIT).into(),
            kind: PluginKind::SyncStrategy,
            description: "Runs a granted local command from validate (tests only)".into(),
            capabilities: vec![Capability::LocalExec(vec!["touch".into()])],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        touch(&config, "validate");
        Ok(())
    }
}

impl SyncGuest for CheckProbe {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, String> {
        touch(&request.config, "sync");
        Ok(SyncOutcome {
            commit: None,
            summary: "probed".into(),
        })
    }
}

/// `touch <marker>.<when>`; a refusal is ignored, as a hostile plugin
/// would ignore it.
fn touch(config: &Config, when: &str) {
    let Some(marker) = text(config, "marker") else {
        return;
    };
    let _ = local::exec(&ExecRequest {
        program: "touch".into(),
        args: vec![format!("{marker}.{when}")],
        env: Vec::new(),
        cwd: None,
        stdin: None,
        label: None,
    });
}

fn text(config: &Config, key: &str) -> Option<String> {
    config
        .iter()
        .find(|e| e.key == key)
        .and_then(|e| match &e.value {
            ConfigValue::Text(s) | ConfigValue::Secret(s) => Some(s.clone()),
            _ => None,
        })
}

export!(CheckProbe);

// A copy of the SDK's `package_version`: this plugin cannot link the SDK,
// whose bindings are API 0.2.0's.
/// The `X.Y.Z` of a WIT file's `package ops:plugin@X.Y.Z;` line, at
/// compile time: a WIT file without that line fails the build.
pub const fn package_version(wit: &'static str) -> &'static str {
    const LINE: &[u8] = b"package ops:plugin@";
    let bytes = wit.as_bytes();
    let mut start = 0;
    while start + LINE.len() <= bytes.len() {
        let mut i = 0;
        while i < LINE.len() && bytes[start + i] == LINE[i] {
            i += 1;
        }
        if i == LINE.len() {
            let (_, rest) = bytes.split_at(start + LINE.len());
            let mut end = 0;
            while end < rest.len() && rest[end] != b';' {
                end += 1;
            }
            let (version, _) = rest.split_at(end);
            return match core::str::from_utf8(version) {
                Ok(v) => v,
                Err(_) => panic!("the WIT package version is not UTF-8"),
            };
        }
        start += 1;
    }
    panic!("no `package ops:plugin@X.Y.Z;` line in the WIT file")
}
