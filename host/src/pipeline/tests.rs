//! The pipeline after the connection, against an in-process build node: no
//! sshd, no docker, the real built-in plugins. The node double answers the
//! git, docker and lock commands as a node would and records what it was
//! asked, in order, so that these tests can say what ran and what did not.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use super::job::BuildJob;
use super::plugins::BuildPlugins;
use super::{execute, BuildSettings};
use crate::config::Config;
use crate::exit::Exit;
use crate::output::{Format, Printer, Redactor, Verbosity};
use crate::plugin::{ComponentCache, Limits, Runtime};
use crate::remote::{
    BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode, Stdin,
};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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

/// What the node does with the command behind a step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Succeed,
    Fail,
    /// Runs until stopped.
    Hang,
}

/// A build node in memory. Steps are named `lock`, `sync`, `build`,
/// `login`, `image:SERVICE` and `push:SERVICE`.
struct FakeNode {
    events: Mutex<Vec<String>>,
    behaviour: Mutex<Vec<(String, Behaviour)>>,
    image_time: Duration,
    images_running: AtomicUsize,
    images_peak: AtomicUsize,
    /// Notified when a hanging step starts.
    hanging: Notify,
}

impl FakeNode {
    fn new() -> FakeNode {
        FakeNode {
            events: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Vec::new()),
            image_time: Duration::from_millis(5),
            images_running: AtomicUsize::new(0),
            images_peak: AtomicUsize::new(0),
            hanging: Notify::new(),
        }
    }

    fn with(self, step: &str, behaviour: Behaviour) -> FakeNode {
        self.behaviour
            .lock()
            .unwrap()
            .push((step.to_owned(), behaviour));
        self
    }

    fn slow_images(mut self, time: Duration) -> FakeNode {
        self.image_time = time;
        self
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    fn steps(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| !matches!(e.as_str(), "unlock" | "interrupt" | "close"))
            .collect()
    }

    fn record(&self, event: impl Into<String>) {
        self.events.lock().unwrap().push(event.into());
    }

    fn behaviour(&self, step: &str) -> Behaviour {
        self.behaviour
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _)| s == step)
            .map(|(_, b)| *b)
            .unwrap_or(Behaviour::Succeed)
    }

    /// The step a command belongs to, if it is one the tests follow.
    fn step_of(command: &RemoteCommand) -> Option<String> {
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        let service = |image: &str| {
            let name = image.rsplit('/').next().unwrap_or(image);
            name.split(':').next().unwrap_or(name).to_owned()
        };
        match (command.program.as_str(), args.as_slice()) {
            ("sh", ["-c", script, ..]) if *script == super::lock::SCRIPT => Some("lock".into()),
            ("sh", ["-c", script, ..]) if script.contains("git clone") => Some("sync".into()),
            ("sh", ["-c", "make app"]) => Some("build".into()),
            ("docker", ["login", ..]) => Some("login".into()),
            ("docker", ["build", .., "-t", image, _]) => Some(format!("image:{}", service(image))),
            ("docker", ["push", image]) => Some(format!("push:{}", service(image))),
            _ => None,
        }
    }

    async fn image(&self) {
        let now = self.images_running.fetch_add(1, Ordering::SeqCst) + 1;
        self.images_peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.image_time).await;
        self.images_running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RemoteNode for FakeNode {
    fn label(&self) -> &str {
        "ops@fake-node"
    }

    fn run<'a>(
        &'a self,
        command: &'a RemoteCommand,
        stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(async move {
            let step = Self::step_of(command);
            if let Some(step) = &step {
                self.record(step.clone());
            }
            let behaviour = step
                .as_deref()
                .map_or(Behaviour::Succeed, |s| self.behaviour(s));
            if behaviour == Behaviour::Hang {
                self.hanging.notify_one();
                std::future::pending::<()>().await;
            }
            if behaviour == Behaviour::Fail {
                output.stderr(b"it went wrong\n");
                return Ok(RemoteExit::Code(1));
            }
            match step.as_deref() {
                Some("lock") => {
                    output.stdout(b"locked\n");
                    // Held until ops closes stdin.
                    if let Stdin::Stream(mut held_open) = stdin {
                        let mut rest = Vec::new();
                        let _ = held_open.read_to_end(&mut rest).await;
                    }
                    self.record("unlock");
                }
                Some(image) if image.starts_with("image:") => self.image().await,
                Some(push) if push.starts_with("push:") => {
                    output.stdout(format!("latest: digest: {DIGEST} size: 528\n").as_bytes());
                }
                Some("login") => output.stdout(b"Login Succeeded\n"),
                _ => {}
            }
            let git =
                |word: &str| command.program == "git" && command.args.iter().any(|a| a == word);
            if git("symbolic-ref") {
                output.stdout(b"refs/remotes/origin/main\n");
            } else if git("rev-parse") {
                output.stdout(format!("{SHA}\n").as_bytes());
            }
            Ok(RemoteExit::Code(0))
        })
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move { Ok(format!("/tmp/ops.scratch/{name}")) })
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async { self.record("interrupt") })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async { self.record("close") })
    }
}

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
            settings: BuildSettings::new("ops.toml"),
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
        let plugins = BuildPlugins::load(runtime(), &config, &job, &printer, Path::new("/"))
            .await
            .expect("plugins");
        let result = execute(
            job,
            &plugins,
            self.node.clone(),
            &printer,
            Instant::now(),
            stop,
        )
        .await;
        self.wait_for_unlock().await;
        match result {
            Ok(exit) => exit,
            Err(failure) => failure.exit,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_run_in_the_specs_order() {
    let build = Build::new(FakeNode::new()).jobs(1);
    assert_eq!(build.run().await, Exit::Success);
    let mut expected = vec![
        "lock".to_owned(),
        "sync".into(),
        "build".into(),
        "login".into(),
    ];
    expected.extend(images("image"));
    expected.extend(images("push"));
    assert_eq!(build.node.steps(), expected);
    let events = build.node.events();
    assert_eq!(events.last().map(String::as_str), Some("close"));
    assert!(events.contains(&"unlock".to_owned()));
    assert!(!events.contains(&"interrupt".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_command_stops_the_run_before_any_image() {
    let build = Build::new(FakeNode::new().with("build", Behaviour::Fail));
    assert_eq!(build.run().await, Exit::BuildCommand);
    assert_eq!(build.node.steps(), ["lock", "sync", "build"]);
    assert!(build.node.events().contains(&"unlock".to_owned()));
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
        let node = FakeNode::new().slow_images(Duration::from_millis(40));
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
        let events = build.node.events();
        assert_eq!(
            events.first().map(String::as_str),
            Some("lock"),
            "{failing}"
        );
        let unlocked = events.iter().position(|e| e == "unlock");
        let closed = events.iter().position(|e| e == "close");
        assert!(
            unlocked.is_some(),
            "{failing}: lock never released: {events:?}"
        );
        assert!(
            closed.is_some(),
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
        let steps = build.node.steps();
        // Nothing after the interrupted step started.
        assert_eq!(steps.last().map(String::as_str), Some(step), "{events:?}");
        let interrupted = events.iter().position(|e| e == "interrupt");
        let closed = events.iter().position(|e| e == "close");
        assert!(
            matches!((interrupted, closed), (Some(i), Some(c)) if i < c),
            "{step}: remote work not stopped before the session closed: {events:?}"
        );
        assert!(events.contains(&"unlock".to_owned()), "{step}: {events:?}");
    }
}
