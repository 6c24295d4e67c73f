//! `oci://host[:port]/repo[:tag][@sha256:HEX]`: the registry is always
//! given, and the rest is an [`ImageRef`] whose errors name the part that
//! is wrong.

use super::FetchError;
use crate::domain::ImageRef;

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
        let parsed = ImageRef::in_registry(registry, path).map_err(|e| bad(e.to_string()))?;
        Ok(Reference {
            registry: parsed.name.registry().to_string(),
            repository: parsed.name.repository().to_string(),
            tag: parsed.tag_or_latest().map(|t| t.to_string()),
            digest: parsed.digest.map(|d| d.to_string()),
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
