//! Plugin API 0.1.0 values to and from the latest API's. 0.2.0 only adds
//! to 0.1.0 (the `http` capability and interface), so every 0.1.0 value has
//! one latest counterpart and back; only the latest-API values that 0.1.0
//! cannot express (none cross this boundary) would be lost.

use super::bindings::latest::exports::ops::plugin::{image, sync};
use super::bindings::types;
use super::bindings::v0_1_0::image::exports::ops::plugin::image as old_image;
use super::bindings::v0_1_0::sync::exports::ops::plugin::sync as old_sync;
use super::bindings::v0_1_0::types as old;

pub fn log_level(level: old::LogLevel) -> types::LogLevel {
    match level {
        old::LogLevel::Trace => types::LogLevel::Trace,
        old::LogLevel::Debug => types::LogLevel::Debug,
        old::LogLevel::Info => types::LogLevel::Info,
        old::LogLevel::Warn => types::LogLevel::Warn,
        old::LogLevel::Error => types::LogLevel::Error,
    }
}

pub fn exec_request(r: old::ExecRequest) -> types::ExecRequest {
    types::ExecRequest {
        program: r.program,
        args: r.args,
        env: r.env,
        cwd: r.cwd,
        stdin: r.stdin,
        label: r.label,
    }
}

pub fn exec_output(o: types::ExecOutput) -> old::ExecOutput {
    old::ExecOutput {
        status: match o.status {
            types::ExitStatus::Code(c) => old::ExitStatus::Code(c),
            types::ExitStatus::Signal(s) => old::ExitStatus::Signal(s),
        },
        stdout: o.stdout,
        stderr: o.stderr,
        truncated: o.truncated,
    }
}

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

pub fn config(config: &[types::ConfigEntry]) -> Vec<old::ConfigEntry> {
    config
        .iter()
        .map(|e| old::ConfigEntry {
            key: e.key.clone(),
            value: match &e.value {
                types::ConfigValue::Text(s) => old::ConfigValue::Text(s.clone()),
                types::ConfigValue::Secret(s) => old::ConfigValue::Secret(s.clone()),
                types::ConfigValue::Integer(i) => old::ConfigValue::Integer(*i),
                types::ConfigValue::Float(f) => old::ConfigValue::Float(*f),
                types::ConfigValue::Boolean(b) => old::ConfigValue::Boolean(*b),
                types::ConfigValue::TextList(l) => old::ConfigValue::TextList(l.clone()),
            },
        })
        .collect()
}

pub fn config_errors(errors: Vec<old::ConfigError>) -> Vec<types::ConfigError> {
    errors
        .into_iter()
        .map(|e| types::ConfigError {
            key: e.key,
            message: e.message,
        })
        .collect()
}

pub fn credentials_to_old(c: &types::Credentials) -> old::Credentials {
    old::Credentials {
        registry: c.registry.clone(),
        username: c.username.clone(),
        secret: c.secret.clone(),
    }
}

pub fn credentials(c: old::Credentials) -> types::Credentials {
    types::Credentials {
        registry: c.registry,
        username: c.username,
        secret: c.secret,
    }
}

pub fn sync_request(r: &sync::SyncRequest) -> old_sync::SyncRequest {
    old_sync::SyncRequest {
        config: config(&r.config),
        path: r.path.clone(),
        git_ref: r.git_ref.clone(),
        branch: r.branch.clone(),
    }
}

pub fn sync_outcome(o: old_sync::SyncOutcome) -> sync::SyncOutcome {
    sync::SyncOutcome {
        commit: o.commit,
        summary: o.summary,
    }
}

pub fn build_request(r: &image::BuildRequest) -> old_image::BuildRequest {
    old_image::BuildRequest {
        config: config(&r.config),
        context: r.context.clone(),
        dockerfile: r.dockerfile.clone(),
        image: r.image.clone(),
        build_args: r.build_args.clone(),
        label: r.label.clone(),
    }
}

pub fn push_request(r: &image::PushRequest) -> old_image::PushRequest {
    old_image::PushRequest {
        config: config(&r.config),
        image: r.image.clone(),
        label: r.label.clone(),
    }
}

pub fn push_outcome(o: old_image::PushOutcome) -> image::PushOutcome {
    image::PushOutcome { digest: o.digest }
}
