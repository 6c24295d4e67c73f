//! An HTTP client for one repository of an OCI registry that answers the
//! registry's 401 challenges: `Basic` with the user's Docker credentials,
//! or `Bearer` with a token from the challenge's realm (sent those
//! credentials, or none for anonymous pulls).

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::http::{HeaderMap, Request};

use super::challenge::parse_challenge;
use super::docker_auth::{self, Credentials};
use super::https;
use super::FetchError;

/// Everything but RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// A registry's answer, body read (at most [`https::MAX_BYTES`]).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The registry's own words for a failure (`errors[].message`), or the
    /// start of the body.
    pub fn explain(&self) -> String {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let messages: Vec<String> = parsed
            .as_ref()
            .and_then(|v| v["errors"].as_array())
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let code = e["code"].as_str().unwrap_or("");
                        let message = e["message"].as_str().unwrap_or("");
                        format!("{code}: {message}")
                    })
                    .collect()
            })
            .unwrap_or_default();
        if messages.is_empty() {
            let text = String::from_utf8_lossy(&self.body);
            format!(
                "HTTP {} {}",
                self.status,
                text.chars().take(200).collect::<String>()
            )
        } else {
            format!("HTTP {} {}", self.status, messages.join("; "))
        }
    }
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    registry: String,
    scope: String,
    authorization: Option<String>,
    /// Looked up on the first challenge; `Some(None)`: there are none.
    credentials: Option<Option<Credentials>>,
    config_path: String,
}

impl Client {
    /// A client for `repository` on `registry` (`host[:port]`): plain HTTP
    /// for a loopback registry, HTTPS otherwise.
    pub fn new(registry: &str, repository: &str, push: bool) -> Client {
        let host = registry
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(registry, |(host, _)| host);
        let scheme = if https::is_loopback(host) {
            "http"
        } else {
            "https"
        };
        let actions = if push { "pull,push" } else { "pull" };
        Client {
            agent: https::agent(),
            base: format!("{scheme}://{registry}"),
            registry: registry.to_owned(),
            scope: format!("repository:{repository}:{actions}"),
            authorization: None,
            credentials: None,
            config_path: String::new(),
        }
    }

    /// `path` (`/v2/...`) on this registry; an absolute URL (an upload's
    /// `Location`) as it is.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a request, answering one 401 challenge if there is one.
    ///
    /// Credentials belong to the registry's origin: a URL elsewhere (an
    /// upload `Location` the registry hands out) is sent none, and its
    /// challenges are not answered.
    pub fn send(
        &mut self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Answer, FetchError> {
        let own = https::origin(url) == https::origin(&self.base);
        let authorization = self.authorization.clone().filter(|_| own);
        let answer = self.call(method, url, headers, body, authorization)?;
        if answer.status != 401 || !own {
            return Ok(answer);
        }
        let challenge = answer.header("www-authenticate").unwrap_or("").to_owned();
        self.authorization = Some(self.answer_challenge(&challenge)?);
        let answer = self.call(method, url, headers, body, self.authorization.clone())?;
        if answer.status == 401 {
            return Err(self.refused());
        }
        Ok(answer)
    }

    fn call(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        authorization: Option<String>,
    ) -> Result<Answer, FetchError> {
        self.call_hop(method, url, headers, body, authorization, 0)
    }

    fn call_hop(
        &self,
        method: Method,
        url: &str,
        headers_in: &[(&str, &str)],
        body: Option<&[u8]>,
        authorization: Option<String>,
        redirects: usize,
    ) -> Result<Answer, FetchError> {
        https::check_url(url)?;
        let mut request = Request::builder().method(method.as_str()).uri(url);
        for (name, value) in headers_in {
            request = request.header(*name, *value);
        }
        if let Some(value) = &authorization {
            request = request.header("Authorization", value.as_str());
        }
        let bad = |e: ureq::http::Error| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let result = match body {
            Some(bytes) => self.agent.run(request.body(bytes).map_err(bad)?),
            None => self.agent.run(request.body(()).map_err(bad)?),
        };
        let response = result.map_err(|e| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Blob downloads are often redirected to storage elsewhere; the
        // registry's credentials stay with the registry.
        if matches!(method, Method::Get | Method::Head) && redirects < https::MAX_REDIRECTS {
            if let Some(next) = https::redirect_target(url, status, &headers)? {
                let keep = https::origin(&next) == https::origin(url);
                let authorization = authorization.filter(|_| keep);
                return self.call_hop(
                    method,
                    &next,
                    headers_in,
                    None,
                    authorization,
                    redirects + 1,
                );
            }
        }
        let body = if method == Method::Head {
            Vec::new()
        } else {
            https::read_body(url, response)?
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn credentials(&mut self) -> Result<Option<Credentials>, FetchError> {
        if let Some(found) = &self.credentials {
            return Ok(found.clone());
        }
        let (found, path) = docker_auth::credentials(&self.registry)?;
        self.config_path = path;
        self.credentials = Some(found.clone());
        Ok(found)
    }

    /// The error for credentials the registry did not accept, or for none.
    fn refused(&self) -> FetchError {
        match &self.credentials {
            Some(Some(credentials)) => FetchError::Unauthorized {
                registry: self.registry.clone(),
                username: credentials.username.clone(),
                config: self.config_path.clone(),
            },
            _ => FetchError::NoCredentials {
                registry: self.registry.clone(),
                config: self.config_path.clone(),
            },
        }
    }

    /// The `Authorization` value that answers `challenge`.
    fn answer_challenge(&mut self, challenge: &str) -> Result<String, FetchError> {
        let (scheme, params) = parse_challenge(challenge);
        let credentials = self.credentials()?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => {
                let credentials = credentials.ok_or_else(|| self.refused())?;
                Ok(basic(&credentials))
            }
            "bearer" => self.bearer(&params, credentials.as_ref()),
            _ => Err(FetchError::Registry {
                registry: self.registry.clone(),
                message: format!(
                    "it asks for an authentication scheme ops does not speak: {challenge:?}"
                ),
            }),
        }
    }

    /// A token from the challenge's realm, for this client's scope.
    fn bearer(
        &self,
        params: &BTreeMap<String, String>,
        credentials: Option<&Credentials>,
    ) -> Result<String, FetchError> {
        let registry_error = |message: String| FetchError::Registry {
            registry: self.registry.clone(),
            message,
        };
        let realm = params
            .get("realm")
            .ok_or_else(|| registry_error("its Bearer challenge has no realm".into()))?;
        let mut url = format!("{realm}?");
        let encode = |v: &str| utf8_percent_encode(v, QUERY_VALUE).to_string();
        if let Some(service) = params.get("service") {
            url.push_str(&format!("service={}&", encode(service)));
        }
        url.push_str(&format!("scope={}", encode(&self.scope)));
        // As the `authorization` of the call, so that a redirect to another
        // origin drops it like any credential.
        let value = match credentials {
            Some(credentials) => {
                self.check_realm(&url)?;
                Some(basic(credentials))
            }
            None => None,
        };
        let answer = self.call(Method::Get, &url, &[], None, value)?;
        match answer.status {
            200 => {}
            401 | 403 => return Err(self.refused()),
            _ => {
                return Err(registry_error(format!(
                    "its token service {realm}: {}",
                    answer.explain()
                )))
            }
        }
        let json: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|e| {
            registry_error(format!("its token service {realm} sent invalid JSON: {e}"))
        })?;
        let token = json["token"]
            .as_str()
            .or_else(|| json["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| registry_error(format!("its token service {realm} sent no token")))?;
        Ok(format!("Bearer {token}"))
    }
}

impl Client {
    /// The realm is where Docker, too, sends the user's password: on
    /// another origin than the registry it must be https, so that only
    /// the named host reads it (a plain-http realm on this machine is
    /// accepted only for a registry on this machine, as in tests).
    fn check_realm(&self, url: &str) -> Result<(), FetchError> {
        let same = https::origin(url) == https::origin(&self.base);
        let local = self.base.starts_with("http://");
        if same || url.starts_with("https://") || local {
            return Ok(());
        }
        Err(FetchError::Registry {
            registry: self.registry.clone(),
            message: format!(
                "its token service {} is plain http on another origin; ops sends registry \
                 credentials there only over https",
                https::origin(url)
            ),
        })
    }
}

fn basic(credentials: &Credentials) -> String {
    use base64::Engine as _;
    let pair = format!("{}:{}", credentials.username, credentials.secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_use_plain_http() {
        assert_eq!(
            Client::new("127.0.0.1:5000", "a", false).url("/v2/"),
            "http://127.0.0.1:5000/v2/"
        );
        assert_eq!(
            Client::new("localhost", "a", false).url("/v2/"),
            "http://localhost/v2/"
        );
        assert_eq!(
            Client::new("[::1]:5000", "a", false).url("/v2/"),
            "http://[::1]:5000/v2/"
        );
        assert_eq!(
            Client::new("ghcr.io", "a", false).url("/v2/"),
            "https://ghcr.io/v2/"
        );
    }
}
