//! `ops config check`: everything `ops build --dry-run` checks (the file,
//! `$NAME` variables, each plugin's validation of its section, the build
//! node's resolution), then a list of what was checked. Nothing remote.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::distribution::project::LockMode;
use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::plugin::{Limits, Runtime};

use crate::pipeline::{plural, BuildJob, BuildPlugins, BuildSettings};

/// What `ops config check` was asked to do.
#[derive(Debug, Clone)]
pub struct ConfigCheckSettings {
    /// `-f`: the config file.
    pub config_file: PathBuf,
}

pub async fn run(settings: ConfigCheckSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    // The checks of `ops build -f FILE --dry-run` with the command line's
    // defaults.
    let settings = BuildSettings::checking(settings.config_file);
    let file = settings.config_file.display().to_string();
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let job = BuildJob::new(&config, &settings)?;
    let project_root = crate::pipeline::project_root(config.dir());
    let runtime = Runtime::new(Limits::from_env())?;
    let plugins = BuildPlugins::check(
        &runtime,
        &config,
        &job,
        &printer,
        &project_root,
        LockMode::Check,
    )
    .await?;
    let target = crate::node::resolve(&config).await?;

    let mut checked = vec![
        "keys, types and required values of every section".to_owned(),
        "every $NAME variable is set".to_owned(),
        format!(
            "build node: {} ({}), resolved without connecting",
            target.host, target.origin
        ),
        format!(
            "sync: {} plugin {} validated [{}]",
            job.sync_plugin,
            plugins.sync.plugin().metadata().version,
            job.sync_section.path
        ),
        format!("build command: {:?} in {}", job.command, job.path),
    ];
    match (&job.images, &plugins.images) {
        (Some(images), Some(image_plugins)) => {
            let services: Vec<&str> = images.plans.iter().map(|p| p.service.as_str()).collect();
            checked.push(format!(
                "images: {} ({}) from {}; {} plugin validated [build.image]",
                plural(images.plans.len(), "service"),
                services.join(", "),
                images.dockerfile,
                images.builder
            ));
            if image_plugins.auth.is_some() {
                checked.push(format!(
                    "registry login: {} plugin validated [{}]",
                    images.auth, images.auth_section.path
                ));
            }
        }
        _ => checked.push("images: none ([build.image] is absent)".into()),
    }
    printer.info(format!("{file}: checked"));
    for line in checked {
        printer.info(format!("  ok  {line}"));
    }
    printer.info(format!("{file} is valid"));
    Ok(Exit::Success)
}
