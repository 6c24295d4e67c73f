//! What one `ops build` will do, decided before anything remote happens.
//!
//! Everything that can be checked locally is checked here, so that bad
//! input fails with exit code 2 and leaves the node untouched.

use std::fmt;

use crate::domain::{ImageName, ImageRef, Tag};

/// The image part of a plan: which services, under which references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub service: String,
    /// `{prefix}/{service}:{tag}`
    pub reference: ImageRef,
}

/// Why the command line or config cannot make a plan. Each names the value
/// and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "--service {given:?} is not one of build.image.services: {}{}",
        valid.join(", "),
        match suggestion { Some(s) => format!(" (did you mean `{s}`?)"), None => String::new() }
    )]
    UnknownService {
        given: String,
        valid: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("--service {0:?} given, but ops.toml has no [build.image] section")]
    ServiceWithoutImages(String),
    #[error("-j/--jobs must be at least 1")]
    ZeroJobs,
}

/// Picks the images to build: all services, or the one `--service` names.
///
/// The services were checked as path components when the config was
/// read, so joining one to the prefix cannot fail; one that does is
/// reported as unknown rather than trusted.
pub fn plan_images(
    prefix: &ImageName,
    services: &[String],
    only: Option<&str>,
    tag: &Tag,
) -> Result<Vec<ImagePlan>, PlanError> {
    let selected: Vec<&String> = match only {
        Some(name) => match services.iter().find(|s| *s == name) {
            Some(s) => vec![s],
            None => {
                let known: Vec<&str> = services.iter().map(String::as_str).collect();
                return Err(PlanError::UnknownService {
                    given: name.to_owned(),
                    valid: services.to_vec(),
                    suggestion: crate::config::closest(name, &known).map(String::from),
                });
            }
        },
        None => services.iter().collect(),
    };
    selected
        .into_iter()
        .map(|service| {
            let name = prefix
                .join(service)
                .map_err(|_| PlanError::UnknownService {
                    given: service.clone(),
                    valid: services.to_vec(),
                    suggestion: None,
                })?;
            Ok(ImagePlan {
                service: service.clone(),
                reference: ImageRef::tagged(name, tag.clone()),
            })
        })
        .collect()
}

impl fmt::Display for ImagePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.service, self.reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        ["api", "worker", "web"].map(String::from).to_vec()
    }

    fn plan(prefix: &str, only: Option<&str>, tag: &str) -> Result<Vec<ImagePlan>, PlanError> {
        plan_images(
            &prefix.parse().unwrap(),
            &services(),
            only,
            &tag.parse().unwrap(),
        )
    }

    #[test]
    fn all_services_by_default() {
        let plan = plan("ghcr.io/org/project", None, "latest").unwrap();
        let refs: Vec<_> = plan.iter().map(|p| p.reference.to_string()).collect();
        assert_eq!(
            refs,
            [
                "ghcr.io/org/project/api:latest",
                "ghcr.io/org/project/worker:latest",
                "ghcr.io/org/project/web:latest"
            ]
        );
    }

    #[test]
    fn one_service_with_custom_tag() {
        let plan = plan("r/p", Some("api"), "abc123").unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].service, "api");
        assert_eq!(plan[0].reference.to_string(), "r/p/api:abc123");
    }

    #[test]
    fn unknown_service_suggests_the_closest() {
        let err = plan("r/p", Some("wrker"), "latest").unwrap_err();
        assert!(
            err.to_string().ends_with("(did you mean `worker`?)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_service_names_the_valid_ones() {
        let err = plan("r/p", Some("db"), "latest").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--service \"db\" is not one of build.image.services: api, worker, web"
        );
    }
}
