//! An image name without tag or digest: what `build.image.prefix` holds.

use std::fmt;
use std::str::FromStr;

use super::{Registry, RegistryError, Repository, RepositoryError};

/// `[registry/]repository`, read as Docker reads it: the first component
/// is the registry when [`Registry::looks_like_host`] says so (and there is
/// more after it), otherwise the name is on Docker Hub. The text is kept as
/// written: Docker itself adds `docker.io/` and `library/` when it needs
/// them, and the tools on the node are handed the name the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    registry: Option<Registry>,
    repository: Repository,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageNameError {
    #[error("registry host `{text}`: {source}")]
    Registry { text: String, source: RegistryError },
    #[error("repository `{text}`: {source}")]
    Repository {
        text: String,
        source: RepositoryError,
    },
}

impl ImageName {
    /// A name whose registry is given apart (`oci://HOST/REPOSITORY`), so
    /// even a first component without a `.` is the host.
    pub fn in_registry(registry: &str, repository: &str) -> Result<ImageName, ImageNameError> {
        let registry = registry
            .parse()
            .map_err(|source| ImageNameError::Registry {
                text: registry.to_owned(),
                source,
            })?;
        Ok(ImageName {
            registry: Some(registry),
            repository: parse_repository(repository)?,
        })
    }

    /// The registry the name lives in: the one written, else Docker Hub.
    pub fn registry(&self) -> Registry {
        self.registry.clone().unwrap_or_else(Registry::docker_hub)
    }

    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// This name with one more path component (a service under a prefix).
    pub fn join(&self, component: &str) -> Result<ImageName, ImageNameError> {
        let repository =
            self.repository
                .join(component)
                .map_err(|source| ImageNameError::Repository {
                    text: format!("{}/{component}", self.repository),
                    source,
                })?;
        Ok(ImageName {
            registry: self.registry.clone(),
            repository,
        })
    }
}

fn parse_repository(text: &str) -> Result<Repository, ImageNameError> {
    text.parse().map_err(|source| ImageNameError::Repository {
        text: text.to_owned(),
        source,
    })
}

impl FromStr for ImageName {
    type Err = ImageNameError;

    fn from_str(name: &str) -> Result<ImageName, ImageNameError> {
        match name.split_once('/') {
            Some((first, rest)) if Registry::looks_like_host(first) => {
                ImageName::in_registry(first, rest)
            }
            _ => Ok(ImageName {
                registry: None,
                repository: parse_repository(name)?,
            }),
        }
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(registry) = &self.registry {
            write!(f, "{registry}/")?;
        }
        write!(f, "{}", self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_their_registries() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            ("ghcr.io/org/project", Some(("ghcr.io", "org/project"))),
            ("127.0.0.1:5000/demo", Some(("127.0.0.1:5000", "demo"))),
            ("localhost:5000/a", Some(("localhost:5000", "a"))),
            ("localhost/x", Some(("localhost", "x"))),
            ("[::1]:5000/x", Some(("[::1]:5000", "x"))),
            ("org/project", Some(("docker.io", "org/project"))),
            ("project", Some(("docker.io", "project"))),
            (
                "docker.io/library/ubuntu",
                Some(("docker.io", "library/ubuntu")),
            ),
            ("a__b/c", Some(("docker.io", "a__b/c"))),
            ("", None),
            ("ghcr.io/", None),
            ("ghcr.io/Org", None),
            ("Org/project", None),
            ("a b/c", None),
            ("x/$(id)", None),
            ("ho_st.io/x", None),
            ("host:99999/x", None),
            ("localhost", Some(("docker.io", "localhost"))),
        ];
        for (text, want) in table {
            let got = text.parse::<ImageName>();
            let got = got
                .as_ref()
                .ok()
                .map(|n| (n.registry(), n.repository().as_str()));
            let got = got.as_ref().map(|(r, p)| (r.as_str(), *p));
            assert_eq!(got, *want, "{text}");
            if want.is_some() {
                assert_eq!(text.parse::<ImageName>().unwrap().to_string(), *text);
            }
        }
    }

    #[test]
    fn errors_name_the_part() {
        let e = "ghcr.io/Org".parse::<ImageName>().unwrap_err().to_string();
        assert!(e.starts_with("repository `Org`"), "{e}");
        let e = "h:0/x".parse::<ImageName>().unwrap_err().to_string();
        assert!(e.starts_with("registry host `h:0`: port `0`"), "{e}");
    }

    #[test]
    fn a_service_joins_the_prefix() {
        let name: ImageName = "127.0.0.1:5000/p".parse().unwrap();
        assert_eq!(
            name.join("api").unwrap().to_string(),
            "127.0.0.1:5000/p/api"
        );
        assert!(name.join("Api").is_err());
    }
}
