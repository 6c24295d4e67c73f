//! The image steps: the registry login (once the build command has ended),
//! at most `-j` image builds at once, and the push, which starts only when
//! every image built.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use futures::future::{self, Either};

use crate::exit::{Exit, Failure};
use crate::housekeeping::{Plan, PruneSettings, Stale};
use crate::output::{Event, ImageStatus, ImageSummary, Step};
use crate::plugin::{BuildRequest, CallContext, PushRequest, Pushed};
use crate::remote::critical_path::Chain;

use super::faults::{self, with_retries};
use super::image_job::ImageJob;
use super::plan::ImagePlan;
use super::plugins::ImagePlugins;
use super::schedule::{run_limited, Outcome};
use super::steps::{add_side_by_side, plural, Run};

impl Run<'_> {
    pub(super) async fn images(
        &self,
        ctx: &CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
    ) -> Result<Vec<ImageSummary>, Failure> {
        if self.job.push {
            // Only now, with the sync and the build command ended, does a
            // registry credential reach the node: no code of the repository
            // runs beside it. It is gone with the run's scratch directories
            // after the push, or on any failure.
            self.login(ctx, job, plugins).await?;
        }
        let policy = self.job.prune.as_ref().filter(|_| self.job.push);
        let (build_times, plan) = self.build_beside_plan(ctx, job, plugins, policy).await?;
        if !self.job.push {
            return Ok(job
                .plans
                .iter()
                .zip(build_times)
                .map(|(plan, elapsed)| summary(plan, None, elapsed))
                .collect());
        }
        let (Some(settings), Some(plan)) = (policy, plan) else {
            return self.push_all(ctx, job, plugins, build_times).await;
        };
        // Its own chain: the removal does not count as waiting on the node,
        // the pushes take longer.
        let images = super::node_policy::project_images(job, plugins);
        let apply = Chain::new().run(super::node_policy::apply(
            ctx,
            images,
            plan,
            settings,
            self.printer,
        ));
        let (pushed, ()) = tokio::join!(self.push_all(ctx, job, plugins, build_times), apply);
        pushed
    }

    /// Builds every image, with the `[node]` policy's plan made beside the
    /// builds when there is one; a failed build drops the plan.
    async fn build_beside_plan(
        &self,
        ctx: &CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
        policy: Option<&PruneSettings>,
    ) -> Result<(Vec<Duration>, Option<(Plan, Stale)>), Failure> {
        let Some(settings) = policy else {
            return Ok((self.build_all(ctx, job, plugins).await?, None));
        };
        let planning = std::pin::pin!(Chain::new().run(super::node_policy::plan(
            ctx,
            &self.node,
            job,
            plugins,
            settings,
            self.printer
        )));
        let building = std::pin::pin!(self.build_all(ctx, job, plugins));
        Ok(match future::select(building, planning).await {
            Either::Left((built, planning)) => (built?, planning.await),
            Either::Right((plan, building)) => (building.await?, plan),
        })
    }

    /// Logs in to the registry, before the first image build (a base image
    /// may come from it) and only when pushing.
    async fn login(
        &self,
        ctx: &CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
    ) -> Result<(), Failure> {
        let (Some(auth), Some(registry)) = (&plugins.auth, &job.registry) else {
            return Ok(());
        };
        let step = Instant::now();
        self.started_step(Step::Login, registry.to_string());
        let what = format!("login to {registry}");
        let (credentials, attempts) = with_retries(&what, self.printer, || {
            auth.credentials(ctx, &job.auth_section, registry.as_str())
        })
        .await;
        let credentials = credentials.map_err(|e| faults::failure(e, attempts))?;
        let (login, attempts) = with_retries(&what, self.printer, || {
            plugins.builder.login(ctx, &job.section, &credentials)
        })
        .await;
        login.map_err(|e| faults::failure(e, attempts))?;
        self.finished_step(Step::Login, step);
        Ok(())
    }

    /// Builds every image; the build time of each, or the failures.
    async fn build_all(
        &self,
        ctx: &CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
    ) -> Result<Vec<Duration>, Failure> {
        let step = Instant::now();
        self.started_step(
            Step::Images,
            format!(
                "{} with {}, {} at a time",
                plural(job.plans.len(), "image"),
                job.builder,
                self.job.jobs.min(job.plans.len())
            ),
        );
        let (chains, items) = chained(&job.plans);
        let built = run_limited(
            items,
            self.job.jobs,
            |(plan, chain): (ImagePlan, Arc<Chain>)| {
                let labels = job.labels(&plan);
                let request = BuildRequest {
                    labels,
                    section: &job.section,
                    context: self.job.path.clone(),
                    dockerfile: job.dockerfile.clone(),
                    image: plan.reference.to_string(),
                    build_args: match &job.binary_arg {
                        Some(arg) => vec![(arg.clone(), plan.service.clone())],
                        None => Vec::new(),
                    },
                    label: plan.service,
                };
                chain.run(plugins.builder.build(ctx, request))
            },
        )
        .await;
        add_side_by_side(&chains, self.job.jobs);
        let mut failures = Vec::new();
        let mut node = None;
        let mut build_times = Vec::new();
        for ((plan, _), outcome) in &built {
            match outcome {
                Outcome::Done { elapsed, .. } => {
                    self.image_event(plan, ImageStatus::Built, None, *elapsed);
                    build_times.push(*elapsed);
                }
                Outcome::Failed { error, elapsed } => {
                    self.image_event(plan, ImageStatus::Failed, None, *elapsed);
                    node = node.or_else(|| faults::node_failure(error));
                    failures.push(format!("{}: {error}", plan.service));
                }
                Outcome::Skipped => {
                    self.image_event(plan, ImageStatus::Skipped, None, Duration::ZERO);
                    failures.push(format!(
                        "{}: not started after an earlier failure",
                        plan.service
                    ));
                }
            }
        }
        if let Some(failure) = faults::build_failure(node, &failures) {
            return Err(failure);
        }
        self.finished_step(Step::Images, step);
        Ok(build_times)
    }

    async fn push_all(
        &self,
        ctx: &CallContext,
        job: &ImageJob,
        plugins: &ImagePlugins,
        build_times: Vec<Duration>,
    ) -> Result<Vec<ImageSummary>, Failure> {
        let step = Instant::now();
        self.started_step(Step::Push, plural(job.plans.len(), "image"));
        let (chains, items) = chained(&job.plans);
        let pushed = run_limited(
            items,
            self.job.jobs,
            |(plan, chain): (ImagePlan, Arc<Chain>)| async move {
                let what = format!("push of {}", plan.reference);
                let retried = with_retries(&what, self.printer, || {
                    let request = PushRequest {
                        section: &job.section,
                        image: plan.reference.to_string(),
                        label: plan.service.clone(),
                    };
                    plugins.builder.push(ctx, request)
                });
                let (pushed, attempts) = chain.run(retried).await;
                pushed.map_err(|e| (e, attempts))
            },
        )
        .await;
        add_side_by_side(&chains, self.job.jobs);
        let mut summaries = Vec::new();
        let mut failures = Vec::new();
        for (((plan, _), outcome), built_in) in pushed.iter().zip(build_times) {
            match outcome {
                Outcome::Done { value, elapsed } => {
                    self.image_event(plan, ImageStatus::Pushed, Some(value), *elapsed);
                    summaries.push(summary(plan, Some(value), built_in + *elapsed));
                }
                Outcome::Failed {
                    error: (error, attempts),
                    elapsed,
                } => {
                    self.image_event(plan, ImageStatus::Failed, None, *elapsed);
                    let note = faults::push_failure_note(error, *attempts)?;
                    failures.push(format!("{}: {error}{note}", plan.service))
                }
                Outcome::Skipped => {
                    self.image_event(plan, ImageStatus::Skipped, None, Duration::ZERO);
                    failures.push(format!(
                        "{}: not pushed after an earlier failure",
                        plan.service
                    ))
                }
            }
        }
        if !failures.is_empty() {
            return Err(Failure::new(
                Exit::Push,
                anyhow!("push failed:\n  {}", failures.join("\n  ")),
            ));
        }
        self.finished_step(Step::Push, step);
        Ok(summaries)
    }

    fn image_event(
        &self,
        plan: &ImagePlan,
        status: ImageStatus,
        pushed: Option<&Pushed>,
        elapsed: Duration,
    ) {
        self.printer.emit(&Event::Image {
            service: plan.service.clone(),
            image: plan.reference.to_string(),
            status,
            digest: pushed.map(|p| p.digest.clone()),
            platforms: pushed.map(|p| p.platforms.clone()).unwrap_or_default(),
            seconds: elapsed.as_secs_f64(),
        });
    }
}

fn summary(plan: &ImagePlan, pushed: Option<&Pushed>, elapsed: Duration) -> ImageSummary {
    ImageSummary {
        service: plan.service.clone(),
        image: plan.reference.to_string(),
        status: if pushed.is_some() {
            ImageStatus::Pushed
        } else {
            ImageStatus::Built
        },
        digest: pushed.map(|p| p.digest.clone()),
        platforms: pushed.map(|p| p.platforms.clone()).unwrap_or_default(),
        seconds: elapsed.as_secs_f64(),
    }
}

type ChainedPlan = (ImagePlan, Arc<Chain>);

/// Each plan with a round-trip chain of its own; the chains, to add up
/// side by side once every job is done.
fn chained(plans: &[ImagePlan]) -> (Vec<Arc<Chain>>, Vec<ChainedPlan>) {
    let chains: Vec<Arc<Chain>> = plans.iter().map(|_| Chain::new()).collect();
    let items = plans.iter().cloned().zip(chains.iter().cloned()).collect();
    (chains, items)
}
