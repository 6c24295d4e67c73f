//! `[build.image]`, the image builder's section. `prefix`, `services`,
//! `binary_arg` and the registry keys are the host's (it checks them); this
//! plugin owns `dockerfile` and the build options, and refuses any other
//! key.

use ops_plugin_sdk::unknown_key_message;

use crate::ops::plugin::types::{Config, ConfigError, ConfigValue};
use crate::options;

const SECTION: &str = "build.image";
/// `dockerfile` and the host's keys, which reach every image builder.
const KEYS: &[&str] = &[
    "dockerfile",
    "registry",
    "token",
    "username",
    "prefix",
    "binary_arg",
    "services",
];

pub fn validate(config: &Config) -> Result<(), Vec<ConfigError>> {
    let mut errors = Vec::new();
    let known: Vec<&str> = KEYS.iter().chain(options::KEYS).copied().collect();
    for entry in config {
        if !KEYS.contains(&entry.key.as_str()) && !options::owns(&entry.key) {
            errors.push(error(
                &entry.key,
                unknown_key_message(&entry.key, SECTION, &known),
            ));
        }
    }
    match options::parse(config) {
        Ok(options) => {
            if let Some(arg) = text(config, "binary_arg") {
                if options.build_args.iter().any(|(k, _)| k == arg) {
                    errors.push(error(
                        &format!("build_args.{arg}"),
                        format!("`build_args.{arg}` is set by ops per service (it is `binary_arg`); remove it"),
                    ));
                }
            }
        }
        Err(more) => errors.extend(more),
    }
    // buildah 1.28's layer cache ignores the platform of a `FROM scratch`
    // stage: with several platforms it would put one image in every entry.
    if get(config, "platforms").is_some() {
        for key in ["cache_from", "cache_to"] {
            if get(config, key).is_some() {
                errors.push(error(
                    key,
                    format!("`{key}` cannot be combined with `platforms` for buildah: buildah 1.28's layer cache does not tell platforms apart, so multi-platform builds run without it; remove `{key}` or `platforms`"),
                ));
            }
        }
    }
    match get(config, "dockerfile") {
        None | Some(ConfigValue::Text(_)) | Some(ConfigValue::Secret(_)) => {}
        Some(_) => errors.push(error("dockerfile", "`dockerfile` must be a string".into())),
    }
    if let Some(dockerfile) = text(config, "dockerfile") {
        if dockerfile.trim().is_empty() || dockerfile.starts_with('-') {
            errors.push(error(
                "dockerfile",
                format!("`dockerfile` {dockerfile:?} is not a file name"),
            ));
        } else if !inside_the_context(dockerfile) {
            errors.push(error(
                "dockerfile",
                format!(
                    "`dockerfile` {dockerfile:?} must be a path inside build.path (relative, \
                     without `..`), since the images are built from the synced tree"
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A relative path that stays in the build context.
fn inside_the_context(path: &str) -> bool {
    !path.starts_with('/')
        && !path.contains(['\n', '\0'])
        && path.split('/').all(|part| part != "..")
}

fn get<'a>(config: &'a Config, key: &str) -> Option<&'a ConfigValue> {
    config.iter().find(|e| e.key == key).map(|e| &e.value)
}

fn text<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    match get(config, key) {
        Some(ConfigValue::Text(s)) | Some(ConfigValue::Secret(s)) => Some(s),
        _ => None,
    }
}

fn error(key: &str, message: String) -> ConfigError {
    ConfigError {
        key: key.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfiles_stay_in_the_context() {
        for ok in ["Dockerfile", "./docker/Dockerfile", "a..b/Dockerfile"] {
            assert!(inside_the_context(ok), "{ok}");
        }
        for bad in [
            "/etc/Dockerfile",
            "../Dockerfile",
            "docker/../../Dockerfile",
        ] {
            assert!(!inside_the_context(bad), "{bad}");
        }
    }
}
