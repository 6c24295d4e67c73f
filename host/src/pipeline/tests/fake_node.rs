//! The in-memory build node of the pipeline tests.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{watch, Notify};

use crate::remote::{
    BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode, Stdin,
};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What the node does with the command behind a step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    Succeed,
    Fail,
    /// Runs until stopped.
    Hang,
}

/// A build node in memory. Steps are named `lock`, `sync`, `build`,
/// `login`, `image:SERVICE` and `push:SERVICE`; `ended:STEP` is recorded
/// when a step's command has returned.
pub(super) struct FakeNode {
    events: Mutex<Vec<String>>,
    /// The lock's marker while the session has a gate.
    gate: Mutex<Option<String>>,
    /// Whether the lock is held now.
    locked: AtomicBool,
    /// The same, for gated commands to wait on.
    lock_held: watch::Sender<bool>,
    /// Steps whose command went out neither behind the lock's gate nor
    /// while the lock was held.
    pub(super) unguarded: Mutex<Vec<String>>,
    /// Whether a step's first command has arrived. The lock is granted only
    /// then (or after a bound), as if another run held it a moment longer:
    /// a step sent without the gate then always overtakes the lock, so the
    /// check above cannot miss it however the tasks happen to be polled.
    step_arrived: watch::Sender<bool>,
    behaviour: Mutex<Vec<(String, Behaviour)>>,
    image_time: Duration,
    /// With `meet_images(n, total)`: each image build waits (up to a
    /// bound) until `n` run at once or all `total` have started.
    images_meet: Option<(usize, usize)>,
    images_started: AtomicUsize,
    images_running: AtomicUsize,
    pub(super) images_peak: AtomicUsize,
    /// Notified when a hanging step starts.
    pub(super) hanging: Notify,
}

impl FakeNode {
    pub(super) fn new() -> FakeNode {
        FakeNode {
            events: Mutex::new(Vec::new()),
            gate: Mutex::new(None),
            locked: AtomicBool::new(false),
            lock_held: watch::Sender::new(false),
            unguarded: Mutex::new(Vec::new()),
            step_arrived: watch::Sender::new(false),
            behaviour: Mutex::new(Vec::new()),
            image_time: Duration::from_millis(5),
            images_meet: None,
            images_started: AtomicUsize::new(0),
            images_running: AtomicUsize::new(0),
            images_peak: AtomicUsize::new(0),
            hanging: Notify::new(),
        }
    }

    pub(super) fn with(self, step: &str, behaviour: Behaviour) -> FakeNode {
        self.behaviour
            .lock()
            .unwrap()
            .push((step.to_owned(), behaviour));
        self
    }

    /// Image builds that wait for each other, `n` at a time, so that a
    /// scheduler allowing `n` at once shows a peak of `n` however slowly
    /// the machine runs the test; one allowing fewer shows less.
    pub(super) fn meet_images(mut self, n: usize, total: usize) -> FakeNode {
        self.images_meet = Some((n, total));
        self
    }

    pub(super) fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub(super) fn steps(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| !matches!(e.as_str(), "unlock" | "interrupt" | "close"))
            .filter(|e| !e.starts_with("ended:"))
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
            ("sh", ["-c", script, ..]) if *script == super::super::lock::SCRIPT => {
                Some("lock".into())
            }
            ("sh", ["-c", script, ..]) if script.contains("git clone") => Some("sync".into()),
            ("sh", ["-c", "make app"]) => Some("build".into()),
            // The docker plugin's login, build and push are small sh scripts;
            // the login's names itself in $0.
            ("sh", ["-c", _, "ops-docker-login", ..]) => Some("login".into()),
            ("sh", ["-c", script, ..]) if script.contains("buildx build") => {
                Some(format!("image:{}", service(word_after(script, "-t ")?)))
            }
            ("sh", ["-c", script, ..]) if script.contains("docker push") => Some(format!(
                "push:{}",
                service(word_after(script, "exec docker push ")?)
            )),
            _ => None,
        }
    }

    async fn image(&self) {
        let now = self.images_running.fetch_add(1, Ordering::SeqCst) + 1;
        self.images_peak.fetch_max(now, Ordering::SeqCst);
        self.images_started.fetch_add(1, Ordering::SeqCst);
        if let Some((n, total)) = self.images_meet {
            // The bound only matters when the scheduler holds builds back,
            // and then the peak says so.
            let bound = tokio::time::Instant::now() + Duration::from_secs(10);
            while self.images_running.load(Ordering::SeqCst) < n
                && self.images_started.load(Ordering::SeqCst) < total
                && tokio::time::Instant::now() < bound
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        tokio::time::sleep(self.image_time).await;
        self.images_running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The word that follows `prefix` in `script`, without the single quotes
/// the plugin puts around it when it needs them (image references need
/// none, but may).
fn word_after<'a>(script: &'a str, prefix: &str) -> Option<&'a str> {
    let start = script.find(prefix)? + prefix.len();
    let rest = &script[start..];
    match rest.strip_prefix('\'') {
        Some(quoted) => quoted.split('\'').next(),
        None => rest.split([' ', '\n']).next(),
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
            let gated = !command.ungated && self.gate.lock().unwrap().is_some();
            if let Some(step) = &step {
                self.record(step.clone());
                if step != "lock" && !gated && !self.locked.load(Ordering::SeqCst) {
                    self.unguarded.lock().unwrap().push(step.clone());
                }
                if step != "lock" {
                    self.step_arrived.send_replace(true);
                }
            }
            // As a node does: a gated command waits for the lock. (Without
            // this, a loaded machine can run every step before the lock's
            // task is first polled, which a real node never allows.)
            if gated && step.as_deref() != Some("lock") {
                let _ = self.lock_held.subscribe().wait_for(|held| *held).await;
            }
            let result = self.answer(command, step.as_deref(), stdin, output).await;
            // The lock's command ends on its own task, after the run.
            if let Some(step) = step.filter(|s| s != "lock") {
                self.record(format!("ended:{step}"));
            }
            result
        })
    }

    fn set_gate(&self, marker: Option<String>) {
        *self.gate.lock().unwrap() = marker;
    }

    // Its commands end when their futures do: nothing is left to wait for.
    fn settle(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn connect_round_trips(&self) -> u64 {
        0
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

impl FakeNode {
    async fn answer(
        &self,
        command: &RemoteCommand,
        step: Option<&str>,
        stdin: Stdin<'_>,
        output: &mut dyn OutputSink,
    ) -> Result<RemoteExit, RemoteError> {
        {
            let behaviour = step.map_or(Behaviour::Succeed, |s| self.behaviour(s));
            if behaviour == Behaviour::Hang {
                self.hanging.notify_one();
                std::future::pending::<()>().await;
            }
            if behaviour == Behaviour::Fail {
                output.stderr(b"it went wrong\n");
                return Ok(RemoteExit::Code(1));
            }
            match step {
                Some("lock") => {
                    // A pipeline that sent its steps only once the lock is
                    // held would wait here for the bound, and still pass.
                    let arrived = self.step_arrived.subscribe();
                    let wait = async move {
                        let mut arrived = arrived;
                        let _ = arrived.wait_for(|a| *a).await;
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
                    self.locked.store(true, Ordering::SeqCst);
                    self.lock_held.send_replace(true);
                    output.stdout(b"locked\n");
                    // Held until ops closes stdin.
                    if let Stdin::Stream(mut held_open) = stdin {
                        let mut rest = Vec::new();
                        let _ = held_open.read_to_end(&mut rest).await;
                    }
                    self.locked.store(false, Ordering::SeqCst);
                    self.lock_held.send_replace(false);
                    self.record("unlock");
                }
                Some(image) if image.starts_with("image:") => self.image().await,
                Some(push) if push.starts_with("push:") => {
                    output.stdout(format!("latest: digest: {DIGEST} size: 528\n").as_bytes());
                }
                Some("login") => output.stdout(b"Login Succeeded\n"),
                // The fetch's script resolves the branch it was given.
                Some("sync") if command.args.last().is_some_and(|w| w.contains("/main")) => {
                    output.stdout(format!("ops-commit {SHA}\n").as_bytes());
                }
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
        }
    }
}
