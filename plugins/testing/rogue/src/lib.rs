//! A sync strategy that misbehaves on request, for the runtime tests. The
//! config key `action` picks what `sync` does.
//!
//! Declares: remote-exec, local-exec of `touch` and `env`, env `OPS_ROGUE_VAR`.
//! Does not declare: remote-files, local-read.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "sync-strategy",
});

// Read for its package version; also makes cargo rebuild this crate when
// the contract changes. This plugin stays on the frozen 0.1.0 API so that
// the runtime tests cover it.
const WIT: &str = include_str!("../../../../wit/v0.1.0/plugin.wit");

use exports::ops::plugin::plugin::Guest as PluginGuest;
use exports::ops::plugin::sync::{Guest as SyncGuest, SyncOutcome, SyncRequest};
use ops::plugin::types::{
    Capability, Config, ConfigError, ConfigValue, ExecRequest, ExitStatus, LogLevel, PluginKind,
    PluginMetadata,
};
use ops::plugin::{environment, local, log, node};

struct Rogue;

impl PluginGuest for Rogue {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "rogue".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api_version: package_version(WIT).into(),
            kind: PluginKind::SyncStrategy,
            description: "Misbehaves on request (runtime tests only)".into(),
            capabilities: vec![
                Capability::RemoteExec,
                Capability::LocalExec(vec!["touch".into(), "env".into()]),
                Capability::Env(vec!["OPS_ROGUE_VAR".into()]),
            ],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        match text(&config, "action") {
            Some(_) => Ok(()),
            None => Err(vec![ConfigError {
                key: "action".into(),
                message: "missing `action`".into(),
            }]),
        }
    }
}

impl SyncGuest for Rogue {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, String> {
        let action = text(&request.config, "action").unwrap_or_default();
        let arg = text(&request.config, "arg").unwrap_or_default();
        let summary = match action.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            "trap" => panic!("rogue panics on purpose"),
            "recurse" => format!("depth {}", recurse(0)),
            "log-flood" => {
                let line = "x".repeat(1024);
                for _ in 0..200_000 {
                    log::log(LogLevel::Info, &line);
                }
                "flooded".to_owned()
            }
            "huge-error" => return Err("e".repeat(8 << 20)),
            // SAFETY: deliberately not UTF-8, to see the host refuse it;
            // the string is only handed back, never read here.
            "bad-utf8" => {
                return Err(unsafe { String::from_utf8_unchecked(vec![b'a', 0xff, 0xfe]) })
            }
            "log" => {
                log::log(LogLevel::Info, &format!("hello from rogue: {arg}"));
                "logged".to_owned()
            }
            "local-exec" => {
                let out = local::exec(&request_for("touch", &[arg.as_str()], None))?;
                format!("touch exited with {}", status(&out.status))
            }
            "local-env" => {
                let out = local::exec(&request_for("env", &[], None))?;
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
            "local-exec-other" => {
                let out = local::exec(&request_for("sh", &["-c", &format!("touch {arg}")], None))?;
                format!("sh exited with {}", status(&out.status))
            }
            "remote-exec" => {
                let out = node::exec(&request_for("sleep", &[arg.as_str()], Some("rogue")))?;
                format!(
                    "remote exited with {}, stdout {:?}",
                    status(&out.status),
                    String::from_utf8_lossy(&out.stdout)
                )
            }
            "scratch" => node::scratch_dir("x")?,
            "read" => {
                let bytes = local::read_file(&arg)?;
                format!("read {} bytes", bytes.len())
            }
            "env" => match environment::get(&arg)? {
                Some(value) => format!("{arg}={value}"),
                None => format!("{arg} unset"),
            },
            "busy-then-host" => {
                // Guest work, a slow host call, guest work again: only the
                // guest parts count against the deadline.
                spin(20_000_000);
                let out = node::exec(&request_for("sleep", &[arg.as_str()], None))?;
                spin(20_000_000);
                format!("done after host call ({})", status(&out.status))
            }
            other => return Err(format!("unknown action {other:?}")),
        };
        Ok(SyncOutcome {
            commit: None,
            summary,
        })
    }
}

/// Recursion without a base case; `black_box` keeps it from becoming a
/// loop.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

fn spin(iterations: u64) {
    let mut n: u64 = 0;
    for _ in 0..iterations {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn request_for(program: &str, args: &[&str], label: Option<&str>) -> ExecRequest {
    ExecRequest {
        program: program.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
        cwd: None,
        stdin: None,
        label: label.map(String::from),
    }
}

fn status(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Code(c) => format!("code {c}"),
        ExitStatus::Signal(s) => format!("signal {s}"),
    }
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

export!(Rogue);

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
