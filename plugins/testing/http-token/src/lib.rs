//! `http-token`: registry credentials from a token endpoint. `GET
//! token_url` (with `Authorization: Bearer <client_token>` when set)
//! answers the registry password as its body; the host makes the request,
//! so the plugin declares `http` for the endpoint's host.
//!
//! ```toml
//! token_url = "https://auth.example.com/token"
//! client_token = "$CLIENT_TOKEN"   # optional
//! username = "ci"                  # default "token"
//! ```

use ops_plugin_sdk::{
    config::from_config, http, Capability, Config, ConfigError, Credentials, Description,
    HttpRequest, Plugin, RegistryAuth,
};
use serde::Deserialize;

/// The hosts this plugin may ask the host to reach. Tests use loopback.
const HOSTS: &[&str] = &["127.0.0.1", "localhost"];

#[derive(Deserialize)]
struct Section {
    token_url: String,
    client_token: Option<String>,
    username: Option<String>,
    /// The pipeline's own keys of the section, which this plugin ignores.
    #[serde(flatten)]
    _rest: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

pub struct HttpToken;

impl Plugin for HttpToken {
    fn describe() -> Description {
        Description {
            name: "http-token",
            version: env!("CARGO_PKG_VERSION"),
            description: "Registry credentials from an HTTP token endpoint",
            capabilities: vec![Capability::Http(
                HOSTS.iter().map(|h| h.to_string()).collect(),
            )],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        from_config::<Section>(&config).map(|_| ())
    }
}

impl RegistryAuth for HttpToken {
    fn get_credentials(
        config: Config,
        registry: String,
    ) -> Result<Credentials, ops_plugin_sdk::Error> {
        let section: Section = from_config(&config).map_err(|e| e[0].message.clone())?;
        let mut headers = Vec::new();
        if let Some(token) = &section.client_token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        log::info!("fetching a registry token from {}", section.token_url);
        let response = http::fetch(&HttpRequest {
            method: "GET".into(),
            url: section.token_url.clone(),
            headers,
            body: None,
        })?;
        if !(200..300).contains(&response.status) {
            return Err(format!("{} answered HTTP {}", section.token_url, response.status).into());
        }
        let secret = String::from_utf8(response.body)
            .map_err(|_| format!("{} answered a token that is not UTF-8", section.token_url))?
            .trim()
            .to_owned();
        Ok(Credentials {
            registry,
            username: section.username.unwrap_or_else(|| "token".into()),
            secret,
        })
    }
}

ops_plugin_sdk::export_registry_auth!(HttpToken);
