//! The image half of a [`BuildJob`](super::job::BuildJob): which services,
//! under which references, from which Dockerfile, and whether pushing needs
//! a registry login.

use crate::config::{Config, ConfigError, ImageConfig, Located, PluginSection, SectionValue};
use crate::domain::{ImageName, PluginName, Registry, Repository};

use super::job::{plugin_name, required, JobError};
use super::plan::{self, ImagePlan};
use super::BuildSettings;
use crate::housekeeping::{BUILD_LABEL, PROJECT_LABEL, REPOSITORY_LABEL};

const DEFAULT_DOCKERFILE: &str = "Dockerfile";
pub const DEFAULT_BUILDER: &str = "docker";
pub const DEFAULT_AUTH: &str = "token-auth";
/// The keys of `[build.image]` a third-party registry auth gets besides its
/// own section: the credentials, which the host owns.
const CREDENTIAL_KEYS: &[&str] = &["registry", "username", "token"];

#[derive(Debug, Clone)]
pub struct ImageJob {
    /// `dockerfile` as written (default `Dockerfile`); its value is the
    /// image builder's to check.
    pub dockerfile: String,
    /// `plugin`: the image-builder plugin.
    pub builder: Located<PluginName>,
    /// `auth`: the registry-auth plugin.
    pub auth: Located<PluginName>,
    /// `binary_arg`; without it every image gets the same build.
    pub binary_arg: Option<String>,
    /// `registry`, else the host part of `prefix` (as docker reads it).
    pub registry: Option<Registry>,
    /// Whether a registry login comes before pushing: `token` is set, or a
    /// registry-auth plugin is named (it finds the credentials itself, as
    /// a token exchange does).
    pub login: bool,
    pub plans: Vec<ImagePlan>,
    /// `[build.image]` for the image builder; without `token` when not
    /// pushing.
    pub section: PluginSection,
    /// What the registry auth validates and receives: `[build.image]` for
    /// the built-in `token-auth`, else `[build.<auth>]` plus the
    /// credential keys of `[build.image]`.
    pub auth_section: PluginSection,
    /// `prefix`: every image of the project is under it.
    pub prefix: ImageName,
    /// The project's name (`ops.project` on every image).
    pub project: String,
    /// This run's `ops.build`: when it started.
    pub build_id: String,
}

impl ImageJob {
    /// The labels of the image `plan` builds.
    pub fn labels(&self, plan: &ImagePlan) -> Vec<(String, String)> {
        vec![
            (PROJECT_LABEL.to_owned(), self.project.clone()),
            (REPOSITORY_LABEL.to_owned(), plan.reference.name.to_string()),
            (BUILD_LABEL.to_owned(), self.build_id.clone()),
        ]
    }
}

impl ImageJob {
    pub(super) fn new(
        config: &Config,
        image: &ImageConfig,
        settings: &BuildSettings,
    ) -> Result<ImageJob, JobError> {
        let written = required(
            "build.image.prefix",
            image.prefix.as_ref(),
            &image.section.location,
        )?;
        let prefix: ImageName = written.parse().map_err(|_| {
            let prefix = written.as_str();
            ConfigError::invalid(
                written.at.clone(),
                "build.image.prefix",
                format!(
                    "{prefix:?} is not a valid image name prefix (registry host, then lowercase \
                     path components such as `ghcr.io/org/project`)"
                ),
            )
        })?;
        let services = services(image)?;
        if let Some(arg) = &image.binary_arg {
            if !crate::text::is_identifier(arg) {
                return Err(ConfigError::invalid(
                    arg.at.clone(),
                    "build.image.binary_arg",
                    format!("{:?} is not a valid Dockerfile ARG name", arg.value),
                )
                .into());
            }
        }
        let registry = registry(image)?;
        let dockerfile = dockerfile(image);
        let plans = plan::plan_images(
            &prefix,
            services,
            settings.service.as_deref(),
            &settings.tag,
        )?;
        // Like docker: without `registry`, the registry is the prefix's host.
        let registry = Some(registry.unwrap_or_else(|| prefix.registry()));
        // A chosen plugin's error points at its own value; a default one at
        // the section that left it out.
        let at = &image.section.location;
        let chosen = |value: &Option<Located<String>>, default: &str, key: &str| match value {
            Some(v) => plugin_name(v, key, &v.at),
            None => plugin_name(default, key, at),
        };
        let auth = chosen(&image.auth, DEFAULT_AUTH, "build.image.auth")?;
        Ok(ImageJob {
            dockerfile,
            builder: chosen(&image.plugin, DEFAULT_BUILDER, "build.image.plugin")?,
            auth_section: auth_section(config, image, auth.as_str()),
            auth,
            binary_arg: image.binary_arg.as_ref().map(|a| a.value.clone()),
            registry,
            login: image.token.is_some() || image.auth.is_some(),
            plans,
            section: builder_section(&image.section, settings.push),
            prefix,
            project: super::project::name(config),
            build_id: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        })
    }
}

/// `services`: at least one, each once, each a valid image name component.
fn services(image: &ImageConfig) -> Result<&[String], ConfigError> {
    let (services, at) = match &image.services {
        Some(services) if !services.is_empty() => (&services.value, &services.at),
        Some(services) => {
            return Err(ConfigError::invalid(
                services.at.clone(),
                "build.image.services",
                "must list at least one service",
            ))
        }
        None => {
            return Err(ConfigError::missing(
                image.section.location.clone(),
                "build.image.services",
            ))
        }
    };
    for (i, service) in services.iter().enumerate() {
        if services[..i].contains(service) {
            return Err(ConfigError::invalid(
                at.clone(),
                "build.image.services",
                format!("service {service:?} is listed twice"),
            ));
        }
        if !Repository::is_component(service) {
            return Err(ConfigError::invalid(
                at.clone(),
                "build.image.services",
                format!(
                    "{service:?} is not a valid image name component (lowercase letters and \
                     digits, separated by '.', '_' or '-')"
                ),
            ));
        }
    }
    Ok(services)
}

/// `registry`, when given: a host for `docker login`.
fn registry(image: &ImageConfig) -> Result<Option<Registry>, ConfigError> {
    let Some(written) = &image.registry else {
        return Ok(None);
    };
    written.parse().map(Some).map_err(|e| {
        let registry = written.as_str();
        ConfigError::invalid(
            written.at.clone(),
            "build.image.registry",
            format!(
                "{registry:?} is not a registry host (host[:port], e.g. \"ghcr.io\" or \
                 \"127.0.0.1:5000\"): {e}"
            ),
        )
    })
}

/// `dockerfile`, else `Dockerfile`, handed to the image builder as it is.
fn dockerfile(image: &ImageConfig) -> String {
    image
        .section
        .entries
        .iter()
        .find_map(|e| match (&*e.key, &e.value) {
            ("dockerfile", SectionValue::Text(s) | SectionValue::Secret(s)) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| DEFAULT_DOCKERFILE.to_owned())
}

/// `[build.image]` as the image builder gets it. Without a push there is
/// no login, so no registry credential reaches the builder at all.
fn builder_section(section: &PluginSection, push: bool) -> PluginSection {
    let mut section = section.clone();
    if !push {
        section.entries.retain(|e| e.key != "token");
    }
    section
}

fn auth_section(config: &Config, image: &ImageConfig, auth: &str) -> PluginSection {
    if auth == DEFAULT_AUTH {
        return image.section.clone();
    }
    let own = config.build.as_ref().and_then(|b| b.section(auth));
    let mut entries: Vec<_> = image
        .section
        .entries
        .iter()
        .filter(|e| CREDENTIAL_KEYS.contains(&e.key.as_str()))
        .cloned()
        .collect();
    entries.extend(own.iter().flat_map(|s| s.entries.iter().cloned()));
    PluginSection {
        path: format!("build.{auth}"),
        entries,
        location: own.map_or_else(|| image.section.location.clone(), |s| s.location.clone()),
    }
}
