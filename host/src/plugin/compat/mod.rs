//! Values of the frozen plugin APIs 0.1.0 and 0.2.0 to and from the
//! latest API's. Each older API is a subset of the latest one, apart from
//! the errors: its text errors become `failed` ([`failure`]), and the
//! latest's typed errors reach it as their words ([`error_text`]).

pub mod v0_1;
pub mod v0_2;

use super::bindings::types;

/// The words an older plugin gets for a host call's typed error: the ones
/// every version has been given.
pub fn error_text(error: types::Error) -> String {
    match error {
        types::Error::Refused(m)
        | types::Error::Transient(m)
        | types::Error::NodeLost(m)
        | types::Error::Failed(m) => m,
        types::Error::ToolMissing(t) => t.message,
        types::Error::NoSpace(n) => n.message,
    }
}

/// An older plugin's text error, which says nothing of its kind.
pub fn failure(message: String) -> types::Error {
    types::Error::Failed(message)
}

/// The conversions the two older APIs share: the same records and enums,
/// generated once per version. Expects `old`, `old_sync` and `old_image`
/// to name that version's `types` and export modules at the call site.
macro_rules! shared_conversions {
    () => {
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
                progress: Vec::new(),
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
            image::PushOutcome {
                digest: o.digest,
                platforms: Vec::new(),
            }
        }
    };
}
pub(crate) use shared_conversions;
