//! A registry host.

use std::fmt;
use std::str::FromStr;

/// `host[:port]` as `docker login` takes it and as Docker's config keys
/// credentials: a DNS name, an IPv4 address or a bracketed IPv6 address,
/// with an optional port from 1 to 65535. Kept as written (case included),
/// since that text is the credential key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registry(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("it is empty")]
    Empty,
    #[error("an IPv6 address needs its closing `]`")]
    UnclosedIpv6,
    #[error("`{0}` is not an IPv6 address")]
    BadIpv6(String),
    #[error("expected `:PORT` after `]`")]
    AfterIpv6,
    #[error("`{0}` is not a host name (letters, digits, `-` and `.`)")]
    BadHost(String),
    #[error("port `{0}` is not a number from 1 to 65535")]
    BadPort(String),
}

/// Docker Hub, the registry of a reference that names none.
const DOCKER_HUB: &str = "docker.io";

impl Registry {
    pub fn docker_hub() -> Registry {
        Registry(DOCKER_HUB.to_owned())
    }

    /// Docker's rule for the first component of a reference: it is a
    /// registry when it has a `.` or a `:`, or is `localhost`; otherwise
    /// (`org/project`) the reference is on Docker Hub.
    pub fn looks_like_host(component: &str) -> bool {
        component.contains('.') || component.contains(':') || component == "localhost"
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host without the port (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        match self.0.rfind(':') {
            Some(colon) if !self.0[colon..].contains(']') => &self.0[..colon],
            _ => &self.0,
        }
    }

    pub fn is_loopback(&self) -> bool {
        super::is_loopback(self.host())
    }
}

impl FromStr for Registry {
    type Err = RegistryError;

    fn from_str(registry: &str) -> Result<Registry, RegistryError> {
        if registry.is_empty() {
            return Err(RegistryError::Empty);
        }
        let (host, port) = if let Some(v6) = registry.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or(RegistryError::UnclosedIpv6)?;
            addr.parse::<std::net::Ipv6Addr>()
                .map_err(|_| RegistryError::BadIpv6(addr.to_owned()))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(RegistryError::AfterIpv6)?),
            };
            (None, port)
        } else {
            match registry.split_once(':') {
                Some((h, p)) => (Some(h), Some(p)),
                None => (Some(registry), None),
            }
        };
        if let Some(host) = host {
            let label_ok = |l: &str| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if !host.split('.').all(label_ok) {
                return Err(RegistryError::BadHost(host.to_owned()));
            }
        }
        if let Some(port) = port {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(RegistryError::BadPort(port.to_owned()));
            }
        }
        Ok(Registry(registry.to_owned()))
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        use RegistryError as E;
        let table: &[(&str, Result<&str, RegistryError>)] = &[
            ("ghcr.io", Ok("ghcr.io")),
            ("docker.io", Ok("docker.io")),
            ("localhost", Ok("localhost")),
            ("localhost:5000", Ok("localhost")),
            ("127.0.0.1:5000", Ok("127.0.0.1")),
            ("[::1]", Ok("[::1]")),
            ("[::1]:5000", Ok("[::1]")),
            ("Registry.Example.COM", Ok("Registry.Example.COM")),
            ("", Err(E::Empty)),
            (":5000", Err(E::BadHost(String::new()))),
            ("ho_st", Err(E::BadHost("ho_st".into()))),
            ("-a.io", Err(E::BadHost("-a.io".into()))),
            ("a..io", Err(E::BadHost("a..io".into()))),
            ("a.io.", Err(E::BadHost("a.io.".into()))),
            ("host:99999", Err(E::BadPort("99999".into()))),
            ("host:0", Err(E::BadPort("0".into()))),
            ("host:", Err(E::BadPort(String::new()))),
            ("a:1:2", Err(E::BadPort("1:2".into()))),
            ("[::1", Err(E::UnclosedIpv6)),
            ("[zz]", Err(E::BadIpv6("zz".into()))),
            ("[::1]5000", Err(E::AfterIpv6)),
        ];
        for (text, want) in table {
            let got = text.parse::<Registry>();
            assert_eq!(
                got.as_ref().map(Registry::host).map_err(Clone::clone),
                want.clone(),
                "{text}"
            );
        }
    }

    #[test]
    fn docker_hub_and_what_looks_like_a_host() {
        assert_eq!(Registry::docker_hub().as_str(), "docker.io");
        for host in ["ghcr.io", "localhost", "127.0.0.1:5000", "host:5000"] {
            assert!(Registry::looks_like_host(host), "{host}");
        }
        for name in ["org", "project", "local-host"] {
            assert!(!Registry::looks_like_host(name), "{name}");
        }
        assert!("localhost:5000".parse::<Registry>().unwrap().is_loopback());
        assert!("[::1]:5000".parse::<Registry>().unwrap().is_loopback());
        assert!(!"ghcr.io".parse::<Registry>().unwrap().is_loopback());
    }
}
