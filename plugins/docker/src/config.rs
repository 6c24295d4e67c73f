//! `[build.image]`, the image builder's section: names, paths and the
//! registry keys (the registry-auth plugin reads those too).

use ops_plugin_sdk::unknown_key_message;

use crate::ops::plugin::types::{Config, ConfigError, ConfigValue};
use crate::options;

const SECTION: &str = "build.image";
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
    for key in [
        "dockerfile",
        "registry",
        "username",
        "prefix",
        "binary_arg",
        "token",
    ] {
        match get(config, key) {
            None | Some(ConfigValue::Text(_)) | Some(ConfigValue::Secret(_)) => {}
            Some(_) => errors.push(error(key, format!("`{key}` must be a string"))),
        }
    }
    match text(config, "prefix") {
        None if get(config, "prefix").is_none() => errors.push(error(
            "prefix",
            format!("missing `prefix` in [{SECTION}]: images are named {{prefix}}/{{service}}:{{tag}}, e.g. prefix = \"ghcr.io/org/project\""),
        )),
        None => {}
        Some(prefix) => {
            if let Some(problem) = reference_problem(prefix) {
                errors.push(error("prefix", format!("`prefix` {prefix:?} is not a valid image name: {problem}")));
            }
        }
    }
    if let Some(registry) = text(config, "registry") {
        if !is_registry_host(registry) {
            errors.push(error(
                "registry",
                format!("`registry` {registry:?} is not a registry host (host[:port], e.g. \"ghcr.io\" or \"127.0.0.1:5000\")"),
            ));
        }
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
    if let Some(arg) = text(config, "binary_arg") {
        let valid = arg
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            errors.push(error(
                "binary_arg",
                format!("`binary_arg` {arg:?} is not a valid Dockerfile ARG name (letters, digits and _)"),
            ));
        }
    }
    match get(config, "services") {
        None => errors.push(error(
            "services",
            format!("missing `services` in [{SECTION}]: the services to build, e.g. services = [\"api\", \"worker\"]"),
        )),
        Some(ConfigValue::TextList(services)) => {
            if services.is_empty() {
                errors.push(error("services", "`services` is empty; list at least one service".into()));
            }
            for service in services {
                if !is_component(service) {
                    errors.push(error(
                        "services",
                        format!("service {service:?} is not a valid image name component (lowercase letters, digits, and . _ - between them)"),
                    ));
                }
            }
            for (i, service) in services.iter().enumerate() {
                if services[..i].contains(service) {
                    errors.push(error("services", format!("service {service:?} is listed twice")));
                }
            }
        }
        Some(_) => errors.push(error("services", "`services` must be a list of strings".into())),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Why `name` is not a valid `[registry[:port]/]path` image name, if it
/// is not.
fn reference_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.contains('@') || name.ends_with('/') || name.starts_with('/') {
        return Some("expected registry/path without a tag or digest");
    }
    let mut parts = name.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_registry = first
            && parts.peek().is_some()
            && (part.contains('.') || part.contains(':') || part == "localhost");
        first = false;
        if is_registry {
            let host_ok = part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !host_ok {
                return Some("the registry host has invalid characters");
            }
        } else if !is_component(part) {
            return Some("path components are lowercase letters, digits and . _ - (no tag here: the tag comes from --tag)");
        }
    }
    None
}

/// A relative path that stays in the build context.
fn inside_the_context(path: &str) -> bool {
    !path.starts_with('/')
        && !path.contains(['\n', '\0'])
        && path.split('/').all(|part| part != "..")
}

/// `host[:port]` as docker login takes it: a DNS name, IPv4 or bracketed
/// IPv6 address, optionally with a port.
fn is_registry_host(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['-', '.', ':'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

fn is_component(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
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
    fn registry_hosts() {
        for ok in ["ghcr.io", "127.0.0.1:5000", "localhost", "[::1]:5000"] {
            assert!(is_registry_host(ok), "{ok}");
        }
        for bad in ["", "-x", "a b", "127.0.0.1:1;touch x", "h/p", "$(id)"] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }

    #[test]
    fn dockerfiles_stay_in_the_context() {
        for ok in ["Dockerfile", "./docker/Dockerfile", "a..b/Dockerfile"] {
            assert!(inside_the_context(ok), "{ok}");
        }
        for bad in ["/etc/Dockerfile", "../Dockerfile", "docker/../../Dockerfile"] {
            assert!(!inside_the_context(bad), "{bad}");
        }
    }

    #[test]
    fn image_names() {
        assert_eq!(reference_problem("ghcr.io/org/project"), None);
        assert_eq!(reference_problem("127.0.0.1:5000/p"), None);
        assert_eq!(reference_problem("localhost/p"), None);
        assert!(reference_problem("ghcr.io/Org/x").is_some());
        assert!(reference_problem("ghcr.io/org/x:tag").is_some());
        assert!(reference_problem("a b").is_some());
    }
}
