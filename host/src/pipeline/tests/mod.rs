//! The pipeline after the connection, against an in-process build node: no
//! sshd, no docker, the real built-in plugins. The node double answers the
//! git, docker and lock commands as a node would and records what it was
//! asked, in order, so that these tests can say what ran and what did not.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

mod fake_node;

use fake_node::{Behaviour, FakeNode};

use super::job::BuildJob;
use super::plugins::BuildPlugins;
use super::{execute, BuildSettings};
use crate::config::Config;
use crate::exit::Exit;
use crate::output::{Format, Printer, Redactor, Verbosity};
use crate::plugin::{ComponentCache, Limits, Runtime};

const CONFIG: &str = r#"
[build]
path = "/opt/builds/app"
command = "make app"
branch = "main"

[build.git]
repo = "https://git.example/app.git"

[build.image]
dockerfile = "Dockerfile"
token = "$REGISTRY_TOKEN"
username = "ci"
prefix = "registry.example/org/app"
binary_arg = "SERVICE_BINARY"
services = ["api", "worker", "web", "jobs", "cron"]
"#;

/// One runtime for every test here: compiled plugins are cached in memory
/// by the runtime's on-disk cache, in a directory of this test process.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    let (runtime, _dir) = RUNTIME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir for the plugin cache");
        let cache = ComponentCache::at(dir.path().join("components"));
        let runtime = Runtime::with_cache(Limits::default(), cache).expect("plugin runtime");
        (runtime, dir)
    });
    runtime
}

fn printer() -> Arc<Printer> {
    Arc::new(Printer::new(
        Format::Json,
        Verbosity::Quiet,
        Redactor::new(),
    ))
}

/// A build of [`CONFIG`] on `node` with `settings`, stopped when `stop`
/// resolves.
struct Build {
    settings: BuildSettings,
    node: Arc<FakeNode>,
}

impl Build {
    fn new(node: FakeNode) -> Build {
        Build {
            settings: BuildSettings::defaults("ops.toml"),
            node: Arc::new(node),
        }
    }

    fn jobs(mut self, jobs: usize) -> Build {
        self.settings.jobs = jobs;
        self
    }

    async fn run_until(&self, stop: impl std::future::Future<Output = ()>) -> Exit {
        let lookup = |name: &str| (name == "REGISTRY_TOKEN").then(|| "registry-token".to_owned());
        let config = Config::parse(Path::new("ops.toml"), CONFIG, &lookup).expect("config");
        let job = BuildJob::new(&config, &self.settings).expect("job");
        let printer = printer();
        let plugins = BuildPlugins::load(
            runtime(),
            &config,
            &job,
            &printer,
            Path::new("/"),
            crate::distribution::project::LockMode::Check,
        )
        .await
        .expect("plugins");
        let hooks = super::hooks::RunHooks::none();
        let result = execute(job, &plugins, self.node.clone(), &printer, &hooks, stop).await;
        self.wait_for_unlock().await;
        match result {
            Ok(_) => Exit::Success,
            Err(failure) => {
                // Shown when a test fails: why the run ended.
                eprintln!("run ended: {:#}", failure.error);
                failure.exit
            }
        }
    }

    async fn run(&self) -> Exit {
        self.run_until(std::future::pending()).await
    }

    /// The lock's holder runs on its own task; give it a moment to see its
    /// stdin close.
    async fn wait_for_unlock(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.node.events().contains(&"lock".to_owned())
            && !self.node.events().contains(&"unlock".to_owned())
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

fn images(prefix: &str) -> Vec<String> {
    ["api", "worker", "web", "jobs", "cron"]
        .iter()
        .map(|s| format!("{prefix}:{s}"))
        .collect()
}

/// What the design guarantees about the lock, whatever order the node saw
/// the requests in (the steps' first commands go out together with the
/// lock's request): the lock was asked for, and no step's command went out
/// unguarded, i.e. each either waited on the node behind the lock's gate or
/// started while the lock was held.
fn assert_steps_behind_the_lock(build: &Build) {
    let steps = build.node.steps();
    assert!(steps.contains(&"lock".to_owned()), "{steps:?}");
    let unguarded = build.node.unguarded.lock().unwrap().clone();
    assert!(unguarded.is_empty(), "ran outside the lock: {unguarded:?}");
}

/// The steps without the lock, whose place among them is not ordered.
fn without_lock(steps: &[String]) -> Vec<String> {
    steps.iter().filter(|s| *s != "lock").cloned().collect()
}

/// Where `event` happened, if it did.
fn at(events: &[String], event: &str) -> Option<usize> {
    events.iter().position(|e| e == event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_run_in_the_specs_order() {
    let build = Build::new(FakeNode::new()).jobs(1);
    assert_eq!(build.run().await, Exit::Success);
    assert_steps_behind_the_lock(&build);
    let mut expected = vec!["sync".to_owned(), "build".to_owned(), "login".to_owned()];
    expected.extend(images("image"));
    expected.extend(images("push"));
    assert_eq!(without_lock(&build.node.steps()), expected);
    let events = build.node.events();
    // The registry credential reaches the node only once the build command
    // (any code of the repository) has ended.
    assert!(
        at(&events, "ended:build") < at(&events, "login"),
        "{events:?}"
    );
    // The lock's release and the session's close go out together, after
    // everything else.
    let mut last_two: Vec<&str> = events.iter().rev().take(2).map(String::as_str).collect();
    last_two.sort_unstable();
    assert_eq!(last_two, ["close", "unlock"], "{events:?}");
    assert!(!events.contains(&"interrupt".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_command_stops_the_run_before_the_login_and_any_image() {
    let build = Build::new(FakeNode::new().with("build", Behaviour::Fail));
    assert_eq!(build.run().await, Exit::BuildCommand);
    assert_steps_behind_the_lock(&build);
    assert_eq!(without_lock(&build.node.steps()), ["sync", "build"]);
    assert!(build.node.events().contains(&"unlock".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_login_while_the_build_command_runs() {
    let build = Build::new(FakeNode::new().with("build", Behaviour::Hang));
    let node = build.node.clone();
    let stop = async move { node.hanging.notified().await };
    assert_eq!(build.run_until(stop).await, Exit::Interrupted);
    let steps = build.node.steps();
    assert!(!steps.contains(&"login".to_owned()), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_ends_the_run_before_any_image() {
    let build = Build::new(FakeNode::new().with("login", Behaviour::Fail));
    let exit = tokio::time::timeout(Duration::from_secs(10), build.run()).await;
    assert_eq!(exit.ok(), Some(Exit::Push), "{:?}", build.node.events());
    assert_eq!(
        without_lock(&build.node.steps()),
        ["sync", "build", "login"]
    );
    assert!(build.node.events().contains(&"unlock".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_push_there_is_no_login() {
    let mut build = Build::new(FakeNode::new()).jobs(1);
    build.settings.push = false;
    assert_eq!(build.run().await, Exit::Success);
    let steps = without_lock(&build.node.steps());
    assert!(!steps.contains(&"login".to_owned()), "{steps:?}");
    assert!(!steps.iter().any(|s| s.starts_with("push:")), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_image_means_nothing_is_pushed() {
    let build = Build::new(FakeNode::new().with("image:web", Behaviour::Fail)).jobs(1);
    assert_eq!(build.run().await, Exit::ImageBuild);
    let steps = build.node.steps();
    assert!(steps.contains(&"image:web".to_owned()), "{steps:?}");
    assert!(
        !steps.iter().any(|s| s.starts_with("push:")),
        "pushed although an image failed: {steps:?}"
    );
    // After the failure no new image build starts.
    assert!(!steps.contains(&"image:jobs".to_owned()), "{steps:?}");
    assert!(build.node.events().contains(&"unlock".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_builds_never_exceed_the_jobs_limit() {
    for jobs in [1, 2, 5] {
        let node = FakeNode::new().meet_images(jobs, images("image").len());
        let build = Build::new(node).jobs(jobs);
        assert_eq!(build.run().await, Exit::Success);
        let peak = build.node.images_peak.load(Ordering::SeqCst);
        assert_eq!(peak, jobs, "-j {jobs}: {peak} image builds at once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_is_taken_before_the_sync_and_released_on_every_path() {
    for failing in ["sync", "build", "login", "image:api", "push:cron"] {
        let build = Build::new(FakeNode::new().with(failing, Behaviour::Fail));
        let exit = build.run().await;
        assert_ne!(exit, Exit::Success, "{failing}");
        assert_steps_behind_the_lock(&build);
        let events = build.node.events();
        assert!(
            at(&events, "unlock").is_some(),
            "{failing}: lock never released: {events:?}"
        );
        assert!(
            at(&events, "close").is_some(),
            "{failing}: session never closed: {events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_each_step_stops_the_run_and_the_remote_work() {
    for step in ["sync", "build", "login", "image:api", "push:api"] {
        let build = Build::new(FakeNode::new().with(step, Behaviour::Hang)).jobs(1);
        let node = build.node.clone();
        let stop = async move { node.hanging.notified().await };
        assert_eq!(build.run_until(stop).await, Exit::Interrupted, "{step}");
        let events = build.node.events();
        // Nothing after the interrupted step started.
        let steps = without_lock(&build.node.steps());
        assert_eq!(steps.last().map(String::as_str), Some(step), "{events:?}");
        let interrupted = at(&events, "interrupt");
        let closed = at(&events, "close");
        assert!(
            matches!((interrupted, closed), (Some(i), Some(c)) if i < c),
            "{step}: remote work not stopped before the session closed: {events:?}"
        );
        assert!(events.contains(&"unlock".to_owned()), "{step}: {events:?}");
    }
}
