//! The BuildKit keys of `[build.image]`: `builder`, `platforms`,
//! `cache_from`, `cache_to`, `secrets`, `target`, `build_args`. Checked here
//! rather than in the host, since only this builder gives them meaning.

use crate::ops::plugin::types::{Config, ConfigError, ConfigValue};

/// Top-level keys this module owns; `secrets.*` and `build_args.*` are the
/// flattened entries of the two tables.
pub const KEYS: &[&str] = &[
    "builder",
    "platforms",
    "cache_from",
    "cache_to",
    "secrets",
    "target",
    "build_args",
];

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    pub builder: Option<String>,
    pub platforms: Vec<String>,
    pub cache_from: Vec<String>,
    pub cache_to: Vec<String>,
    /// `(id, value)`; the value came from `$NAME` and is masked by the host.
    pub secrets: Vec<(String, String)>,
    pub target: Option<String>,
    pub build_args: Vec<(String, String)>,
}

impl Options {
    /// Keys that only buildx understands: without it the build must fail
    /// rather than silently drop them.
    pub fn needs_buildx(&self) -> Option<&'static str> {
        if self.builder.is_some() {
            Some("builder")
        } else if !self.platforms.is_empty() {
            Some("platforms")
        } else if !self.cache_from.is_empty() {
            Some("cache_from")
        } else if !self.cache_to.is_empty() {
            Some("cache_to")
        } else {
            None
        }
    }
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
            "builder" => match value {
                ConfigValue::Text(s) if is_name(s) => options.builder = Some(s.clone()),
                _ => errors.push(error(key, "`builder` must be the name of a buildx builder (letters, digits and . _ -), as `docker buildx ls` lists it".into())),
            },
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
            "cache_from" | "cache_to" => {
                let list = match value {
                    ConfigValue::Text(s) => vec![s.clone()],
                    ConfigValue::TextList(l) => l.clone(),
                    _ => Vec::new(),
                };
                if list.is_empty() || list.iter().any(|s| s.trim().is_empty() || s.starts_with('-')) {
                    errors.push(error(key, format!("`{key}` must be a cache spec or a list of them, e.g. \"type=registry,ref=ghcr.io/org/cache\"")));
                } else if key == "cache_from" {
                    options.cache_from = list;
                } else {
                    options.cache_to = list;
                }
            }
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
            entry("builder", ConfigValue::Text("remote".into())),
            entry(
                "platforms",
                ConfigValue::TextList(vec!["linux/amd64".into(), "linux/arm64/v8".into()]),
            ),
            entry(
                "cache_from",
                ConfigValue::Text("type=registry,ref=r/c".into()),
            ),
            entry(
                "cache_to",
                ConfigValue::TextList(vec!["type=inline".into()]),
            ),
            entry("secrets.NPM_TOKEN", ConfigValue::Secret("s3".into())),
            entry("target", ConfigValue::Text("runtime".into())),
            entry("build_args.MODE", ConfigValue::Text("release".into())),
        ];
        let o = parse(&config).expect("valid");
        assert_eq!(o.builder.as_deref(), Some("remote"));
        assert_eq!(o.platforms.len(), 2);
        assert_eq!(o.secrets, vec![("NPM_TOKEN".to_owned(), "s3".to_owned())]);
        assert_eq!(
            o.build_args,
            vec![("MODE".to_owned(), "release".to_owned())]
        );
        assert_eq!(o.needs_buildx(), Some("builder"));
    }

    #[test]
    fn rejects_literal_secrets_and_secret_build_args() {
        let config = vec![
            entry("secrets.TOKEN", ConfigValue::Text("literal".into())),
            entry("build_args.KEY", ConfigValue::Secret("x".into())),
            entry("platforms", ConfigValue::TextList(vec!["amd64".into()])),
            entry("secrets", ConfigValue::Text("x".into())),
        ];
        let errors = parse(&config).expect_err("invalid");
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].message.contains("from the environment"));
        assert!(errors[1].message.contains("image history"));
        assert!(errors[2].message.contains("os/arch"));
        assert!(errors[3].message.contains("must be a table"));
    }
}
