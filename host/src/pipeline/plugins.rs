//! The plugins one build uses, resolved (built-in, declared or installed),
//! checked against their grants and ops.lock, loaded, and with their config
//! sections validated before anything remote happens.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::distribution::project::{self, LockMode, Use};
use crate::distribution::Registry;
use crate::exit::Failure;
use crate::output::Printer;
use crate::plugin::{CallContext, ImageBuilder, Kind, RegistryAuth, Runtime, SyncStrategy};

use super::job::BuildJob;

pub struct BuildPlugins {
    pub sync: SyncStrategy,
    /// Present when the job builds images.
    pub images: Option<ImagePlugins>,
    /// Without a node; the steps add the session.
    pub context: CallContext,
}

pub struct ImagePlugins {
    pub builder: ImageBuilder,
    /// Present when `[build.image]` has a token, i.e. pushing needs a login.
    pub auth: Option<RegistryAuth>,
}

/// The plugins `job` uses, each with the key that names it.
pub fn uses(job: &BuildJob) -> Vec<Use> {
    let mut uses = vec![Use {
        name: job.sync_plugin.to_string(),
        kind: Kind::SyncStrategy,
        key: "build.source".into(),
        at: job.sync_plugin.at.clone(),
    }];
    if let Some(images) = &job.images {
        uses.push(Use {
            name: images.builder.to_string(),
            kind: Kind::ImageBuilder,
            key: "build.image.plugin".into(),
            at: images.builder.at.clone(),
        });
        if images.login {
            uses.push(Use {
                name: images.auth.to_string(),
                kind: Kind::RegistryAuth,
                key: "build.image.auth".into(),
                at: images.auth.at.clone(),
            });
        }
    }
    uses
}

impl BuildPlugins {
    /// The plugins of a build that runs, granted what ops.toml grants them.
    pub async fn load(
        runtime: &Runtime,
        config: &Config,
        job: &BuildJob,
        printer: &Arc<Printer>,
        project_root: &Path,
        lock: LockMode,
    ) -> Result<BuildPlugins, Failure> {
        let mut registry = Registry::new(runtime, &config.plugins)?;
        if let Some(file) = notices_file(printer) {
            registry = registry.looking_for_newer(file);
        }
        Self::resolve(registry, config, job, printer, project_root, lock).await
    }

    /// For `ops config check` and `--dry-run`, which promise to touch
    /// nothing: every plugin that is not built in is validated with all
    /// its capabilities withheld (its grant is checked, not given).
    pub async fn check(
        runtime: &Runtime,
        config: &Config,
        job: &BuildJob,
        printer: &Arc<Printer>,
        project_root: &Path,
        lock: LockMode,
    ) -> Result<BuildPlugins, Failure> {
        let registry = Registry::new(runtime, &config.plugins)?.withholding_grants();
        Self::resolve(registry, config, job, printer, project_root, lock).await
    }

    async fn resolve(
        mut registry: Registry,
        config: &Config,
        job: &BuildJob,
        printer: &Arc<Printer>,
        project_root: &Path,
        lock: LockMode,
    ) -> Result<BuildPlugins, Failure> {
        let context = CallContext::new(printer.clone(), project_root);
        let (_, changes) = project::resolve(&mut registry, config, &uses(job), &lock).await?;
        say_newer(&registry, printer);
        let verb = match lock {
            LockMode::Write => "recorded",
            // `--dry-run` and `ops config check` write nothing.
            _ => "would record",
        };
        for change in changes {
            let new = &change.new;
            let moved = match &change.old {
                Some(old) if old.source != new.source => {
                    format!(", from {} instead of {}", new.source, old.source)
                }
                _ => String::new(),
            };
            printer.info(format!(
                "ops.lock: {verb} plugin {} {} (sha256 {}{moved})",
                new.name, new.version, new.sha256
            ));
        }

        let sync = registry.sync_strategy(job.sync_plugin.as_str()).await?;
        sync.validate(&context, &job.sync_section).await?;

        let images = match &job.images {
            None => None,
            Some(image_job) => {
                let builder = registry.image_builder(image_job.builder.as_str()).await?;
                builder.validate(&context, &image_job.section).await?;
                let auth = if image_job.login {
                    let auth = registry.registry_auth(image_job.auth.as_str()).await?;
                    auth.validate(&context, &image_job.auth_section).await?;
                    Some(auth)
                } else {
                    None
                };
                Some(ImagePlugins { builder, auth })
            }
        };
        Ok(BuildPlugins {
            sync,
            images,
            context,
        })
    }
}

/// The notices file, when this run may say that a newer release in range
/// exists: a person at a terminal with human output, never CI.
fn notices_file(printer: &Printer) -> Option<std::path::PathBuf> {
    use std::io::IsTerminal;
    let env = |name: &str| std::env::var(name).ok();
    if printer.format() != crate::output::Format::Human
        || env("CI").is_some()
        || !std::io::stderr().is_terminal()
    {
        return None;
    }
    crate::distribution::notice::path_from_env(&env)
}

/// One line per plugin with a newer release in range than the one used,
/// found by a run that read its tags (a locked plugin's are read at most
/// once per 14 days, see `ranges::look_for_newer`); on a terminal only,
/// never in CI or JSON output.
pub fn say_newer(registry: &Registry, printer: &Printer) {
    if registry.newer_in_range().is_empty() || notices_file(printer).is_none() {
        return;
    }
    for (name, version) in registry.newer_in_range() {
        printer.info(format!(
            "plugin {name} {version} is out, within its version range; take it with \
             `ops plugin update {name}`"
        ));
    }
}
