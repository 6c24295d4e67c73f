//! `http`: requests the host makes for a plugin (capability `http`, per
//! host and port). A registry-auth plugin uses it to fetch a short-lived token; the
//! plugin never holds a socket.
//!
//! The host decides what a request may do: `https` (plain `http` only to a
//! loopback host, where there is no network to protect), no redirect
//! followed (a redirect to another host would escape the allow-list, so the
//! 3xx goes back to the plugin as it is), a time limit and a size limit on
//! the response.

use std::time::Duration;

use ureq::http;

use super::error::HostCallError;
use crate::plugin::bindings::latest::ops::plugin::http::Host;
use crate::plugin::bindings::types::{HttpRequest, HttpResponse};
use crate::plugin::capability::Need;
use crate::plugin::state::PluginState;

const TIMEOUT: Duration = Duration::from_secs(30);
/// Tokens and small JSON documents, not downloads.
const MAX_RESPONSE: u64 = 1 << 20;

impl Host for PluginState {
    async fn fetch(&mut self, request: HttpRequest) -> Result<HttpResponse, String> {
        let start = self.host_call_begins();
        let result = self.http_fetch(request).await;
        self.host_time_since(start);
        result.map_err(HostCallError::into_wit)
    }
}

impl PluginState {
    async fn http_fetch(&mut self, request: HttpRequest) -> Result<HttpResponse, HostCallError> {
        let target = allowed_target(&request.url).map_err(HostCallError::Invalid)?;
        self.check(Need::Http {
            host: &target.host,
            port: target.port,
            default_port: target.default_port,
        })
        .map_err(HostCallError::Refused)?;
        let prepared = prepare(request).map_err(HostCallError::Invalid)?;
        tokio::task::spawn_blocking(move || send(prepared))
            .await
            .map_err(|source| HostCallError::Task {
                what: "http request",
                source,
            })?
    }
}

/// Where a request goes: what an `http` grant is checked against.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Lowercase, without brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Whether `port` is the scheme's own (443, or 80 for plain http).
    pub(crate) default_port: bool,
}

/// Where `url` goes, if its scheme may be used for its host.
pub(crate) fn allowed_target(url: &str) -> Result<Target, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("http: {url:?} is not a URL: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("http: {url:?} names no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let default = match uri.scheme_str() {
        Some("https") => 443,
        Some("http") if crate::domain::is_loopback(&host) => 80,
        Some("http") => {
            return Err(format!(
                "http: {url:?} is plain http to a host that is not loopback; use https"
            ))
        }
        _ => return Err(format!("http: {url:?} is not an http or https URL")),
    };
    let port = uri.port_u16().unwrap_or(default);
    Ok(Target {
        host,
        port,
        default_port: port == default,
    })
}

fn prepare(request: HttpRequest) -> Result<http::Request<Vec<u8>>, String> {
    let method = http::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("http: {:?} is not an HTTP method", request.method))?;
    let mut builder = http::Request::builder().method(method).uri(&request.url);
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("host") {
            return Err("http: the Host header is the URL's; it cannot be set".into());
        }
        builder = builder.header(name, value);
    }
    builder
        .body(request.body.unwrap_or_default())
        .map_err(|e| format!("http: bad request: {e}"))
}

fn send(request: http::Request<Vec<u8>>) -> Result<HttpResponse, HostCallError> {
    let url = request.uri().to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent.run(request).map_err(|source| HostCallError::Http {
        url: url.clone(),
        reading: false,
        source,
    })?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_vec()
        .map_err(|source| HostCallError::Http {
            url,
            reading: true,
            source,
        })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        let target = |host: &str, port, default_port| Target {
            host: host.into(),
            port,
            default_port,
        };
        assert_eq!(
            allowed_target("https://Auth.Example.com/token").unwrap(),
            target("auth.example.com", 443, true)
        );
        assert_eq!(
            allowed_target("https://auth.example.com:8443/token").unwrap(),
            target("auth.example.com", 8443, false)
        );
        assert_eq!(
            allowed_target("http://127.0.0.1:8080/t").unwrap(),
            target("127.0.0.1", 8080, false)
        );
        assert_eq!(
            allowed_target("http://[::1]:8080/t").unwrap(),
            target("::1", 8080, false)
        );
        assert_eq!(
            allowed_target("http://localhost/t").unwrap(),
            target("localhost", 80, true)
        );
        let plain = allowed_target("http://auth.example.com/t").unwrap_err();
        assert!(plain.contains("use https"), "{plain}");
        assert!(allowed_target("ftp://auth.example.com/t").is_err());
        assert!(allowed_target("/relative").is_err());
    }

    #[test]
    fn the_host_header_is_not_the_plugins() {
        let request = HttpRequest {
            method: "GET".into(),
            url: "https://a.example/".into(),
            headers: vec![("Host".into(), "b.example".into())],
            body: None,
        };
        assert!(prepare(request).unwrap_err().contains("Host header"));
    }
}
