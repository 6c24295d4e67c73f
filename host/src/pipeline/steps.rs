//! The remote steps of one build, on one SSH session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::exit::{Exit, Failure};
use crate::node::NodeTarget;
use crate::output::{Event, ImageSummary, LiveOutput, Printer};
use crate::plugin::{BuildRequest, PushRequest, SyncRequest};
use crate::remote::{RemoteCommand, RemoteError, RemoteNode};
use crate::ssh::{Session, Stdin};

use super::job::{BuildJob, ImageJob};
use super::plan::ImagePlan;
use super::plugins::{sync_plugin_name, BuildPlugins, ImagePlugins, IMAGE_BUILDER};
use super::schedule::{run_limited, Outcome};

pub struct Run<'a> {
    pub job: &'a BuildJob,
    pub plugins: &'a BuildPlugins,
    pub session: &'a Session,
    pub printer: &'a Arc<Printer>,
    pub started: Instant,
}

impl Run<'_> {
    pub async fn execute(&self) -> Result<(), Failure> {
        let node: Arc<dyn RemoteNode> = Arc::new(self.session.clone());
        let ctx = self.plugins.context.clone().with_node(node);

        // Held until the run ends, however it ends.
        let _lock = super::lock::acquire(self.session, &self.job.path, self.printer).await?;
        self.sync(&ctx).await?;
        self.build_command().await?;
        let images = match (&self.job.images, &self.plugins.images) {
            (Some(job), Some(plugins)) => self.images(&ctx, job, plugins).await?,
            _ => Vec::new(),
        };
        self.printer.emit(&Event::Summary {
            images,
            seconds: self.started.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    async fn sync(&self, ctx: &crate::plugin::CallContext) -> Result<(), Failure> {
        let step = Instant::now();
        let what = match (&self.job.git_ref, &self.job.branch) {
            (Some(r), _) => format!("{} --ref {r}", sync_plugin_name(self.job.source)),
            (None, Some(b)) => format!("{} branch {b}", sync_plugin_name(self.job.source)),
            (None, None) => sync_plugin_name(self.job.source).to_owned(),
        };
        self.started_step("sync", format!("{what} -> {}", self.job.path));
        let outcome = self
            .plugins
            .sync
            .sync(
                ctx,
                SyncRequest {
                    section: &self.job.sync_section,
                    path: self.job.path.clone(),
                    git_ref: self.job.git_ref.clone(),
                    branch: self.job.branch.clone(),
                },
            )
            .await?;
        if !outcome.summary.is_empty() {
            self.printer.info(format!("    {}", outcome.summary));
        }
        self.finished_step("sync", step);
        Ok(())
    }

    async fn build_command(&self) -> Result<(), Failure> {
        let step = Instant::now();
        let command = &self.job.command;
        self.started_step("build", command.clone());
        let remote = RemoteCommand::new("sh")
            .args(["-c", command.as_str()])
            .cwd(self.job.path.clone());
        let mut output = LiveOutput::new(Some("build".into()), self.printer.clone());
        let result = self
            .session
            .run(&remote, Stdin::Bytes(None), &mut output)
            .await;
        // Only shown, not inspected: the output is already on the screen.
        let _ = output.finish();
        let exit = result.map_err(remote_failure)?;
        if !exit.success() {
            return Err(Failure::new(
                Exit::BuildCommand,
                anyhow!(
                    "build command `{command}` failed with {exit} (its output is above); no image \
                     was built"
                ),
            ));
        }
        self.finished_step("build", step);
        Ok(())
    }

    async fn images(
        &self,
        ctx: &crate::plugin::CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
    ) -> Result<Vec<ImageSummary>, Failure> {
        let push = self.job.push;
        if push {
            if let (Some(auth), Some(registry)) = (&plugins.auth, &job.registry) {
                let step = Instant::now();
                self.started_step("login", registry.clone());
                let credentials = auth.credentials(ctx, &job.section, registry).await?;
                plugins
                    .builder
                    .login(ctx, &job.section, &credentials)
                    .await?;
                self.finished_step("login", step);
            }
        }

        let step = Instant::now();
        self.started_step(
            "images",
            format!(
                "{} with {IMAGE_BUILDER}, {} at a time",
                plural(job.plans.len(), "image"),
                self.job.jobs.min(job.plans.len())
            ),
        );
        let built = run_limited(
            job.plans.clone(),
            self.job.jobs,
            |plan: ImagePlan| async move {
                let build_args = match &job.binary_arg {
                    Some(arg) => vec![(arg.clone(), plan.service.clone())],
                    None => Vec::new(),
                };
                plugins
                    .builder
                    .build(
                        ctx,
                        BuildRequest {
                            section: &job.section,
                            context: self.job.path.clone(),
                            dockerfile: job.dockerfile.clone(),
                            image: plan.reference.clone(),
                            build_args,
                            label: plan.service.clone(),
                        },
                    )
                    .await
            },
        )
        .await;
        let mut failures = Vec::new();
        let mut build_times = Vec::new();
        for (plan, outcome) in &built {
            match outcome {
                Outcome::Done { elapsed, .. } => {
                    self.image_event(plan, "built", None, *elapsed);
                    build_times.push(*elapsed);
                }
                Outcome::Failed { error, elapsed } => {
                    self.image_event(plan, "failed", None, *elapsed);
                    failures.push(format!("{}: {error}", plan.service));
                }
                Outcome::Skipped => {
                    self.image_event(plan, "skipped", None, Duration::ZERO);
                    failures.push(format!(
                        "{}: not started after an earlier failure",
                        plan.service
                    ));
                }
            }
        }
        if !failures.is_empty() {
            return Err(Failure::new(
                Exit::ImageBuild,
                anyhow!(
                    "image build failed, so nothing was pushed:\n  {}",
                    failures.join("\n  ")
                ),
            ));
        }
        self.finished_step("images", step);

        if !push {
            return Ok(job
                .plans
                .iter()
                .zip(build_times)
                .map(|(plan, elapsed)| ImageSummary {
                    service: plan.service.clone(),
                    image: plan.reference.clone(),
                    digest: None,
                    seconds: elapsed.as_secs_f64(),
                })
                .collect());
        }

        let step = Instant::now();
        self.started_step("push", plural(job.plans.len(), "image"));
        let pushed = run_limited(
            job.plans.clone(),
            self.job.jobs,
            |plan: ImagePlan| async move {
                plugins
                    .builder
                    .push(
                        ctx,
                        PushRequest {
                            section: &job.section,
                            image: plan.reference.clone(),
                            label: plan.service.clone(),
                        },
                    )
                    .await
            },
        )
        .await;
        let mut summaries = Vec::new();
        let mut failures = Vec::new();
        for ((plan, outcome), built_in) in pushed.iter().zip(build_times) {
            match outcome {
                Outcome::Done { value, elapsed } => {
                    self.image_event(plan, "pushed", Some(value.clone()), *elapsed);
                    summaries.push(ImageSummary {
                        service: plan.service.clone(),
                        image: plan.reference.clone(),
                        digest: Some(value.clone()),
                        seconds: (built_in + *elapsed).as_secs_f64(),
                    });
                }
                Outcome::Failed { error, .. } => {
                    failures.push(format!("{}: {error}", plan.service))
                }
                Outcome::Skipped => failures.push(format!(
                    "{}: not pushed after an earlier failure",
                    plan.service
                )),
            }
        }
        if !failures.is_empty() {
            return Err(Failure::new(
                Exit::Push,
                anyhow!("push failed:\n  {}", failures.join("\n  ")),
            ));
        }
        self.finished_step("push", step);
        Ok(summaries)
    }

    fn image_event(
        &self,
        plan: &ImagePlan,
        status: &str,
        digest: Option<String>,
        elapsed: Duration,
    ) {
        self.printer.emit(&Event::Image {
            service: plan.service.clone(),
            image: plan.reference.clone(),
            status: status.to_owned(),
            digest,
            seconds: elapsed.as_secs_f64(),
        });
    }

    fn started_step(&self, step: &str, detail: String) {
        self.printer.emit(&Event::StepStarted {
            step: step.to_owned(),
            detail,
        });
    }

    fn finished_step(&self, step: &str, since: Instant) {
        self.printer.emit(&Event::StepFinished {
            step: step.to_owned(),
            seconds: since.elapsed().as_secs_f64(),
        });
    }
}

/// `build.path` as the node sees it: a leading `~` or `~/` is the node
/// user's home, as it would be in a shell there. Every later step quotes the
/// path, so without this a literal `~` directory would be created.
pub async fn resolve_build_path(session: &Session, job: &mut BuildJob) -> Result<(), Failure> {
    let rest = match job.path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
        _ => return Ok(()),
    };
    let home = session
        .capture(&RemoteCommand::new("sh").args(["-c", "printf '%s' \"$HOME\""]))
        .await
        .map_err(remote_failure)?;
    if !home.starts_with('/') || home.contains('\n') {
        return Err(Failure::new(
            Exit::Connection,
            anyhow!(
                "build.path {:?} starts with `~`, but the node's $HOME is {home:?}; use an \
                 absolute path",
                job.path
            ),
        ));
    }
    job.path = format!("{}{rest}", home.trim_end_matches('/'));
    Ok(())
}

fn remote_failure(error: RemoteError) -> Failure {
    let exit = match error {
        RemoteError::Interrupted => Exit::Interrupted,
        RemoteError::InvalidRequest(_) => Exit::Usage,
        RemoteError::Disconnected(_) | RemoteError::Protocol(_) => Exit::Connection,
    };
    Failure::new(exit, error)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `--dry-run`: what would happen, touching nothing.
pub fn print_plan(printer: &Printer, job: &BuildJob, target: &NodeTarget, plugins: &BuildPlugins) {
    let mut lines = vec![format!("build node: {} ({})", target.host, target.origin)];
    lines.push(format!(
        "sync: {} ({}) into {}{}",
        sync_plugin_name(job.source),
        plugins.sync.plugin().metadata().version,
        job.path,
        match (&job.git_ref, &job.branch) {
            (Some(r), _) => format!(", ref {r}"),
            (None, Some(b)) => format!(", branch {b}"),
            (None, None) => String::new(),
        }
    ));
    lines.push(format!("build: sh -c {:?} in {}", job.command, job.path));
    match &job.images {
        None => lines.push("images: none ([build.image] is absent)".into()),
        Some(images) => {
            lines.push(format!(
                "images: {} from {}, {} at a time",
                plural(images.plans.len(), "image"),
                images.dockerfile,
                job.jobs
            ));
            for plan in &images.plans {
                lines.push(format!("  {plan}"));
            }
            lines.push(if job.push {
                format!(
                    "push: yes{}",
                    match (&images.registry, images.login) {
                        (Some(r), true) => format!(" (login to {r})"),
                        _ => String::new(),
                    }
                )
            } else {
                "push: no (--no-push)".into()
            });
        }
    }
    printer.info("dry run: nothing was touched; this build would do:");
    for line in lines {
        printer.info(format!("  {line}"));
    }
}
