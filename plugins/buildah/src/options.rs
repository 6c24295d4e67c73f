//! The build keys of `[build.image]` for buildah: `platforms`,
//! `cache_from`, `cache_to`, `secrets`, `target`, `build_args`. Checked here
//! rather than in the host, since only this builder gives them meaning.
//! docker's `builder` has no meaning here and is refused as unknown.

use crate::ops::plugin::types::{Config, ConfigError, ConfigValue};

/// Top-level keys this module owns; `secrets.*` and `build_args.*` are the
/// flattened entries of the two tables.
pub const KEYS: &[&str] = &[
    "platforms",
    "cache_from",
    "cache_to",
    "secrets",
    "target",
    "build_args",
];

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// Empty: the node's own platform, one plain image. Otherwise one
    /// image per platform in a manifest list.
    pub platforms: Vec<String>,
    /// A repository (buildah 1.28's `--cache-from` takes one).
    pub cache_from: Option<String>,
    pub cache_to: Option<String>,
    /// `(id, value)`; the value came from `$NAME` and is masked by the host.
    pub secrets: Vec<(String, String)>,
    pub target: Option<String>,
    pub build_args: Vec<(String, String)>,
}

/// Whether `key` belongs to this module (for the unknown-key check).
pub fn owns(key: &str) -> bool {
    KEYS.contains(&key) || key.starts_with("secrets.") || key.starts_with("build_args.")
}

/// Reads and checks the keys; every problem is reported, not just the first.
pub fn parse(config: &Config) -> Result<Options, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut options = Options::default();
    for entry in config {
        let key = entry.key.as_str();
        let value = &entry.value;
        match key {
            "target" => match value {
                ConfigValue::Text(s) if is_name(s) => options.target = Some(s.clone()),
                _ => errors.push(error(key, "`target` must be the name of a Dockerfile stage (FROM ... AS <name>)".into())),
            },
            "platforms" => match value {
                ConfigValue::TextList(list) if !list.is_empty() => {
                    for p in list {
                        if is_platform(p) {
                            options.platforms.push(p.clone());
                        } else {
                            errors.push(error(key, format!("platform {p:?} is not os/arch[/variant], e.g. \"linux/amd64\" or \"linux/arm64\"")));
                        }
                    }
                }
                _ => errors.push(error(key, "`platforms` must be a non-empty list, e.g. [\"linux/amd64\", \"linux/arm64\"]".into())),
            },
            "cache_from" | "cache_to" => match value {
                ConfigValue::Text(s) if is_repository(s) => {
                    if key == "cache_from" {
                        options.cache_from = Some(s.clone());
                    } else {
                        options.cache_to = Some(s.clone());
                    }
                }
                _ => errors.push(error(key, format!("`{key}` must be one repository for buildah's layer cache, e.g. \"registry.example.com/org/cache\" (buildah 1.28 takes a repository, not buildx's type=... specs or a list)"))),
            },
            "secrets" | "build_args" => errors.push(error(
                key,
                format!("`{key}` must be a table, e.g. {key} = {{ NAME = {} }}", if key == "secrets" { "\"$NAME\"" } else { "\"value\"" }),
            )),
            _ => {
                if let Some(id) = key.strip_prefix("secrets.") {
                    secret(id, key, value, &mut options, &mut errors);
                } else if let Some(name) = key.strip_prefix("build_args.") {
                    build_arg(name, key, value, &mut options, &mut errors);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(options)
    } else {
        Err(errors)
    }
}

fn secret(
    id: &str,
    key: &str,
    value: &ConfigValue,
    options: &mut Options,
    errors: &mut Vec<ConfigError>,
) {
    if !is_name(id) {
        errors.push(error(key, format!("secret id {id:?} must be letters, digits and . _ - (the id of RUN --mount=type=secret,id=...)")));
        return;
    }
    match value {
        ConfigValue::Secret(s) if s.is_empty() => errors.push(error(
            key,
            format!("secret {id:?} is empty (is its environment variable set?)"),
        )),
        ConfigValue::Secret(s) if s.contains(['\n', '\r', '\0']) => errors.push(error(
            key,
            format!("secret {id:?} spans several lines; only single-line values can be passed"),
        )),
        ConfigValue::Secret(s) => options.secrets.push((id.to_owned(), s.clone())),
        // A literal would sit in ops.toml and go unmasked in output.
        ConfigValue::Text(_) => errors.push(error(
            key,
            format!("secret {id:?} must come from the environment, e.g. {id} = \"${id}\""),
        )),
        _ => errors.push(error(
            key,
            format!(
                "secret {id:?} must be a string naming an environment variable, e.g. \"${id}\""
            ),
        )),
    }
}

fn build_arg(
    name: &str,
    key: &str,
    value: &ConfigValue,
    options: &mut Options,
    errors: &mut Vec<ConfigError>,
) {
    if !is_arg_name(name) {
        errors.push(error(
            key,
            format!(
                "build arg {name:?} is not a valid Dockerfile ARG name (letters, digits and _)"
            ),
        ));
        return;
    }
    match value {
        ConfigValue::Text(s) => options.build_args.push((name.to_owned(), s.clone())),
        ConfigValue::Integer(i) => options.build_args.push((name.to_owned(), i.to_string())),
        ConfigValue::Boolean(b) => options.build_args.push((name.to_owned(), b.to_string())),
        // Build args are stored in the image's history: no place for secrets.
        ConfigValue::Secret(_) => errors.push(error(key, format!("build arg {name:?} comes from the environment; build args are kept in the image history, so pass it with `secrets` and RUN --mount=type=secret instead"))),
        _ => errors.push(error(key, format!("build arg {name:?} must be a string"))),
    }
}

pub fn is_arg_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn is_platform(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A repository reference without tag or digest: `host[:port]/path`,
/// lowercase path parts, nothing a shell or buildah would read as a flag.
fn is_repository(s: &str) -> bool {
    !s.starts_with('-')
        && !s.contains("type=")
        && s.split('/').count() >= 2
        && s.split('/').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '[' | ']')
                })
        })
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
    use crate::ops::plugin::types::ConfigEntry;

    fn entry(key: &str, value: ConfigValue) -> ConfigEntry {
        ConfigEntry {
            key: key.into(),
            value,
        }
    }

    #[test]
    fn reads_every_key() {
        let config = vec![
            entry(
                "platforms",
                ConfigValue::TextList(vec!["linux/amd64".into(), "linux/arm64/v8".into()]),
            ),
            entry("cache_from", ConfigValue::Text("r:5000/org/cache".into())),
            entry("cache_to", ConfigValue::Text("r:5000/org/cache".into())),
            entry("secrets.NPM_TOKEN", ConfigValue::Secret("s3".into())),
            entry("target", ConfigValue::Text("runtime".into())),
            entry("build_args.MODE", ConfigValue::Text("release".into())),
        ];
        let o = parse(&config).expect("valid");
        assert_eq!(o.platforms.len(), 2);
        assert_eq!(o.cache_from.as_deref(), Some("r:5000/org/cache"));
        assert_eq!(o.cache_to.as_deref(), Some("r:5000/org/cache"));
        assert_eq!(o.secrets, vec![("NPM_TOKEN".to_owned(), "s3".to_owned())]);
        assert_eq!(o.target.as_deref(), Some("runtime"));
        assert_eq!(
            o.build_args,
            vec![("MODE".to_owned(), "release".to_owned())]
        );
    }

    #[test]
    fn rejects_literal_secrets_buildx_caches_and_bad_platforms() {
        let config = vec![
            entry("secrets.TOKEN", ConfigValue::Text("literal".into())),
            entry("build_args.KEY", ConfigValue::Secret("x".into())),
            entry("platforms", ConfigValue::TextList(vec!["amd64".into()])),
            entry("secrets", ConfigValue::Text("x".into())),
            entry(
                "cache_from",
                ConfigValue::Text("type=registry,ref=r/c".into()),
            ),
            entry("cache_to", ConfigValue::TextList(vec!["r/c".into()])),
        ];
        let errors = parse(&config).expect_err("invalid");
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].message.contains("from the environment"));
        assert!(errors[1].message.contains("image history"));
        assert!(errors[2].message.contains("os/arch"));
        assert!(errors[3].message.contains("must be a table"));
        assert!(errors[4].message.contains("not buildx's type="));
        assert_eq!(errors[5].key, "cache_to");
    }
}
