//! `plain-builder`: an image builder with keys of its own in
//! `[build.image]`: `flavour` (a string, passed as the build arg
//! `FLAVOUR`) and `squash` (a boolean, accepted and ignored). Any other key
//! that is not the host's is refused with a "did you mean". Builds with
//! `docker build` on the node; it neither logs in nor pushes.

use ops_plugin_sdk::bindings::exports::ops::plugin::image::{
    BuildRequest, PushOutcome, PushRequest,
};
use ops_plugin_sdk::exec::Exec;
use ops_plugin_sdk::{
    unknown_key_message, Capability, Config, ConfigError, ConfigValue, Credentials, Description,
    ImageBuilder, Plugin,
};

const SECTION: &str = "build.image";
/// Its own keys.
const OWN: &[&str] = &["flavour", "squash"];
/// The host's keys of `[build.image]` (and the Dockerfile it passes on).
const HOST: &[&str] = &[
    "prefix",
    "services",
    "binary_arg",
    "registry",
    "username",
    "token",
    "dockerfile",
];

pub struct PlainBuilder;

impl Plugin for PlainBuilder {
    fn describe() -> Description {
        Description {
            name: "plain-builder",
            version: env!("CARGO_PKG_VERSION"),
            description: "docker build with keys of its own (tests only)",
            capabilities: vec![Capability::RemoteExec],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        let known: Vec<&str> = OWN.iter().chain(HOST).copied().collect();
        let mut errors = Vec::new();
        for entry in &config {
            let key = entry.key.as_str();
            let problem = match (key, &entry.value) {
                ("flavour", ConfigValue::Text(_)) | ("squash", ConfigValue::Boolean(_)) => None,
                ("flavour", _) => Some("`flavour` must be a string".to_owned()),
                ("squash", _) => Some("`squash` must be true or false".to_owned()),
                _ if HOST.contains(&key) => None,
                _ => Some(unknown_key_message(key, SECTION, &known)),
            };
            if let Some(message) = problem {
                errors.push(ConfigError {
                    key: key.to_owned(),
                    message,
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl ImageBuilder for PlainBuilder {
    fn login(_config: Config, _credentials: Credentials) -> Result<(), ops_plugin_sdk::Error> {
        Err("plain-builder does not log in to registries".into())
    }

    fn build(request: BuildRequest) -> Result<(), ops_plugin_sdk::Error> {
        // Which keys of `[build.image]` the host handed over (never their
        // values), so that tests can see what a builder receives.
        let keys: Vec<&str> = request.config.iter().map(|e| e.key.as_str()).collect();
        log::info!("received keys: {}", keys.join(" "));
        let mut exec = Exec::remote("docker")
            .args([
                "build",
                "-q",
                "-f",
                &request.dockerfile,
                "-t",
                &request.image,
            ])
            .cwd(request.context.clone())
            .label(request.label.clone());
        for (name, value) in &request.build_args {
            exec = exec.args(["--build-arg".to_owned(), format!("{name}={value}")]);
        }
        let flavour = request
            .config
            .iter()
            .find_map(|e| match (&*e.key, &e.value) {
                ("flavour", ConfigValue::Text(s)) => Some(s.clone()),
                _ => None,
            });
        if let Some(flavour) = flavour {
            exec = exec.args(["--build-arg".to_owned(), format!("FLAVOUR={flavour}")]);
        }
        exec.arg(".").run().map(|_| ())
    }

    fn push(_request: PushRequest) -> Result<PushOutcome, ops_plugin_sdk::Error> {
        Err("plain-builder does not push".into())
    }
}

ops_plugin_sdk::export_image_builder!(PlainBuilder);
