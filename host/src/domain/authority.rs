//! Where a URL goes: its scheme and authority.

use std::str::FromStr;

/// `scheme://[userinfo@]host[:port]` of a URL, the rest ignored. The
/// origin a token is sent to, and whether plain HTTP may be used, are
/// decided from this and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// As written (`https`, `http`, ...).
    pub scheme: String,
    /// Whether the URL carries `user[:password]@`.
    pub has_userinfo: bool,
    /// The host, without IPv6 brackets; may be empty.
    pub host: String,
    /// `host[:port]` as written, without the userinfo.
    pub host_port: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a URL (expected scheme://host...)")]
pub struct AuthorityError;

impl Authority {
    /// `scheme://host[:port]`, lowercase: the origin a browser would see.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.host_port).to_ascii_lowercase()
    }

    pub fn is_loopback(&self) -> bool {
        super::is_loopback(&self.host)
    }
}

impl FromStr for Authority {
    type Err = AuthorityError;

    fn from_str(url: &str) -> Result<Authority, AuthorityError> {
        let (scheme, rest) = url.split_once("://").ok_or(AuthorityError)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (Some(user), host_port),
            None => (None, authority),
        };
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host_port.split(':').next().unwrap_or(""),
        };
        Ok(Authority {
            scheme: scheme.to_owned(),
            has_userinfo: userinfo.is_some(),
            host: host.to_owned(),
            host_port: host_port.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (scheme, has userinfo, host, origin), or `None` for no URL.
    type Parts<'a> = Option<(&'a str, bool, &'a str, &'a str)>;

    #[test]
    fn authorities() {
        let table: &[(&str, Parts)] = &[
            (
                "https://ghcr.io/v2/",
                Some(("https", false, "ghcr.io", "https://ghcr.io")),
            ),
            (
                "https://Ops.Example.com:8443/x?y#z",
                Some((
                    "https",
                    false,
                    "Ops.Example.com",
                    "https://ops.example.com:8443",
                )),
            ),
            (
                "http://127.0.0.1:8080",
                Some(("http", false, "127.0.0.1", "http://127.0.0.1:8080")),
            ),
            (
                "http://[::1]:80/p",
                Some(("http", false, "::1", "http://[::1]:80")),
            ),
            (
                "https://user:pw@host/p",
                Some(("https", true, "host", "https://host")),
            ),
            (
                "https://a@b@host/p",
                Some(("https", true, "host", "https://host")),
            ),
            (
                "https://host?q=a@b",
                Some(("https", false, "host", "https://host")),
            ),
            ("https:///path", Some(("https", false, "", "https://"))),
            ("https://", Some(("https", false, "", "https://"))),
            ("ghcr.io/v2", None),
            ("", None),
        ];
        for (url, want) in table {
            let got = url.parse::<Authority>().ok();
            let got = got.as_ref().map(|a| {
                (
                    a.scheme.as_str(),
                    a.has_userinfo,
                    a.host.as_str(),
                    a.origin(),
                )
            });
            let want = want.map(|(s, u, h, o)| (s, u, h, o.to_owned()));
            assert_eq!(got, want, "{url}");
        }
        assert!("http://localhost:1/"
            .parse::<Authority>()
            .unwrap()
            .is_loopback());
        assert!(!"http://10.0.0.1/"
            .parse::<Authority>()
            .unwrap()
            .is_loopback());
    }
}
