//! An image reference: name, tag, digest.

use std::fmt;
use std::str::FromStr;

use super::{Digest, DigestError, ImageName, ImageNameError, Tag, TagError};

/// `name[:tag][@digest]`. A `:` after the last `/` starts the tag; one
/// before it is a registry port (`localhost:5000/a` has no tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub name: ImageName,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error(transparent)]
    Name(#[from] ImageNameError),
    #[error("tag `{text}`: {source}")]
    Tag { text: String, source: TagError },
    #[error("digest `{text}`: {source}")]
    Digest { text: String, source: DigestError },
}

/// `path[:tag][@digest]` split into its three texts.
fn split(text: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name_tag, digest) = match text.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (text, None),
    };
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    match name_tag[last_slash..].find(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
            digest,
        ),
        None => (name_tag, None, digest),
    }
}

impl ImageRef {
    /// `name:tag`.
    pub fn tagged(name: ImageName, tag: Tag) -> ImageRef {
        ImageRef {
            name,
            tag: Some(tag),
            digest: None,
        }
    }

    /// A reference whose registry is given apart (`oci://HOST/PATH`).
    pub fn in_registry(registry: &str, path: &str) -> Result<ImageRef, ImageRefError> {
        let (repository, tag, digest) = split(path);
        // The digest is checked first: it is what pins the content.
        let digest = parse_digest(digest)?;
        let name = ImageName::in_registry(registry, repository)?;
        Ok(ImageRef {
            name,
            tag: parse_tag(tag)?,
            digest,
        })
    }

    /// The tag Docker pulls: the one written, else `latest` when there is
    /// no digest either.
    pub fn tag_or_latest(&self) -> Option<Tag> {
        match (&self.tag, &self.digest) {
            (None, None) => Some(Tag::latest()),
            (tag, _) => tag.clone(),
        }
    }
}

fn parse_tag(tag: Option<&str>) -> Result<Option<Tag>, ImageRefError> {
    tag.map(|t| {
        t.parse().map_err(|source| ImageRefError::Tag {
            text: t.to_owned(),
            source,
        })
    })
    .transpose()
}

fn parse_digest(digest: Option<&str>) -> Result<Option<Digest>, ImageRefError> {
    digest
        .map(|d| {
            d.parse().map_err(|source| ImageRefError::Digest {
                text: d.to_owned(),
                source,
            })
        })
        .transpose()
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(text: &str) -> Result<ImageRef, ImageRefError> {
        let (name, tag, digest) = split(text);
        let digest = parse_digest(digest)?;
        Ok(ImageRef {
            name: name.parse()?,
            tag: parse_tag(tag)?,
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3b46011b8b55a5793b46011b8b55a5793b46011b8b55a5793b46011b8b55a579";

    /// (text, registry, repository, tag, has digest), or `None` for invalid.
    type Row<'a> = (String, Option<(&'a str, &'a str, Option<&'a str>, bool)>);

    #[test]
    fn references() {
        let long_tag = "t".repeat(128);
        let table: Vec<Row> = vec![
            (
                "localhost:5000/a".into(),
                Some(("localhost:5000", "a", None, false)),
            ),
            (
                "localhost:5000/a:v1".into(),
                Some(("localhost:5000", "a", Some("v1"), false)),
            ),
            ("ubuntu".into(), Some(("docker.io", "ubuntu", None, false))),
            (
                "ubuntu:22.04".into(),
                Some(("docker.io", "ubuntu", Some("22.04"), false)),
            ),
            (
                "org/app:Latest".into(),
                Some(("docker.io", "org/app", Some("Latest"), false)),
            ),
            (
                "ghcr.io/a__b/c:x".into(),
                Some(("ghcr.io", "a__b/c", Some("x"), false)),
            ),
            (
                format!("a:{long_tag}"),
                Some(("docker.io", "a", Some(&long_tag), false)),
            ),
            (
                format!("ghcr.io/a@sha256:{HEX}"),
                Some(("ghcr.io", "a", None, true)),
            ),
            (
                format!("ghcr.io/a:v@sha256:{HEX}"),
                Some(("ghcr.io", "a", Some("v"), true)),
            ),
            (format!("a:{long_tag}x"), None),
            ("Ubuntu".into(), None),
            ("a___b".into(), None),
            ("a:".into(), None),
            ("a:-x".into(), None),
            ("a@sha256:abc".into(), None),
            (format!("a@sha256:{}", HEX.to_ascii_uppercase()), None),
            ("".into(), None),
        ];
        for (text, want) in &table {
            let got = text.parse::<ImageRef>();
            let got = got.as_ref().ok().map(|r| {
                (
                    r.name.registry().as_str().to_owned(),
                    r.name.repository().as_str().to_owned(),
                    r.tag.as_ref().map(|t| t.as_str().to_owned()),
                    r.digest.is_some(),
                )
            });
            let want =
                want.map(|(r, p, t, d)| (r.to_owned(), p.to_owned(), t.map(String::from), d));
            assert_eq!(got, want, "{text}");
            if want.is_some() {
                assert_eq!(&text.parse::<ImageRef>().unwrap().to_string(), text);
            }
        }
    }

    #[test]
    fn latest_only_without_tag_and_digest() {
        let tag = |t: &str| t.parse::<ImageRef>().unwrap().tag_or_latest();
        assert_eq!(tag("a"), Some(Tag::latest()));
        assert_eq!(tag("a:v1").unwrap().as_str(), "v1");
        assert_eq!(tag(&format!("a@sha256:{HEX}")), None);
    }

    #[test]
    fn a_registry_given_apart_is_always_the_host() {
        let r = ImageRef::in_registry("h", "a/b:1").unwrap();
        assert_eq!(r.name.registry().as_str(), "h");
        assert_eq!(r.to_string(), "h/a/b:1");
        let e = ImageRef::in_registry("h", "a:-x").unwrap_err().to_string();
        assert!(e.starts_with("tag `-x`: "), "{e}");
        let e = ImageRef::in_registry("h", "a@md5:x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("digest `md5:x`: only sha256"), "{e}");
    }
}
