//! The image half of a [`BuildJob`](super::job::BuildJob): which services,
//! under which references, from which Dockerfile, and whether pushing needs
//! a registry login.

use crate::config::{Config, ConfigError, ImageConfig, PluginSection};

use super::job::{required, JobError};
use super::plan::{self, ImagePlan};
use super::BuildSettings;

const DEFAULT_DOCKERFILE: &str = "Dockerfile";

#[derive(Debug, Clone)]
pub struct ImageJob {
    pub dockerfile: String,
    /// `binary_arg`; without it every image gets the same build.
    pub binary_arg: Option<String>,
    /// `registry`, else the host part of `prefix` (as docker reads it).
    pub registry: Option<String>,
    /// Whether `token` is set, so a registry login is needed before pushing.
    pub login: bool,
    pub plans: Vec<ImagePlan>,
    pub section: PluginSection,
}

impl ImageJob {
    pub(super) fn new(
        config: &Config,
        image: &ImageConfig,
        settings: &BuildSettings,
    ) -> Result<ImageJob, JobError> {
        let prefix = required(config, "build.image.prefix", image.prefix.as_deref())?;
        if !plan::is_valid_image_prefix(prefix) {
            return Err(ConfigError::invalid(
                config.location_of("build.image.prefix"),
                "build.image.prefix",
                format!(
                    "{prefix:?} is not a valid image name prefix (registry host, then lowercase \
                     path components such as `ghcr.io/org/project`)"
                ),
            )
            .into());
        }
        let services = match &image.services {
            Some(services) if !services.is_empty() => services,
            Some(_) => {
                return Err(ConfigError::invalid(
                    config.location_of("build.image.services"),
                    "build.image.services",
                    "must list at least one service",
                )
                .into())
            }
            None => {
                return Err(ConfigError::missing(
                    config.location_of("build.image"),
                    "build.image.services",
                )
                .into())
            }
        };
        for service in services {
            if !plan::is_valid_image_component(service) {
                return Err(ConfigError::invalid(
                    config.location_of("build.image.services"),
                    "build.image.services",
                    format!(
                        "{service:?} is not a valid image name component (lowercase letters and \
                         digits, separated by '.', '_' or '-')"
                    ),
                )
                .into());
            }
        }
        if let Some(arg) = &image.binary_arg {
            if !crate::remote::is_identifier(arg) {
                return Err(ConfigError::invalid(
                    config.location_of("build.image.binary_arg"),
                    "build.image.binary_arg",
                    format!("{arg:?} is not a valid Dockerfile ARG name"),
                )
                .into());
            }
        }
        let dockerfile = dockerfile(config, image)?;
        let plans =
            plan::plan_images(prefix, services, settings.service.as_deref(), &settings.tag)?;
        // Like docker: without `registry`, the registry is the prefix's host.
        let registry = image
            .registry
            .clone()
            .or_else(|| Some(plan::registry_of(prefix).to_owned()));
        Ok(ImageJob {
            dockerfile,
            binary_arg: image.binary_arg.clone(),
            registry,
            login: image.token.is_some(),
            plans,
            section: image.section.clone(),
        })
    }
}

/// `dockerfile`, else `Dockerfile`: a path inside the build path, since the
/// images are built from the synced tree.
fn dockerfile(config: &Config, image: &ImageConfig) -> Result<String, ConfigError> {
    let dockerfile = image
        .dockerfile
        .clone()
        .unwrap_or_else(|| DEFAULT_DOCKERFILE.to_owned());
    if inside_the_build_path(&dockerfile) {
        return Ok(dockerfile);
    }
    Err(ConfigError::invalid(
        config.location_of("build.image.dockerfile"),
        "build.image.dockerfile",
        format!(
            "{dockerfile:?} must be a path inside build.path (relative, without `..`), since \
             the images are built from the synced tree"
        ),
    ))
}

/// A relative path that stays in the directory it is relative to.
fn inside_the_build_path(path: &str) -> bool {
    let path = std::path::Path::new(path);
    !path.as_os_str().is_empty()
        && !path.to_string_lossy().contains(['\n', '\0'])
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}
