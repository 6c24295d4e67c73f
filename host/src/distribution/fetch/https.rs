//! Downloads over HTTPS (ureq with rustls), with a size limit and
//! timeouts. Plain `http://` is allowed only to a loopback host, where no
//! one else is on the wire.

use std::time::Duration;

use super::FetchError;
use crate::domain::Authority;

/// The largest component or registry answer accepted. Built-ins are a few
/// MiB; this leaves room without letting a server fill the disk or memory.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Redirects followed, each checked like the first URL.
pub const MAX_REDIRECTS: usize = 5;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(120);

/// The agent every download and registry call uses. Statuses are returned,
/// not raised, so that callers can answer 401 challenges and name 404s.
/// Redirects are followed by the callers ([`redirect_target`]), so that
/// each hop is held to the same https-or-loopback rule.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .max_redirects(0)
        .user_agent(concat!("ops/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub use crate::domain::is_loopback;

/// Refuses anything but `https://`, or `http://` to a loopback host.
pub fn check_url(url: &str) -> Result<(), FetchError> {
    let authority = url
        .parse::<Authority>()
        .ok()
        .filter(|a| matches!(a.scheme.as_str(), "https" | "http"))
        .ok_or_else(|| FetchError::BadSource {
            source_text: url.to_owned(),
            message: "a URL must start with https:// (or http:// for a loopback host)".into(),
        })?;
    if authority.has_userinfo {
        return Err(FetchError::BadSource {
            source_text: url.to_owned(),
            message: "the URL carries credentials (`user@`); ops records where a plugin \
                      came from and keeps no secrets there"
                .into(),
        });
    }
    let host = &authority.host;
    if host.is_empty() {
        return Err(FetchError::BadSource {
            source_text: url.to_owned(),
            message: "the URL has no host".into(),
        });
    }
    if authority.scheme == "http" && !authority.is_loopback() {
        return Err(FetchError::PlainHttp {
            url: url.to_owned(),
            host: host.to_owned(),
        });
    }
    Ok(())
}

/// GETs `url` and returns its body, refusing bodies over [`MAX_BYTES`].
pub fn get(url: &str) -> Result<Vec<u8>, FetchError> {
    check_url(url)?;
    let transport = |e: ureq::Error| FetchError::Transport {
        url: url.to_owned(),
        message: e.to_string(),
    };
    let agent = agent();
    let mut url = url.to_owned();
    let mut response = agent.get(&url).call().map_err(transport)?;
    for _ in 0..MAX_REDIRECTS {
        let Some(next) = redirect_target(&url, response.status().as_u16(), response.headers())?
        else {
            break;
        };
        url = next;
        response = agent.get(&url).call().map_err(transport)?;
    }
    let url = url.as_str();
    let status = response.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
        });
    }
    read_body(url, response)
}

/// Where a 3xx answer to `from` points, checked by [`check_url`]; `None`
/// for any other status.
pub fn redirect_target(
    from: &str,
    status: u16,
    headers: &ureq::http::HeaderMap,
) -> Result<Option<String>, FetchError> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| FetchError::Status {
            url: from.to_owned(),
            status,
        })?;
    let target = if location.starts_with('/') {
        format!("{}{location}", origin(from))
    } else {
        location.to_owned()
    };
    check_url(&target)?;
    Ok(Some(target))
}

/// `scheme://authority` of an absolute URL.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// The body of `response` (from `url`), at most [`MAX_BYTES`].
pub fn read_body(
    url: &str,
    response: ureq::http::Response<ureq::Body>,
) -> Result<Vec<u8>, FetchError> {
    response
        .into_body()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge {
                url: url.to_owned(),
                limit: MAX_BYTES,
            },
            e => FetchError::Transport {
                url: url.to_owned(),
                message: e.to_string(),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "128.0.0.1",
            "::2",
            "localhost.evil",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn redirects_are_held_to_the_same_rule() {
        let mut headers = ureq::http::HeaderMap::new();
        headers.insert("location", "/blobs/x".parse().unwrap());
        let from = "http://127.0.0.1:5000/v2/a/blobs/sha256:1";
        assert_eq!(
            redirect_target(from, 307, &headers).unwrap().as_deref(),
            Some("http://127.0.0.1:5000/blobs/x")
        );
        assert_eq!(redirect_target(from, 200, &headers).unwrap(), None);
        headers.insert("location", "http://storage.example.com/x".parse().unwrap());
        assert!(matches!(
            redirect_target(from, 302, &headers),
            Err(FetchError::PlainHttp { .. })
        ));
        headers.insert("location", "https://storage.example.com/x".parse().unwrap());
        assert!(redirect_target(from, 302, &headers).unwrap().is_some());
        assert_eq!(origin("https://h:1/a?b"), "https://h:1");
        assert_eq!(origin("https://h"), "https://h");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_url("http://127.0.0.1:8080/p.wasm").is_ok());
        assert!(check_url("http://[::1]:8080/p.wasm").is_ok());
        assert!(check_url("https://example.com/p.wasm").is_ok());
        let err = check_url("http://example.com/p.wasm").unwrap_err();
        assert!(matches!(err, FetchError::PlainHttp { ref host, .. } if host == "example.com"));
        // Credentials in a URL are refused (they would be recorded).
        assert!(check_url("http://127.0.0.1@example.com/p.wasm").is_err());
        assert!(check_url("https://user:pw@example.com/p.wasm").is_err());
        assert!(check_url("ftp://example.com/p.wasm").is_err());
    }
}
