//! Turns `ops.toml` and the command line into a [`BuildJob`]: everything
//! `ops build` will do, checked before anything remote happens. Errors here
//! are config or usage errors (exit 2) that point at the file, line and
//! column, or name the bad option.

use crate::config::{BuildConfig, Config, ConfigError, PluginSection, SectionValue};
use crate::exit::{Exit, ExitStatusOf};

use super::image_job::ImageJob;
use super::plan::{self, PlanError};
use super::BuildSettings;

/// A checked build.
#[derive(Debug, Clone)]
pub struct BuildJob {
    /// `build.path` on the node.
    pub path: String,
    /// `build.command`, run with `sh -c` in `path`.
    pub command: String,
    /// The sync-strategy plugin it picks.
    pub sync_plugin: String,
    /// The section the sync plugin validates and receives.
    pub sync_section: PluginSection,
    pub git_ref: Option<String>,
    pub branch: Option<String>,
    /// `None` when there is no `[build.image]`: sync and build only.
    pub images: Option<ImageJob>,
    pub push: bool,
    pub jobs: usize,
    /// `[build.git] forward_agent`, when set (the git plugin checks it).
    pub forward_agent: Option<bool>,
    /// `--lock-wait`.
    pub lock_wait: std::time::Duration,
    /// What the build lock records about this run.
    pub lock_holder: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl ExitStatusOf for JobError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl ExitStatusOf for PlanError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl BuildJob {
    pub fn new(config: &Config, settings: &BuildSettings) -> Result<BuildJob, JobError> {
        // Command-line checks first: they need no config and are the cheapest
        // to fix.
        if settings.jobs == 0 {
            return Err(PlanError::ZeroJobs.into());
        }
        plan::validate_tag(&settings.tag)?;
        if let Some(git_ref) = &settings.git_ref {
            plan::validate_ref(git_ref)?;
        }

        let Some(build) = &config.build else {
            return Err(ConfigError::missing(config.location_of("build"), "build").into());
        };
        let path = build_path(config)?;
        let command = required(config, "build.command", build.command.as_deref())?;

        let source = build.source_name().to_owned();
        let sync_section = sync_section(config, build, &source, settings)?;
        let forward_agent = match source.as_str() {
            "git" => forward_agent(&sync_section),
            _ => None,
        };
        if let Some(branch) = &build.branch {
            plan::validate_ref(branch).map_err(|_| {
                ConfigError::invalid(
                    config.location_of("build.branch"),
                    "build.branch",
                    format!("{branch:?} is not a valid git branch name"),
                )
            })?;
        }

        let images = match &build.image {
            Some(image) => Some(ImageJob::new(config, image, settings)?),
            None => {
                if let Some(service) = &settings.service {
                    return Err(PlanError::ServiceWithoutImages(service.clone()).into());
                }
                None
            }
        };

        Ok(BuildJob {
            path: path.to_owned(),
            command: command.to_owned(),
            sync_plugin: build.sync_plugin().to_owned(),
            sync_section,
            git_ref: settings.git_ref.clone(),
            branch: build.branch.clone(),
            images,
            push: settings.push,
            jobs: settings.jobs,
            forward_agent,
            lock_wait: settings.lock_wait,
            lock_holder: super::lock::holder_line(
                settings.git_ref.as_deref().or(build.branch.as_deref()),
                &settings.command_line,
            ),
        })
    }
}

/// `forward_agent = true|false` in `[build.git]`; its type is the git
/// plugin's to check.
fn forward_agent(section: &PluginSection) -> Option<bool> {
    section
        .entries
        .iter()
        .find_map(|e| match (&*e.key, &e.value) {
            ("forward_agent", SectionValue::Boolean(b)) => Some(*b),
            _ => None,
        })
}

/// The section the sync plugin for `source` validates and receives:
/// `[build.<source>]` (`[build.git]`, `[build.push]`, `[build.acme-sync]`).
fn sync_section(
    config: &Config,
    build: &BuildConfig,
    source: &str,
    settings: &BuildSettings,
) -> Result<PluginSection, ConfigError> {
    let section_name = format!("build.{source}");
    let section = build.section(source).cloned();
    if source == "push" && settings.git_ref.is_some() {
        // The pushed tree is the working tree as it is; building another
        // ref from it would silently build something else.
        return Err(ConfigError::invalid(
            config.location_of("build.source"),
            "build.source",
            "--ref cannot be used with source = \"push\", which sends the local working \
             tree as it is (uncommitted changes included); check out the ref locally, or \
             use source = \"git\"",
        ));
    }
    match section {
        Some(section) => Ok(section),
        None if source == "git" => Err(ConfigError::missing(
            config.location_of("build"),
            "build.git (with `repo`, for source = \"git\")",
        )),
        None => Ok(PluginSection {
            path: section_name,
            entries: Vec::new(),
            location: config.location_of("build"),
        }),
    }
}

/// `build.path`: absolute, or in the node user's home (`~`, `~/...`),
/// one line, no `..`. A relative path would depend on where the node's
/// shell starts, could climb out with `..`, and one starting with `-`
/// would be read as an option by the programs it is given to.
pub(super) fn build_path(config: &Config) -> Result<&str, ConfigError> {
    let path = required(
        config,
        "build.path",
        config.build.as_ref().and_then(|b| b.path.as_deref()),
    )?;
    let invalid = |message: &str| {
        ConfigError::invalid(config.location_of("build.path"), "build.path", message)
    };
    if path.contains(['\n', '\r', '\0']) {
        return Err(invalid("must be a single line"));
    }
    if !(path.starts_with('/') || path == "~" || path.starts_with("~/")) {
        return Err(invalid(&format!(
            "{path:?} must be an absolute path (or start with ~/ for the node user's home)"
        )));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(invalid(&format!("{path:?} must not contain `..`")));
    }
    Ok(path)
}

pub(super) fn required<'a>(
    config: &Config,
    key: &str,
    value: Option<&'a str>,
) -> Result<&'a str, ConfigError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(ConfigError::invalid(
            config.location_of(key),
            key,
            "must not be empty",
        )),
        None => Err(ConfigError::missing(config.location_of(key), key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SPEC_EXAMPLE: &str = r#"
[build]
node = 4
path = "/opt/builds/my-project"
command = "cargo build --release"
source = "git"
branch = "main"

[build.git]
repo = "git@github.com:org/repo"
ssh_key = "~/.ssh/deploy_key"
token = "$GITHUB_TOKEN"

[build.image]
dockerfile = "Dockerfile.prod"
registry = "ghcr.io"
token = "$GHCR_PAT"
username = "oauth2"
prefix = "ghcr.io/org/project"
binary_arg = "SERVICE_BINARY"
services = ["api", "worker", "web"]
"#;

    fn config(text: &str) -> Config {
        let env = |name: &str| Some(format!("value-of-{name}"));
        Config::parse(Path::new("ops.toml"), text, &env).unwrap()
    }

    /// Settings as `ops LINE` gives them (the options these tests use).
    fn args(line: &str) -> BuildSettings {
        let mut settings = BuildSettings::new("ops.toml");
        let mut words = line.split_whitespace().skip(1);
        while let Some(word) = words.next() {
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (word, None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| words.next().map(str::to_owned))
                    .unwrap()
            };
            match flag {
                "--ref" => settings.git_ref = Some(value()),
                "--service" | "-s" => settings.service = Some(value()),
                "--tag" | "-t" => settings.tag = value(),
                "--no-push" => settings.push = false,
                "-j" | "--jobs" => settings.jobs = value().parse().unwrap(),
                other => panic!("option {other} not known to these tests"),
            }
        }
        settings
    }

    fn error(text: &str, line: &str) -> String {
        BuildJob::new(&config(text), &args(line))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn spec_example_builds_all_services() {
        let job = BuildJob::new(&config(SPEC_EXAMPLE), &args("build")).unwrap();
        assert_eq!(job.path, "/opt/builds/my-project");
        assert_eq!(job.sync_plugin, "git");
        assert_eq!(job.branch.as_deref(), Some("main"));
        assert!(job.push);
        assert_eq!(job.jobs, 5);
        let images = job.images.unwrap();
        assert!(images.login);
        assert_eq!(images.dockerfile, "Dockerfile.prod");
        let refs: Vec<_> = images.plans.iter().map(|p| p.reference.clone()).collect();
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
    fn spec_options() {
        let c = config(SPEC_EXAMPLE);
        let job = BuildJob::new(&c, &args("build --ref v1.2.0")).unwrap();
        assert_eq!(job.git_ref.as_deref(), Some("v1.2.0"));
        let job = BuildJob::new(&c, &args("build --service api")).unwrap();
        assert_eq!(job.images.unwrap().plans.len(), 1);
        let job = BuildJob::new(&c, &args("build --tag abc123 --no-push")).unwrap();
        assert!(!job.push);
        assert!(job.images.unwrap().plans[0].reference.ends_with(":abc123"));
        assert_eq!(BuildJob::new(&c, &args("build -j 3")).unwrap().jobs, 3);
    }

    #[test]
    fn bad_command_line_values() {
        assert_eq!(
            error(SPEC_EXAMPLE, "build --service db"),
            "--service \"db\" is not one of build.image.services: api, worker, web"
        );
        assert!(error(SPEC_EXAMPLE, "build -j 0").contains("at least 1"));
        assert!(error(SPEC_EXAMPLE, "build --tag a;b").contains("not a valid Docker tag"));
        assert!(error(SPEC_EXAMPLE, "build --ref=--upload-pack=x").contains("not a valid git ref"));
    }

    #[test]
    fn missing_keys_point_at_the_file() {
        let text = "[build]\ncommand = \"make\"\n";
        let e = error(text, "build");
        assert!(e.starts_with("ops.toml:1:"), "{e}");
        assert!(e.contains("build.path"), "{e}");
        let e = error("project = \"x\"\n", "build");
        assert!(e.starts_with("ops.toml:1:1:"), "{e}");
        assert!(e.contains("build"), "{e}");
    }

    #[test]
    fn registry_defaults_to_the_prefix_host() {
        let text = SPEC_EXAMPLE.replace("registry = \"ghcr.io\"\n", "");
        let job = BuildJob::new(&config(&text), &args("build")).unwrap();
        assert_eq!(job.images.unwrap().registry.as_deref(), Some("ghcr.io"));
        let text = text.replace("ghcr.io/org/project", "org/project");
        let job = BuildJob::new(&config(&text), &args("build")).unwrap();
        assert_eq!(job.images.unwrap().registry.as_deref(), Some("docker.io"));
    }

    #[test]
    fn no_image_section_means_sync_and_build_only() {
        let text = "[build]\npath = \"/b\"\ncommand = \"make\"\n[build.git]\nrepo = \"/r.git\"\n";
        let job = BuildJob::new(&config(text), &args("build")).unwrap();
        assert!(job.images.is_none());
        assert!(error(text, "build --service api").contains("no [build.image] section"));
    }

    #[test]
    fn push_source_refuses_ref() {
        let text = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"push\"\n";
        let job = BuildJob::new(&config(text), &args("build")).unwrap();
        assert_eq!(job.sync_section.path, "build.push");
        let e = error(text, "build --ref main");
        assert!(e.starts_with("ops.toml:4:"), "{e}");
        assert!(
            e.contains("--ref cannot be used with source = \"push\""),
            "{e}"
        );
    }

    #[test]
    fn the_image_builders_keys_are_left_to_it() {
        // `dockerfile` and every key the host does not use are the image
        // builder's to check (its `validate`); the host only passes the
        // Dockerfile on.
        let text = SPEC_EXAMPLE.replace(
            "\"Dockerfile.prod\"",
            "\"../Dockerfile\"\nsquash = true\nplugin = \"kaniko\"",
        );
        let job = BuildJob::new(&config(&text), &args("build")).unwrap();
        let images = job.images.unwrap();
        assert_eq!(images.dockerfile, "../Dockerfile");
        assert_eq!(images.builder, "kaniko");
        assert!(images.section.entries.iter().any(|e| e.key == "squash"));
        let text = SPEC_EXAMPLE.replace("dockerfile = \"Dockerfile.prod\"\n", "");
        let job = BuildJob::new(&config(&text), &args("build")).unwrap();
        assert_eq!(job.images.unwrap().dockerfile, "Dockerfile");
    }

    #[test]
    fn a_plugin_source_gets_its_own_section() {
        let text = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"acme-sync\"\n\
                    [build.acme-sync]\nurl = \"https://x/t.tgz\"\n";
        let job = BuildJob::new(&config(text), &args("build")).unwrap();
        assert_eq!(job.sync_plugin, "acme-sync");
        assert_eq!(job.sync_section.path, "build.acme-sync");
        assert_eq!(job.sync_section.entries[0].key, "url");
        let bare = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"acme-sync\"\n";
        let job = BuildJob::new(&config(bare), &args("build")).unwrap();
        assert_eq!(job.sync_section.path, "build.acme-sync");
        assert!(job.sync_section.entries.is_empty());
    }

    #[test]
    fn a_third_party_auth_gets_its_section_and_the_credentials() {
        let text = format!("{SPEC_EXAMPLE}auth = \"vault\"\n[build.vault]\nrole = \"ci\"\n");
        let job = BuildJob::new(&config(&text), &args("build")).unwrap();
        let images = job.images.unwrap();
        assert_eq!(images.auth, "vault");
        assert_eq!(images.auth_section.path, "build.vault");
        let keys: Vec<_> = images
            .auth_section
            .entries
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(keys, ["registry", "token", "username", "role"]);
        let job = BuildJob::new(&config(SPEC_EXAMPLE), &args("build")).unwrap();
        let images = job.images.unwrap();
        assert_eq!(
            (images.builder.as_str(), images.auth.as_str()),
            ("docker", "token-auth")
        );
        assert_eq!(images.auth_section.path, "build.image");
    }

    #[test]
    fn invalid_image_values_name_their_key_and_line() {
        let bad_service = SPEC_EXAMPLE.replace("\"web\"]", "\"Web;rm\"]");
        let e = error(&bad_service, "build");
        assert!(e.starts_with("ops.toml:21:"), "{e}");
        assert!(
            e.contains("\"Web;rm\" is not a valid image name component"),
            "{e}"
        );
        let bad_prefix = SPEC_EXAMPLE.replace("ghcr.io/org/project", "ghcr.io/Org");
        assert!(error(&bad_prefix, "build").contains("build.image.prefix"));
        let bad_arg = SPEC_EXAMPLE.replace("SERVICE_BINARY", "SERVICE-BINARY");
        assert!(error(&bad_arg, "build").contains("not a valid Dockerfile ARG name"));
    }
}
