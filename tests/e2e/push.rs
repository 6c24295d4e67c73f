//! `source = "push"`: local rsync sends the working tree to the node over
//! ops's own SSH connection (ops is rsync's remote shell). Results are read
//! back from the registry and from the node's build path.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::build::BuildFixture;
use crate::support::eventually::wait_until;
use crate::support::git::{copy_tree, example_dir, git};
use crate::support::ops::OpsOutput;
use crate::support::process::process_tree;

/// A git project in the client's home holding the example, with ops.toml
/// beside it using `source = "push"`.
struct PushProject {
    fx: BuildFixture,
    root: PathBuf,
    extra_config: String,
}

impl PushProject {
    fn new() -> PushProject {
        let mut fx = BuildFixture::new();
        fx.config.source = "push".into();
        let root = fx.home.path().join("project");
        copy_tree(&example_dir(), &root);
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "example"]);
        PushProject {
            fx,
            root,
            extra_config: String::new(),
        }
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn node_file(&self, relative: &str) -> PathBuf {
        self.fx.build_path().join(relative)
    }

    fn build(&self, args: &[&str]) -> OpsOutput {
        let config = format!("{}{}", self.fx.config.to_toml(), self.extra_config);
        fs::write(self.root.join("ops.toml"), config).unwrap();
        // The test's own files: a plugin replacing rsync with local-exec
        // is trusted as its author would trust it.
        self.fx
            .ops()
            .env("OPS_TRUST", "1")
            .arg("build")
            .args(["-f", "project/ops.toml"])
            .args(args)
            .run()
    }

    #[track_caller]
    fn build_ok(&self, args: &[&str]) -> OpsOutput {
        let before = self.fx.node.logins();
        let out = self.build(args);
        out.expect_success();
        assert_eq!(
            self.fx.node.logins() - before,
            1,
            "rsync must ride on the run's one SSH login; sshd log:\n{}",
            self.fx.node.log()
        );
        out
    }
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[test]
fn uncommitted_changes_are_built_and_ignored_files_stay_home() {
    let mut p = PushProject::new();
    // Uncommitted: a changed tracked file and a new untracked one.
    p.write("VERSION", "hello uncommitted\n");
    p.write("notes/new.txt", "not committed yet\n");
    // Ignored at the top level, in a nested .gitignore, and by the
    // [build.push] exclude list.
    p.write(".gitignore", "target/\nsecret.env\n");
    p.write("secret.env", "TOKEN=do-not-send\n");
    p.write("nested/.gitignore", "local.txt\n");
    p.write("nested/local.txt", "stays here\n");
    p.write("nested/kept.txt", "goes\n");
    p.write("debug.log", "excluded by config\n");
    p.extra_config = "\n[build.push]\nexclude = [\"*.log\"]\n".into();

    p.build_ok(&["--service", "api"]);

    let info = p.fx.service_info("api", "latest");
    assert_eq!(info.version, "hello uncommitted");
    assert!(exists(&p.node_file("notes/new.txt")));
    assert!(exists(&p.node_file("nested/kept.txt")));
    for never in ["secret.env", "nested/local.txt", "debug.log", ".git"] {
        assert!(
            !exists(&p.node_file(never)),
            "{never} must not reach the node"
        );
    }
}

#[test]
fn deletions_propagate_and_the_warm_target_survives() {
    let mut p = PushProject::new();
    p.fx.config.image = None;
    p.write("extra.txt", "to be deleted\n");
    p.build_ok(&[]);
    assert!(exists(&p.node_file("extra.txt")));
    let counter = p.node_file("target/release/build-count");
    assert_eq!(fs::read_to_string(&counter).unwrap(), "1\n");

    fs::remove_file(p.root.join("extra.txt")).unwrap();
    p.build_ok(&[]);
    assert!(
        !exists(&p.node_file("extra.txt")),
        "a file deleted locally must disappear on the node"
    );
    // target/ is git-ignored: never sent, never deleted, so the build on
    // the node sees its previous output.
    assert_eq!(
        fs::read_to_string(&counter).unwrap(),
        "2\n",
        "the node's target/ did not survive the sync"
    );
}

#[test]
fn warm_target_shows_in_the_image_build_number() {
    let p = PushProject::new();
    p.build_ok(&["--service", "web"]);
    assert_eq!(p.fx.service_info("web", "latest").build, 1);
    p.build_ok(&["--service", "web"]);
    assert_eq!(p.fx.service_info("web", "latest").build, 2);
}

#[test]
fn changed_host_key_is_refused_and_nothing_is_sent() {
    let p = PushProject::new();
    // Replace the trusted key with another (valid) key for the same host.
    let known = p.fx.home.known_hosts();
    let other_key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMV0QpHSQhuYGVpiZ1GS6e3hTsEnfJ1uGMZbKm1aODVT";
    let forged: String = known
        .lines()
        .map(|line| {
            let host = line.split_whitespace().next().unwrap_or_default();
            format!("{host} {other_key}\n")
        })
        .collect();
    fs::write(p.fx.home.known_hosts_path(), forged).unwrap();

    let out = p.build(&[]);
    out.expect_code(3);
    out.expect_stderr_contains("SHA256:");
    assert!(
        !exists(&p.fx.build_path()),
        "nothing may reach a node whose host key changed"
    );
}

#[test]
fn ref_is_refused_with_push() {
    let p = PushProject::new();
    let before = p.fx.node.logins();
    let out = p.build(&["--ref", "main"]);
    out.expect_code(2);
    out.expect_stderr_contains("--ref cannot be used with source = \"push\"");
    assert_eq!(p.fx.node.logins(), before, "refused before connecting");
}

/// A node whose PATH lacks rsync (a real sshd; `SetEnv PATH` points at a
/// folder with only the tools the session needs), and a project to push.
#[test]
fn rsync_missing_on_the_node_is_named_with_a_hint() {
    use crate::support::home::TestHome;
    use crate::support::sshd::Sshd;

    let home = TestHome::new();
    let bin = home.path().join("node-bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in [
        "sh", "mkdir", "cat", "kill", "sleep", "rm", "chmod", "mv", "mktemp",
    ] {
        let real = Path::new("/bin").join(tool);
        if real.exists() {
            std::os::unix::fs::symlink(&real, bin.join(tool)).unwrap();
        }
    }
    let node = Sshd::builder()
        .authorize(home.user_public_key())
        .config_line(&format!("SetEnv PATH={}", bin.display()))
        .start();
    home.trust(&node);
    let dest = home.path().join("dest");
    home.write("project/file.txt", "x\n");
    let config = format!(
        "target = {:?}\n[build]\npath = {:?}\ncommand = \"true\"\nsource = \"push\"\n",
        node.destination(),
        dest.display().to_string()
    );
    home.write("project/ops.toml", &config);

    let out = home.ops().args(["build", "-f", "project/ops.toml"]).run();
    out.expect_code(4);
    out.expect_stderr_contains("rsync is not installed on the build node");
    out.expect_stderr_contains("apt-get install rsync");
}

#[test]
fn rsync_missing_locally_is_named_with_a_hint() {
    let p = PushProject::new();
    let empty = p.fx.dir().join("empty-path");
    fs::create_dir_all(&empty).unwrap();
    let config = p.fx.config.to_toml();
    fs::write(p.root.join("ops.toml"), config).unwrap();
    let out =
        p.fx.ops()
            .env("PATH", &empty)
            .args(["build", "-f", "project/ops.toml"])
            .run();
    out.expect_code(4);
    out.expect_stderr_contains("rsync is not installed on this machine");
    assert!(!exists(&p.node_file("VERSION")), "nothing was synced");
}

/// Every regular file under `root` (relative path → contents), skipping
/// what the filters keep off the node.
fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" || rel == "target" {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_file() {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn a_sync_interrupted_midway_is_repaired_by_the_next_run() {
    let mut p = PushProject::new();
    p.fx.config.image = None;
    // Enough incompressible data that rsync is still busy when Ctrl-C comes.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..400 {
        let mut data = vec![0u8; 128 * 1024];
        for byte in data.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *byte = seed as u8;
        }
        let path = p.root.join(format!("assets/blob{i:03}.bin"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
    let config = format!("{}{}", p.fx.config.to_toml(), p.extra_config);
    fs::write(p.root.join("ops.toml"), config).unwrap();

    let child = p.fx.ops().args(["build", "-f", "project/ops.toml"]).spawn();
    // Wait until the transfer is under way on the node, then hold the
    // node's rsync where it is (SIGSTOP), so that the sync cannot finish
    // before the interrupt however fast the machine is.
    let assets = p.node_file("assets");
    let count = || fs::read_dir(&assets).map(|d| d.count()).unwrap_or(0);
    wait_until(
        Duration::from_secs(30),
        "the sync writing on the node",
        || count() >= 3,
    );
    let held: Vec<i32> = process_tree(p.fx.node.pid())
        .into_iter()
        .filter(|pid| fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "rsync\n"))
        .collect();
    assert!(!held.is_empty(), "no rsync on the node");
    for pid in &held {
        // SAFETY: signalling a process of this test's own node.
        unsafe { libc::kill(*pid, libc::SIGSTOP) };
    }
    let copied = count();
    assert!(copied < 400, "the sync had finished before it was held");
    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = crate::support::ops::wait_within(child, Duration::from_secs(60));
    for pid in &held {
        // SAFETY: as above; what ops did not kill may go on and end.
        unsafe { libc::kill(*pid, libc::SIGCONT) };
    }
    out.expect_code(130);
    let partial = tree(&p.fx.build_path());
    assert_ne!(
        partial.len(),
        tree(&p.root).len(),
        "the interrupted sync left the whole tree ({copied} assets when held)"
    );

    p.write("VERSION", "hello after interruption\n");
    p.build_ok(&[]);
    assert_eq!(
        tree(&p.fx.build_path()),
        tree(&p.root),
        "the node's tree must equal the local tree (no partial or temporary files)"
    );
}

/// A sync strategy built against the frozen plugin API 0.1.0 (this
/// repository's rsync plugin as built before the built-ins moved to 0.2.0,
/// kept as a fixture) replaces the built-in `rsync` by name and runs in a
/// real build on a host whose own API is 0.2.0, pinned by its sha256.
#[test]
fn a_plugin_built_against_api_0_1_runs_in_a_real_build() {
    let mut p = PushProject::new();
    p.fx.config.image = None;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/plugins/rsync-api-0.1.0.wasm");
    p.write("VERSION", "synced by the 0.1.0 plugin\n");
    let config = |sha: &str| {
        format!(
            "\n[plugins.rsync]\npath = \"{}\"\ngrant = [\"local-exec:rsync\", \"remote-exec\"]\nsha256 = \"{sha}\"\n",
            fixture.display()
        )
    };
    // A pin that does not match refuses the run before anything remote.
    let wrong = "f".repeat(64);
    p.extra_config = config(&wrong);
    let refused = p.build(&[]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    let actual = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(fs::read(&fixture).unwrap()))
    };
    assert!(refused.stderr.contains(&actual), "{}", refused.stderr);
    assert!(refused.stderr.contains(&wrong), "{}", refused.stderr);
    assert!(!exists(&p.node_file("VERSION")), "nothing may be synced");

    p.extra_config = config(&actual);
    p.build_ok(&[]);
    assert_eq!(
        fs::read_to_string(p.node_file("VERSION")).unwrap(),
        "synced by the 0.1.0 plugin\n"
    );

    let listed =
        p.fx.ops()
            .args([
                "plugin",
                "list",
                "--output",
                "json",
                "-f",
                "project/ops.toml",
            ])
            .run();
    listed.expect_success();
    let rsync: serde_json::Value = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|row| row["name"] == "rsync")
        .unwrap();
    assert_eq!(rsync["api_version"], "0.1.0");
    assert_eq!(rsync["source"], fixture.display().to_string());
}
