//! `oci://host[:port]/repo[:tag][@sha256:HEX]`, checked part by part so
//! that an error names the part that is wrong.

use super::FetchError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`, as credentials are keyed in Docker's config.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl Reference {
    /// Parses a reference; without a tag or digest the tag is `latest`.
    pub fn parse(text: &str) -> Result<Reference, FetchError> {
        let bad = |message: String| FetchError::BadSource {
            source_text: text.to_owned(),
            message,
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| bad("an OCI reference starts with oci://".into()))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| {
            bad("no repository: expected oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]".into())
        })?;
        check_registry(registry).map_err(|m| bad(format!("registry host `{registry}`: {m}")))?;
        let (name_tag, digest) = match path.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (path, None),
        };
        if let Some(digest) = digest {
            check_digest(digest).map_err(|m| bad(format!("digest `{digest}`: {m}")))?;
        }
        // A `:` after the last `/` starts the tag.
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[last_slash..].find(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        check_repository(repository).map_err(|m| bad(format!("repository `{repository}`: {m}")))?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(|m| bad(format!("tag `{tag}`: {m}")))?;
        }
        let tag = match (tag, digest) {
            (None, None) => Some("latest".to_owned()),
            (tag, _) => tag.map(str::to_owned),
        };
        Ok(Reference {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest: digest.map(str::to_owned),
        })
    }

    /// What the manifest endpoint is asked for: the digest when there is
    /// one (it pins the content), else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

fn check_registry(registry: &str) -> Result<(), String> {
    if registry.is_empty() {
        return Err("it is empty".into());
    }
    let (host, port) = if let Some(v6) = registry.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or("an IPv6 address needs its closing `]`")?;
        addr.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("`{addr}` is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected `:PORT` after `]`")?),
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
            return Err(format!(
                "`{host}` is not a host name (letters, digits, `-` and `.`)"
            ));
        }
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("port `{port}` is not a number from 1 to 65535"));
        }
    }
    Ok(())
}

fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("it is empty".into());
    }
    for component in repository.split('/') {
        let ok = !component.is_empty()
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok {
            return Err(format!(
                "`{component}` is not a path component (lowercase letters and digits, \
                 separated by `.`, `_` or `-`)"
            ));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&tag.len())
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(
            "a tag is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
                .into(),
        )
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or("only sha256:<64 hex digits> digests are supported")?;
    if hex.len() == 64
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(())
    } else {
        Err("expected 64 lowercase hex digits after sha256:".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3b46011b8b55a5793b46011b8b55a5793b46011b8b55a5793b46011b8b55a579";

    fn parse(text: &str) -> Reference {
        Reference::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        Reference::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn full_forms() {
        let r = parse("oci://127.0.0.1:5000/team/acme-sync:1.2.0");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/acme-sync");
        assert_eq!(r.tag.as_deref(), Some("1.2.0"));
        assert_eq!(r.digest, None);
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/team/acme-sync:1.2.0");

        let r = parse(&format!("oci://ghcr.io/acme/sync@sha256:{HEX}"));
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_reference(), format!("sha256:{HEX}"));

        let r = parse(&format!("oci://localhost:5000/a:v1@sha256:{HEX}"));
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.manifest_reference(), format!("sha256:{HEX}"));

        let r = parse("oci://[::1]:5000/a");
        assert_eq!(r.registry, "[::1]:5000");
    }

    #[test]
    fn the_tag_defaults_to_latest() {
        let r = parse("oci://registry.example.com/acme");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.manifest_reference(), "latest");
    }

    #[test]
    fn errors_name_the_wrong_part() {
        assert!(error("https://x/y").contains("starts with oci://"));
        assert!(error("oci://host-only").contains("no repository"));
        assert!(error("oci://:5000/a").contains("registry host"));
        assert!(error("oci://host:99999/a").contains("port `99999`"));
        assert!(error("oci://ho_st/a").contains("registry host `ho_st`"));
        assert!(error("oci://h/Acme").contains("repository `Acme`"));
        assert!(error("oci://h/a//b").contains("repository `a//b`"));
        assert!(error("oci://h/a:").contains("tag ``"));
        assert!(error("oci://h/a:-x").contains("tag `-x`"));
        assert!(error("oci://h/a@sha256:abc").contains("digest `sha256:abc`"));
        assert!(error(&format!("oci://h/a@md5:{HEX}")).contains("only sha256"));
    }
}
