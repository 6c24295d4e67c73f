//! The ops control-plane API, as far as node resolution needs it:
//! `GET /v1/nodes/{id}` and `GET /v1/projects/{project}`, with a bearer
//! token. Blocking ureq calls run on tokio's blocking pool.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::error::ResolveError;
use crate::config::{ApiConfig, NodeRef};

/// Each attempt, connection included, must finish in this time.
pub const API_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per request. A control plane behind a proxy answers 502 while
/// it restarts; one such answer should not fail a build, a dead one must
/// fail it soon: at worst 3 × 5 s plus 1.5 s of backoff.
pub const API_ATTEMPTS: u32 = 3;
/// Pause before the second attempt; doubled before each later one.
const API_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BODY: u64 = 1 << 20;

/// `GET /v1/nodes/{id}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ApiNode {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub host_key: Option<String>,
}

/// `GET /v1/projects/{project}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ApiProject {
    pub name: Option<String>,
    /// A node id, or a node name.
    pub build_node: Option<serde_json::Value>,
}

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl ApiClient {
    /// `None` when no API URL is configured (neither `[api] url` nor
    /// `OPS_API_URL`). The bearer token travels with every request, so the
    /// URL must be https (plain http only to this machine) wherever it came
    /// from; ops.toml's own is refused at its line when the file is read.
    pub fn new(api: &ApiConfig) -> Result<Option<ApiClient>, ResolveError> {
        let Some(url) = api.url.as_deref() else {
            return Ok(None);
        };
        crate::config::check_url(url).map_err(|message| ResolveError::InsecureApi {
            url: url.to_owned(),
            message,
        })?;
        let base = url.trim_end_matches('/').to_owned();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(API_TIMEOUT))
            .http_status_as_error(false)
            .build();
        Ok(Some(ApiClient {
            base,
            token: api.token.clone(),
            agent: config.into(),
        }))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn node(&self, node: &NodeRef) -> Result<ApiNode, ResolveError> {
        let url = format!("{}/v1/nodes/{}", self.base, encode(&node.to_string()));
        self.get_json(url).await
    }

    pub async fn project(&self, project: &str) -> Result<ApiProject, ResolveError> {
        let url = format!("{}/v1/projects/{}", self.base, encode(project));
        self.get_json(url).await
    }

    async fn get_json<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        url: String,
    ) -> Result<T, ResolveError> {
        let mut backoff = API_BACKOFF;
        let mut attempt = 1;
        loop {
            let client = self.clone();
            let target = url.clone();
            let result = tokio::task::spawn_blocking(move || client.get_json_blocking(&target))
                .await
                .map_err(|e| ResolveError::Api {
                    url: url.clone(),
                    message: e.to_string(),
                })?;
            match result {
                Err(e) if e.is_transient() && attempt < API_ATTEMPTS => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(e) if attempt > 1 => {
                    return Err(ResolveError::Retried {
                        attempts: attempt,
                        last: Box::new(e),
                    })
                }
                other => return other,
            }
        }
    }

    fn get_json_blocking<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, ResolveError> {
        let api_error = |message: String| ResolveError::Api {
            url: url.to_owned(),
            message,
        };
        let mut request = self.agent.get(url).header("Accept", "application/json");
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().map_err(|e| api_error(e.to_string()))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| api_error(e.to_string()))?;
        if !status.is_success() {
            return Err(ResolveError::ApiStatus {
                url: url.to_owned(),
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        serde_json::from_str(&body).map_err(|e| ResolveError::ApiResponse {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Everything but RFC 3986's unreserved characters, so that a `/`, `?` or
/// `#` in a node or project name stays inside its one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_over_https_or_to_this_machine() {
        let api = |url: &str| ApiConfig {
            url: Some(url.into()),
            token: Some("t".into()),
            ..ApiConfig::default()
        };
        let err = ApiClient::new(&api("http://api.example.com"))
            .err()
            .expect("plain http to another host is refused");
        assert!(err.to_string().contains("OPS_API_URL"), "{err}");
        for ok in ["https://api.example.com", "http://127.0.0.1:8080"] {
            assert!(ApiClient::new(&api(ok)).unwrap().is_some(), "{ok}");
        }
        assert!(ApiClient::new(&ApiConfig::default()).unwrap().is_none());
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode("build-1"), "build-1");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("x?y#z%.~_"), "x%3Fy%23z%25.~_");
        assert_eq!(encode("n\u{e9}"), "n%C3%A9");
    }

    #[test]
    fn parses_documented_node_json() {
        let node: ApiNode = serde_json::from_str(
            r#"{"id": 4, "name": "build-1", "host": "10.0.0.4", "port": 22, "user": "ops", "host_key": "ssh-ed25519 AAAA"}"#,
        )
        .unwrap();
        assert_eq!(node.port, Some(22));
        let minimal: ApiNode = serde_json::from_str(r#"{"id": 4, "host": "h"}"#).unwrap();
        assert_eq!(minimal.user, None);
    }
}
