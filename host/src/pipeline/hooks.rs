//! When the project's hooks run during `ops build`, and what each is told:
//! `pre_build` before ops connects (a failure stops the run with nothing
//! on the node touched), `post_build` once the build command succeeded,
//! `post_push` once every image is pushed, `on_failure` when the run
//! failed. Running one is [`crate::hooks`]'s.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;

use crate::config::{Config, HookPoint};
use crate::exit::{Exit, Failure};
use crate::hooks::HookRunner;
use crate::node::NodeTarget;
use crate::output::{ImageStatus, ImageSummary, Printer};

use super::{BuildJob, BuildSettings};

/// The hooks of one run (none with `--no-hooks`) and the values they get.
pub(super) struct RunHooks {
    runner: Option<HookRunner>,
    /// `OPS_PROJECT`, `OPS_TAG`, `OPS_REF`, `OPS_NODE`, `OPS_SERVICES`.
    base: Vec<(&'static str, String)>,
    /// `OPS_COMMIT`: the `--ref` when it is a full commit id, then the
    /// commit the sync reports.
    commit: Mutex<Option<String>>,
}

type Vars = Vec<(&'static str, String)>;

impl RunHooks {
    pub fn new(
        config: &Config,
        job: &BuildJob,
        settings: &BuildSettings,
        target: &NodeTarget,
    ) -> RunHooks {
        let runner = (settings.hooks && !config.hooks.is_empty()).then(|| HookRunner::new(config));
        let project = super::project::name(config);
        let git_ref = job.git_ref.as_ref().or(job.branch.as_ref());
        let services = job.images.as_ref().map_or_else(Vec::new, |images| {
            images.plans.iter().map(|p| p.service.clone()).collect()
        });
        let commit = job
            .git_ref
            .as_ref()
            .map(ToString::to_string)
            .filter(|r| is_commit_id(r));
        RunHooks {
            runner,
            base: vec![
                ("OPS_PROJECT", project),
                ("OPS_TAG", settings.tag.to_string()),
                (
                    "OPS_REF",
                    git_ref.map(ToString::to_string).unwrap_or_default(),
                ),
                ("OPS_NODE", node_label(target)),
                ("OPS_SERVICES", services.join(" ")),
            ],
            commit: Mutex::new(commit),
        }
    }

    /// No hooks at all (the pipeline's unit tests).
    #[cfg(test)]
    pub fn none() -> RunHooks {
        RunHooks {
            runner: None,
            base: Vec::new(),
            commit: Mutex::new(None),
        }
    }

    /// The commit the sync checked out, when it says.
    pub fn set_commit(&self, commit: Option<&str>) {
        if let Some(commit) = commit {
            *self.commit.lock().unwrap_or_else(|p| p.into_inner()) = Some(commit.to_owned());
        }
    }

    fn vars(&self, extra: Vars) -> Vars {
        let commit = self
            .commit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut vars = self.base.clone();
        vars.push(("OPS_COMMIT", commit.unwrap_or_default()));
        vars.extend(extra);
        vars
    }

    async fn run(
        &self,
        point: HookPoint,
        extra: Vars,
        printer: &Arc<Printer>,
    ) -> Result<(), Failure> {
        let Some(runner) = &self.runner else {
            return Ok(());
        };
        // Between and after the node's steps ops handles Ctrl-C itself
        // (it stops the remote work), so a hook there must give way to it.
        let interruptible = matches!(point, HookPoint::PostBuild | HookPoint::PostPush);
        runner
            .run(point, &self.vars(extra), interruptible, printer)
            .await?;
        Ok(())
    }

    /// Before the connection: a failure means nothing on the node was
    /// touched.
    pub async fn pre_build(&self, printer: &Arc<Printer>) -> Result<(), Failure> {
        self.run(HookPoint::PreBuild, Vec::new(), printer)
            .await
            .map_err(|f| {
                Failure::new(
                    f.exit,
                    anyhow!("{:#}; ops did not connect to the build node", f.error),
                )
            })
    }

    pub async fn post_build(&self, printer: &Arc<Printer>) -> Result<(), Failure> {
        self.run(HookPoint::PostBuild, Vec::new(), printer)
            .await
            .map_err(|f| {
                undone_nothing(
                    f,
                    "the build command's results stay on the node; no image was built",
                )
            })
    }

    pub async fn post_push(
        &self,
        images: &[ImageSummary],
        printer: &Arc<Printer>,
    ) -> Result<(), Failure> {
        let vars = vec![("OPS_IMAGES", images_var(images))];
        self.run(HookPoint::PostPush, vars, printer)
            .await
            .map_err(|f| undone_nothing(f, "the images stay pushed"))
    }

    /// After a failed run (not after Ctrl-C: the user asked ops to stop).
    /// Its own failure is a warning: the run's error and exit code stand.
    pub async fn on_failure(&self, failure: &Failure, printer: &Arc<Printer>) {
        if self.runner.is_none() || failure.exit == Exit::Interrupted {
            return;
        }
        let (step, images) = printer.progress();
        // Fetching artifacts runs beside the image builds, with no step of
        // its own on the display: its exit code says it was the one.
        let step = if failure.exit == Exit::Artifacts {
            "artifacts".to_owned()
        } else {
            step.map(|s| s.to_string()).unwrap_or_default()
        };
        let vars = vec![
            ("OPS_IMAGES", images_var(&images)),
            ("OPS_FAILED_STEP", step),
            ("OPS_EXIT_CODE", failure.exit.code().to_string()),
        ];
        if let Err(hook) = self.run(HookPoint::OnFailure, vars, printer).await {
            printer.warn(format!("{:#}", hook.error));
        }
    }
}

/// A failed `post_*` hook: the run fails, but what was done stays done.
fn undone_nothing(failure: Failure, kept: &str) -> Failure {
    Failure::new(failure.exit, anyhow!("{:#}; {kept}", failure.error))
}

/// `OPS_IMAGES`: one `service reference@digest` per line for each pushed
/// image, `service reference` for one built but not pushed.
fn images_var(images: &[ImageSummary]) -> String {
    images
        .iter()
        .filter(|i| matches!(i.status, ImageStatus::Built | ImageStatus::Pushed))
        .map(|i| match &i.digest {
            Some(digest) => format!("{} {}@{digest}", i.service, i.image),
            None => format!("{} {}", i.service, i.image),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `OPS_NODE`: the node's name when it has one, else where ops connects.
fn node_label(target: &NodeTarget) -> String {
    if let Some(name) = &target.name {
        return name.clone();
    }
    let mut label = match &target.user {
        Some(user) => format!("{user}@{}", target.host),
        None => target.host.clone(),
    };
    if let Some(port) = target.port {
        label.push_str(&format!(":{port}"));
    }
    label
}

fn is_commit_id(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
