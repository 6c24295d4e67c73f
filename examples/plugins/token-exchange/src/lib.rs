//! `token-exchange`: registry credentials that live for minutes. The
//! plugin trades a long-lived client secret for a short-lived registry
//! token at a token endpoint (an OAuth-style client-credentials grant), so
//! the secret that is stored in CI never reaches the build node: only the
//! token does, for one login.
//!
//! The host makes the HTTP request (capability `http`), so the plugin can
//! reach only the hosts it declares and the user grants. A vendor puts its
//! own auth host in [`TOKEN_HOSTS`]; this example declares loopback for its
//! tests.
//!
//! ```toml
//! [build.image]
//! registry = "registry.example.com"
//! auth = "token-exchange"
//!
//! [build.token-exchange]
//! endpoint = "http://127.0.0.1:8700/token"
//! client_id = "ci"
//! client_secret = "$TOKEN_CLIENT_SECRET"
//! scope = "push"                          # optional
//!
//! [plugins.token-exchange]
//! grant = ["http:127.0.0.1:8700", "http:localhost"]  # a port that is not the default is named
//! ```
//!
//! The endpoint is sent `POST` with a form body
//! (`grant_type=client_credentials&client_id=..&client_secret=..&scope=..`)
//! and answers JSON: `{"access_token": "...", "expires_in": 300,
//! "username": "..."}` (`username` optional, default `client_id`).

use ops_plugin_sdk::{
    config::from_config, http, Capability, Config, ConfigError, Credentials, Description, Error,
    HttpRequest, Plugin, RegistryAuth,
};
use serde::Deserialize;

/// The hosts this plugin may ask the host to reach.
pub const TOKEN_HOSTS: &[&str] = &["127.0.0.1", "localhost"];

/// Tokens that would expire before a push of large images could finish.
const MIN_LIFETIME_SECONDS: u64 = 60;

#[derive(Debug, Deserialize)]
pub struct Section {
    pub endpoint: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    /// The pipeline's credential keys (`registry`, `username`, `token`)
    /// come in the same section; they are the host's, not this plugin's.
    #[serde(flatten)]
    _host_keys: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<u64>,
    pub username: Option<String>,
}

/// The form body of the token request, percent-encoded.
pub fn form_body(section: &Section) -> String {
    let mut pairs = vec![
        ("grant_type", "client_credentials"),
        ("client_id", section.client_id.as_str()),
        ("client_secret", section.client_secret.as_str()),
    ];
    if let Some(scope) = &section.scope {
        pairs.push(("scope", scope));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The answer's token, checked; errors never contain the token. The
/// error's case tells the host what to do: a refusal (401, 403) is never
/// retried, a 5xx or 429 is worth another attempt.
pub fn parse_answer(status: u16, body: &[u8], endpoint: &str) -> Result<TokenResponse, Error> {
    if !(200..300).contains(&status) {
        let message = format!("{endpoint} refused the token request (HTTP {status})");
        return Err(match status {
            401 | 403 => Error::Refused(message),
            429 | 500..=599 => Error::Transient(message),
            _ => Error::Failed(message),
        });
    }
    let answer: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| format!("{endpoint} answered something that is not a token response: {e}"))?;
    if answer.access_token.is_empty() {
        return Err(Error::Failed(format!(
            "{endpoint} answered an empty access_token"
        )));
    }
    if let Some(lifetime) = answer.expires_in {
        if lifetime < MIN_LIFETIME_SECONDS {
            return Err(Error::Failed(format!(
                "{endpoint} answered a token that expires in {lifetime}s, less than the {MIN_LIFETIME_SECONDS}s a push may need"
            )));
        }
    }
    Ok(answer)
}

pub struct TokenExchange;

impl Plugin for TokenExchange {
    fn describe() -> Description {
        Description {
            name: "token-exchange",
            version: env!("CARGO_PKG_VERSION"),
            description: "Short-lived registry tokens from an HTTP token endpoint",
            capabilities: vec![Capability::Http(
                TOKEN_HOSTS.iter().map(|h| h.to_string()).collect(),
            )],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        let section = from_config::<Section>(&config)?;
        if !(section.endpoint.starts_with("https://") || section.endpoint.starts_with("http://")) {
            return Err(vec![ConfigError {
                key: "endpoint".into(),
                message: format!("`{}` is not an http(s) URL", section.endpoint),
            }]);
        }
        Ok(())
    }
}

impl RegistryAuth for TokenExchange {
    fn get_credentials(config: Config, registry: String) -> Result<Credentials, Error> {
        let section: Section = from_config(&config).map_err(|e| e[0].message.clone())?;
        log::info!(
            "exchanging the client secret for a registry token at {}",
            section.endpoint
        );
        let response = http::fetch(&HttpRequest {
            method: "POST".into(),
            url: section.endpoint.clone(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(form_body(&section).into_bytes()),
        })?;
        let answer = parse_answer(response.status, &response.body, &section.endpoint)?;
        if let Some(lifetime) = answer.expires_in {
            log::info!("got a registry token valid for {lifetime}s");
        }
        Ok(Credentials {
            registry,
            username: answer.username.unwrap_or(section.client_id),
            secret: answer.access_token,
        })
    }
}

ops_plugin_sdk::export_registry_auth!(TokenExchange);

#[cfg(test)]
mod tests {
    use super::*;

    fn section(secret: &str, scope: Option<&str>) -> Section {
        let mut config = vec![
            ("endpoint", "https://auth.example.com/token"),
            ("client_id", "ci bot"),
            ("client_secret", secret),
            ("registry", "r.example.com"),
        ];
        if let Some(scope) = scope {
            config.push(("scope", scope));
        }
        let entries: Vec<ops_plugin_sdk::ConfigEntry> = config
            .into_iter()
            .map(|(k, v)| ops_plugin_sdk::ConfigEntry {
                key: k.into(),
                value: ops_plugin_sdk::ConfigValue::Text(v.into()),
            })
            .collect();
        from_config(&entries).unwrap()
    }

    #[test]
    fn the_form_body_is_percent_encoded() {
        assert_eq!(
            form_body(&section("s&=x", Some("push pull"))),
            "grant_type=client_credentials&client_id=ci%20bot&client_secret=s%26%3Dx&scope=push%20pull"
        );
    }

    #[test]
    fn answers_are_checked_without_showing_the_token() {
        let ok = parse_answer(200, br#"{"access_token":"t0k","expires_in":300}"#, "E").unwrap();
        assert_eq!(ok.access_token, "t0k");
        let refused = parse_answer(401, b"t0k", "E").unwrap_err();
        assert!(matches!(&refused, Error::Refused(_)), "{refused:?}");
        let text = refused.text();
        assert!(text.contains("HTTP 401") && !text.contains("t0k"), "{text}");
        assert!(matches!(
            parse_answer(503, b"", "E"),
            Err(Error::Transient(_))
        ));
        let short =
            parse_answer(200, br#"{"access_token":"t0k","expires_in":5}"#, "E").unwrap_err();
        assert!(matches!(&short, Error::Failed(_)), "{short:?}");
        let text = short.text();
        assert!(
            text.contains("expires in 5s") && !text.contains("t0k"),
            "{text}"
        );
        assert!(parse_answer(200, b"not json", "E").is_err());
        assert!(parse_answer(200, br#"{"access_token":""}"#, "E").is_err());
    }
}
