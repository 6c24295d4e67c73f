//! The Docker engine the tests build and push with: a shared `dockerd` on the
//! default socket (scripts/test.sh starts it; `ensure_dockerd` starts it when
//! `cargo test` runs alone), and a client with a throwaway `DOCKER_CONFIG`
//! so logins never touch the real `~/.docker`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use super::eventually::{eventually, wait_until};
use super::registry::Registry;

/// Same log file scripts/lib.sh uses, so both starters leave one trail.
const DOCKERD_LOG: &str = "/tmp/ops-dockerd.log";
/// Serialises starting dockerd across test binaries running at once.
const DOCKERD_LOCK: &str = "/tmp/ops-dockerd.lock";
const DOCKERD_WAIT: Duration = Duration::from_secs(90);

fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Makes sure `docker info` works, starting `dockerd` in its own session if
/// nothing answers. The daemon is shared and outlives the test run, as the
/// one scripts/test.sh starts does.
pub fn ensure_dockerd() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if docker_answers() {
            return;
        }
        let lock = lock_dockerd();
        if !docker_answers() && !dockerd_pid_alive() {
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(DOCKERD_LOG)
                .expect("open dockerd log");
            Command::new("setsid")
                .args(["-f", "dockerd"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .status()
                .expect("start dockerd (is docker.io installed? run scripts/test.sh)");
        }
        wait_until(
            DOCKERD_WAIT,
            &format!("dockerd answering `docker info` (see {DOCKERD_LOG})"),
            docker_answers,
        );
        drop(lock);
    });
}

/// dockerd writes its pid file early; a live pid means it is still starting.
fn dockerd_pid_alive() -> bool {
    std::fs::read_to_string("/var/run/docker.pid")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// A `docker` CLI with its own throwaway config directory (credentials
/// included), talking to the shared daemon.
pub struct Docker {
    config: TempDir,
}

impl Default for Docker {
    fn default() -> Self {
        Self::new()
    }
}

impl Docker {
    pub fn new() -> Self {
        ensure_dockerd();
        let config = tempfile::Builder::new()
            .prefix("ops-test-docker-config-")
            .tempdir()
            .expect("docker config dir");
        Docker { config }
    }

    /// The `DOCKER_CONFIG` directory this client uses.
    pub fn config_dir(&self) -> &Path {
        self.config.path()
    }

    /// A `docker` command using this client's config.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_CONFIG", self.config.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `docker ARGS`; returns its output whatever the exit status.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run docker {args:?}: {e}"))
    }

    /// Runs `docker ARGS`, panicking with its output unless it succeeds;
    /// returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `docker login` with the password on stdin; returns the output so
    /// tests can check refusals too.
    pub fn login(&self, host: &str, username: &str, password: &str) -> Output {
        let mut child = self
            .command()
            .args(["login", "--username", username, "--password-stdin", host])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn docker login");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(password.as_bytes())
            .expect("write password to docker login");
        child.wait_with_output().expect("wait for docker login")
    }

    /// Logs in to `registry` with its credentials, panicking on failure.
    pub fn login_to(&self, registry: &Registry) {
        let out = self.login(&registry.host(), registry.username(), registry.token());
        assert!(
            out.status.success(),
            "docker login {} failed:\n{}",
            registry.host(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `docker build -f DOCKERFILE --build-arg K=V... -t TAG CONTEXT`.
    pub fn build(&self, context: &Path, dockerfile: &str, tag: &str, build_args: &[(&str, &str)]) {
        let dockerfile = context.join(dockerfile);
        let mut args = vec![
            "build".to_owned(),
            "-f".to_owned(),
            dockerfile.display().to_string(),
            "-t".to_owned(),
            tag.to_owned(),
        ];
        for (k, v) in build_args {
            args.push("--build-arg".to_owned());
            args.push(format!("{k}={v}"));
        }
        args.push(context.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args);
    }

    /// `docker push TAG`; returns the pushed manifest digest (`sha256:...`)
    /// as `docker push` reports it.
    pub fn push(&self, tag: &str) -> String {
        let out = self.run(&["push", tag]);
        out.split_whitespace()
            .skip_while(|w| *w != "digest:")
            .nth(1)
            .unwrap_or_else(|| panic!("no digest in `docker push {tag}` output:\n{out}"))
            .to_owned()
    }

    /// Whether the daemon has an image with this reference.
    pub fn image_exists(&self, reference: &str) -> bool {
        self.output(&["image", "inspect", reference])
            .status
            .success()
    }

    /// Removes an image from the daemon; absent images are fine. Untagged
    /// parents stay: concurrent builds may be reusing them as cache.
    /// Waits for [`lock_image_removals`]: dockerd 20.10's legacy builder
    /// fails a `FROM scratch` build when any parentless image disappears
    /// while it looks for a cached step.
    pub fn remove_image(&self, reference: &str) {
        let _removals = lock_image_removals();
        let _ = self.output(&["image", "rm", "-f", "--no-prune", reference]);
    }
}

/// The base image the BuildKit tests build FROM (no hub can be reached
/// here); scripts/lib.sh makes it from Debian's busybox-static.
pub const BASE_IMAGE: &str = "ops-test/busybox:latest";

/// Runs a function of scripts/lib.sh (as scripts/test.sh does), so that
/// `cargo test` alone sets up what the BuildKit tests need.
fn lib_sh(function: &str) {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source \"$1\" && {function}"))
        .arg("lib.sh")
        .arg(&lib)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {function} from {}: {e}", lib.display()));
    assert!(
        out.status.success(),
        "{function} failed (run scripts/test.sh):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Holds the machine-wide lock that serialises setting up dockerd (and
/// BuildKit) across test processes, until the returned file is dropped.
fn lock_dockerd() -> std::fs::File {
    lock_file(DOCKERD_LOCK)
}

/// Holds the machine-wide lock that keeps image removals away from legacy
/// (non-BuildKit) builds, until the returned file is dropped. dockerd
/// 20.10's legacy builder lists every parentless image for a `FROM scratch`
/// cache lookup and then reads each one; an image removed in between fails
/// the build with `unable to find image "sha256:..."`. A test that builds
/// with the legacy builder holds this lock for the build.
pub fn lock_image_removals() -> std::fs::File {
    lock_file(IMAGE_REMOVALS_LOCK)
}

const IMAGE_REMOVALS_LOCK: &str = "/tmp/ops-test-image-removals.lock";

/// Holds an exclusive flock on `path` (created if missing) until the
/// returned file is dropped.
pub fn lock_file(path: impl AsRef<Path>) -> std::fs::File {
    let path = path.as_ref().display().to_string();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open lock file {path}: {e}"));
    // SAFETY: flock on a file descriptor this function owns; released when
    // `lock` is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {path}");
    lock
}

/// Makes sure `docker buildx` and [`BASE_IMAGE`] exist, once per test binary.
pub fn ensure_buildkit() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        ensure_dockerd();
        let lock = lock_dockerd();
        lib_sh("ops_install_buildx && ops_make_base_image");
        drop(lock);
    });
}

/// A second Docker engine of its own (socket, data, containerd namespace),
/// for builds routed away from the shared one. Stopped and removed on drop.
pub struct SecondEngine {
    dir: TempDir,
    child: std::process::Child,
    bridge: String,
}

/// Runs `ip ARGS`, panicking unless it succeeds.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SecondEngine {
    pub fn start() -> SecondEngine {
        ensure_dockerd();
        let dir = tempfile::Builder::new()
            .prefix("ops-dockerd2-")
            .tempdir()
            .expect("second dockerd dir");
        let d = dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).expect("dockerd log");
        let id = super::registry::random_hex(4);
        let namespace = format!("ops-{id}");
        // A bridge of its own: a dockerd started with `--bridge none`
        // deletes docker0, which the shared engine needs.
        let bridge = format!("ops2-{id}");
        let octet = u8::from_str_radix(&id[..2], 16).expect("hex");
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("10.213.{octet}.1/24"),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            // The shared engine owns the iptables rules and forwarding.
            .args(["--bridge", &bridge, "--iptables=false", "--ip-masq=false"])
            .arg("--ip-forward=false")
            .args(["--containerd-namespace", &namespace])
            .args(["--containerd-plugins-namespace", &format!("{namespace}-p")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start a second dockerd");
        let engine = SecondEngine { dir, child, bridge };
        eventually(DOCKERD_WAIT, "the second dockerd answering", || {
            if engine
                .command(&["info"])
                .status()
                .is_ok_and(|s| s.success())
            {
                Ok(())
            } else {
                Err(
                    std::fs::read_to_string(engine.dir.path().join("dockerd.log"))
                        .unwrap_or_default(),
                )
            }
        });
        engine
    }

    /// `unix://...` of its socket.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// `docker -H <its socket> ARGS`, output discarded.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.arg("-H")
            .arg(self.host())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    pub fn image_exists(&self, reference: &str) -> bool {
        self.command(&["image", "inspect", reference])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd unmount its layers before the dir goes.
        // SAFETY: signalling a child this struct started and still owns.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}
