//! `token-auth`: registry credentials from `[build.image]`: `registry`,
//! `username` and `token` (normally `$NAME`, so a secret).

use ops_plugin_sdk::{
    Config, ConfigEntry, ConfigError, ConfigValue, Credentials, Description, Plugin, RegistryAuth,
};

const SECTION: &str = "build.image";

struct TokenAuth;

impl Plugin for TokenAuth {
    fn describe() -> Description {
        Description {
            name: "token-auth",
            version: env!("CARGO_PKG_VERSION"),
            description: "Registry login with a username and token from [build.image]",
            capabilities: Vec::new(),
        }
    }

    /// Only the three keys this plugin reads; the rest of [build.image]
    /// belongs to the image builder.
    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        for key in ["registry", "username"] {
            if let Some(entry) = find(&config, key) {
                match &entry.value {
                    ConfigValue::Text(s) | ConfigValue::Secret(s) if s.trim().is_empty() => {
                        errors.push(error(key, format!("`{key}` must not be empty")))
                    }
                    ConfigValue::Text(_) | ConfigValue::Secret(_) => {}
                    _ => errors.push(error(key, format!("`{key}` must be a string"))),
                }
            }
        }
        match find(&config, "token").map(|e| &e.value) {
            None => {}
            Some(ConfigValue::Secret(s)) | Some(ConfigValue::Text(s)) if s.is_empty() => errors
                .push(error(
                    "token",
                    "`token` is empty (is its environment variable set to an empty value?)".into(),
                )),
            Some(ConfigValue::Secret(_)) | Some(ConfigValue::Text(_))
                if find(&config, "username").is_none() =>
            {
                errors.push(error(
                    "username",
                    format!("[{SECTION}] has a `token` but no `username`; add `username = \"...\"` (for ghcr.io any name works, e.g. \"oauth2\")"),
                ));
            }
            Some(ConfigValue::Secret(_)) | Some(ConfigValue::Text(_)) => {}
            Some(_) => errors.push(error(
                "token",
                "`token` must be a string, usually \"$NAME\"".into(),
            )),
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl RegistryAuth for TokenAuth {
    fn get_credentials(
        config: Config,
        registry: String,
    ) -> Result<Credentials, ops_plugin_sdk::Error> {
        let registry = match text(&config, "registry") {
            Some(r) => r,
            None if !registry.is_empty() => registry,
            None => return Err(format!("no registry: set `registry` in [{SECTION}]").into()),
        };
        let username = text(&config, "username")
            .ok_or_else(|| format!("no `username` in [{SECTION}] for registry {registry}"))?;
        let secret = text(&config, "token")
            .ok_or_else(|| format!("no `token` in [{SECTION}] for registry {registry}"))?;
        if secret.is_empty() {
            return Err(format!("the `token` for registry {registry} is empty").into());
        }
        Ok(Credentials {
            registry,
            username,
            secret,
        })
    }
}

fn find<'a>(config: &'a Config, key: &str) -> Option<&'a ConfigEntry> {
    config.iter().find(|e| e.key == key)
}

fn text(config: &Config, key: &str) -> Option<String> {
    match find(config, key).map(|e| &e.value) {
        Some(ConfigValue::Text(s)) | Some(ConfigValue::Secret(s)) => Some(s.clone()),
        _ => None,
    }
}

fn error(key: &str, message: String) -> ConfigError {
    ConfigError {
        key: key.into(),
        message,
    }
}

ops_plugin_sdk::export_registry_auth!(TokenAuth);
