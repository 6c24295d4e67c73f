//! The built-in `buildah` image builder against a real rootless buildah on
//! the node (a non-root node user with subordinate ids), the real registry,
//! and the fault proxy where the registry must fail.

use std::time::Duration;

use serde_json::Value;

use crate::support::build::{all_argv, json_events, BuildFixture, SERVICES, TOKEN_VAR};
use crate::support::buildah::{path_without, NODE_USER};
use crate::support::fault_proxy::{FaultProxy, Rule};

const SECRET_VAR: &str = "OPS_TEST_NPM_TOKEN";

/// A `RUN` needs a shell in the image and no base image is at hand
/// offline: the build command copies the node's dash and the libraries it
/// loads into `rootfs/`, which the Dockerfile copies into the image.
const ROOTFS: &str = "mkdir -p rootfs/bin rootfs/lib64 rootfs/lib/x86_64-linux-gnu && \
                      cp /bin/dash rootfs/bin/sh && \
                      cp /lib/x86_64-linux-gnu/libc.so.6 rootfs/lib/x86_64-linux-gnu/ && \
                      cp /lib64/ld-linux-x86-64.so.2 rootfs/lib64/";

const SECRET_DOCKERFILE: &str = "FROM scratch\n\
ARG SERVICE_BINARY\n\
ARG MODE=debug\n\
COPY rootfs/ /\n\
COPY target/release/${SERVICE_BINARY}.txt /service.txt\n\
RUN --mount=type=secret,id=NPM_TOKEN read -r s </run/secrets/NPM_TOKEN; echo ${#s} >/secret-length\n\
RUN echo \"$MODE\" >/mode\n";

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The summary's image entries of a `--json` run.
fn summary_images(stdout: &str) -> Vec<Value> {
    let events = json_events(stdout);
    let summary: Vec<&Value> = events.iter().filter(|e| e["event"] == "summary").collect();
    assert_eq!(summary.len(), 1, "{stdout}");
    summary[0]["images"].as_array().expect("images").clone()
}

/// Nothing of the run is left on the node: no scratch directory (the auth
/// file and the secrets were there). Without a login session's
/// /run/user/UID, rootless buildah keeps its own runtime state in TMPDIR
/// (`podman-run-UID`, `containers-user-UID`): buildah's, not the run's, and
/// reused by the next run; the token is in no file there either.
fn nothing_left(fx: &BuildFixture) {
    let left: Vec<String> = fx
        .node_tmp_entries()
        .into_iter()
        .filter(|e| !e.starts_with("podman-run-") && !e.starts_with("containers-user-"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    let roots = [fx.node_tmp(), fx.node_home()];
    let roots: Vec<&std::path::Path> = roots.iter().map(|p| p.as_path()).collect();
    let found = BuildFixture::files_containing(&roots, fx.registry.token());
    assert!(found.is_empty(), "the registry token is in {found:?}");
}

#[test]
fn buildah_builds_three_services_rootless_and_pushes_what_the_registry_serves() {
    let fx = BuildFixture::buildah();
    // Without a push there is no login, and no auth file until a build
    // makes an empty one.
    fx.build_ok(&["--no-push", "--service", "api"]);
    fx.assert_nothing_pushed();
    let out = fx.build_ok(&["--output", "json", "--tag", "b1"]);
    let images = summary_images(&out.stdout);
    assert_eq!(images.len(), SERVICES.len());
    for image in &images {
        let service = image["service"].as_str().expect("service");
        let repo = fx.repo(service);
        let served = fx.registry.digest(&repo, "b1");
        assert_eq!(image["digest"].as_str(), served.as_deref(), "{service}");
        assert!(image.get("platforms").is_none(), "{image}");
        assert_eq!(fx.service_info(service, "b1").service, service);
        let program = fx
            .registry
            .read_file_string(&repo, "b1", &format!("/app/{service}"))
            .expect("the service's program");
        assert!(program.contains(&format!("echo \"{service} ")), "{program}");
    }
    // The node's login user built, not root: it owns the build path.
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(fx.build_path())
        .output()
        .expect("stat runs");
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), NODE_USER);
    nothing_left(&fx);
}

#[test]
fn two_platforms_push_one_index_with_both() {
    let mut fx = BuildFixture::buildah();
    fx.image_config().extra += "platforms = [\"linux/amd64\", \"linux/arm64\"]\n";
    let out = fx.build_ok(&["--service", "api", "--tag", "m1"]);
    // The summary shows the index's digest and its platforms.
    let repo = fx.repo("api");
    let answer = fx.registry.get(
        &format!("/v2/{repo}/manifests/m1"),
        &[OCI_INDEX, DOCKER_LIST],
    );
    assert_eq!(answer.status, 200);
    let media_type = answer
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_default();
    assert!(
        media_type == OCI_INDEX || media_type == DOCKER_LIST,
        "not an index: {media_type}"
    );
    let index: Value = serde_json::from_slice(&answer.body).expect("index JSON");
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap_or("?"),
                m["platform"]["architecture"].as_str().unwrap_or("?")
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let digest = answer.headers.get("docker-content-digest").expect("digest");
    let short = &digest[..19];
    let row = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .find(|l| l.contains(short))
        .unwrap_or_else(|| panic!("no summary row with {short}:\n{}{}", out.stdout, out.stderr));
    assert!(row.contains("[linux/amd64, linux/arm64]"), "{row}");
    // Each platform's image holds the service's files.
    for entry in index["manifests"].as_array().unwrap() {
        let inner = entry["digest"].as_str().expect("entry digest");
        let text = fx
            .registry
            .read_file_string(&repo, inner, "/service.txt")
            .expect("service.txt in every platform's image");
        assert!(text.contains("service=api"), "{text}");
    }
    // A second run replaces the list rather than adding to it.
    fx.build_ok(&["--service", "api", "--tag", "m1"]);
    let again = fx.registry.get(
        &format!("/v2/{repo}/manifests/m1"),
        &[OCI_INDEX, DOCKER_LIST],
    );
    let index: Value = serde_json::from_slice(&again.body).expect("index JSON");
    assert_eq!(
        index["manifests"].as_array().map(Vec::len),
        Some(2),
        "{index}"
    );
    nothing_left(&fx);
}

#[test]
fn buildah_missing_on_the_node_is_exit_6_with_the_remedy() {
    let bin = path_without("buildah");
    let path = bin.path().display().to_string();
    let fx = BuildFixture::buildah_with_env(&[("PATH", &path)]);
    let out = fx.build(&["--service", "api"]);
    eprintln!("{}", out.stderr);
    out.expect_code(6)
        .expect_stderr_contains("buildah is not installed on the node")
        .expect_stderr_contains("apt-get install buildah uidmap fuse-overlayfs")
        .expect_stderr_contains("/etc/subuid");
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
    fx.assert_nothing_pushed();
    nothing_left(&fx);
}

#[test]
fn a_refused_buildah_login_is_exit_7_and_never_retried() {
    let fx = BuildFixture::buildah();
    let wrong = "wrong-token-0123456789";
    fx.write_config();
    let out = fx
        .ops()
        .env(TOKEN_VAR, wrong)
        .args(["build", "--service", "api"])
        .run();
    eprintln!("{}", out.stderr);
    out.expect_code(7)
        .expect_stderr_contains("buildah login to");
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong));
    fx.assert_nothing_pushed();
    nothing_left(&fx);
}

#[test]
fn a_registry_answering_500_to_buildah_is_retried_then_exit_7() {
    let mut fx = BuildFixture::buildah();
    let rule = Rule {
        method: "PUT",
        path: "/manifests/",
        status: 500,
        times: 100,
    };
    let proxy = FaultProxy::start(fx.registry.port(), vec![rule]);
    let name = fx.repo("x");
    let namespace = name.trim_end_matches("/x").to_owned();
    let host = proxy.host();
    let image = fx.image_config();
    image.registry = host.clone();
    image.prefix = format!("{host}/{namespace}");
    let out = fx.build(&["--service", "api"]);
    eprintln!("{}", out.stderr);
    out.expect_code(7)
        .expect_stderr_contains("buildah push of")
        .expect_stderr_contains("500")
        .expect_stderr_contains("(tried 3 times)");
    assert_eq!(fx.registry.digest(&fx.repo("api"), "latest"), None);
    nothing_left(&fx);
}

#[test]
fn secrets_reach_a_rootless_run_by_file_and_nowhere_else() {
    let secret = format!("npm-{}", crate::support::registry::random_hex(12));
    let mut fx = BuildFixture::buildah();
    fx.origin.commit(
        "secret Dockerfile",
        &[("Dockerfile.secret", SECRET_DOCKERFILE)],
    );
    fx.config.command = format!("sh build.sh && {ROOTFS}");
    fx.image_config().dockerfile = "Dockerfile.secret".into();
    fx.image_config().extra += &format!(
        "secrets = {{ NPM_TOKEN = \"${SECRET_VAR}\" }}\nbuild_args = {{ MODE = \"release\" }}\n"
    );
    fx.write_config();
    let child = fx
        .ops()
        .env(SECRET_VAR, &secret)
        .args(["build", "--service", "api"])
        .spawn();
    let out = crate::support::ops::wait_watching(child, Duration::from_secs(300), || {
        assert!(
            !all_argv().contains(&secret),
            "the secret is in a command line"
        );
    });
    out.expect_success();
    let repo = fx.repo("api");
    let read = |path: &str| fx.registry.read_file_string(&repo, "latest", path);
    assert_eq!(
        read("/secret-length").as_deref(),
        Some(format!("{}\n", secret.len()).as_str())
    );
    assert_eq!(read("/mode").as_deref(), Some("release\n"));
    assert_eq!(read("/run/secrets/NPM_TOKEN"), None);
    assert!(!out.stdout.contains(&secret) && !out.stderr.contains(&secret));
    let stored = BuildFixture::files_containing(
        &[fx.dir(), &fx.registry.storage_dir(), fx.home.path()],
        &secret,
    );
    assert!(stored.is_empty(), "the secret is stored in {stored:?}");
    nothing_left(&fx);
}

#[test]
fn keys_buildah_cannot_honour_are_config_errors_naming_them() {
    let mut fx = BuildFixture::buildah();
    fx.image_config().extra += "builder = \"multi\"\n";
    let out = fx.build(&[]);
    out.expect_code(2)
        .expect_stderr_contains("builder")
        .expect_stderr_contains("build.image");
    fx.image_config().extra = "plugin = \"buildah\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\ncache_from = \"127.0.0.1:5000/c/cache\"\n".into();
    let out = fx.build(&[]);
    out.expect_code(2)
        .expect_stderr_contains("`cache_from` cannot be combined with `platforms`");
    fx.assert_nothing_pushed();
}

/// A tmpfs mounted for a test, unmounted however the test ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// buildah's storage fills up: a 2 MiB filesystem owned by the node user
/// as its graph root, and an image with 4 MiB of random bytes.
#[test]
fn a_full_buildah_storage_is_exit_6_naming_it() {
    let mut fx = BuildFixture::buildah();
    fx.config.command = "sh build.sh && head -c 4194304 /dev/urandom >>target/release/api".into();
    let storage = fx.node_home().join("containers-storage");
    std::fs::create_dir_all(&storage).unwrap();
    let uid = std::process::Command::new("id")
        .args(["-u", NODE_USER])
        .output()
        .expect("id runs");
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_owned();
    let mount = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o"])
        .arg(format!("size=2m,uid={uid},mode=0700"))
        .arg("tmpfs")
        .arg(&storage)
        .status()
        .expect("mount runs");
    assert!(mount.success(), "mount a 2 MiB tmpfs at {storage:?}");
    let _mounted = Mounted(storage);
    let out = fx.build(&["--service", "api"]);
    eprintln!("{}", out.stderr);
    out.expect_code(6)
        .expect_stderr_contains("no space left on the build node's disk for buildah's storage")
        .expect_stderr_contains("no space left on device");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("error line");
    assert!(error.len() < 2000, "{error}");
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
    fx.assert_nothing_pushed();
}

/// The connection to the node is lost while buildah runs: a `buildah` on
/// the node's PATH that waits a minute before it runs the real one holds
/// the run in its first buildah command (the login), and sshd's processes
/// for the run's connection are killed meanwhile. The run exits 3 naming
/// the step it lost the node in, and what it started on the node does not
/// run on without it.
#[test]
fn a_connection_lost_while_buildah_runs_is_exit_3_naming_the_step() {
    use std::os::unix::fs::PermissionsExt;

    use crate::support::eventually::eventually;
    use crate::support::ops::wait;
    use crate::support::process::process_tree;

    let bin = path_without("buildah");
    let slow = bin.path().join("buildah");
    std::fs::write(&slow, "#!/bin/sh\nsleep 61\nexec /usr/bin/buildah \"$@\"\n").unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = bin.path().display().to_string();
    let fx = BuildFixture::buildah_with_env(&[("PATH", &path)]);
    fx.write_config();
    let run = fx.ops().args(["build", "--service", "api"]).spawn();
    let comm = |pid: &i32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // The wrapper's own `sleep 61`: ops's node scripts sleep too.
    let cmdline = |pid: &i32| std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let sleeping = eventually(
        Duration::from_secs(60),
        "the slowed buildah running",
        || {
            process_tree(fx.node.pid())
                .into_iter()
                .find(|pid| cmdline(pid) == b"sleep\x0061\x00")
                .ok_or("no slowed buildah under sshd")
        },
    );
    let stat = std::fs::read_to_string(format!("/proc/{sleeping}/stat")).unwrap_or_default();
    let parent = stat[stat.rfind(')').map_or(0, |i| i + 2)..]
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap_or(0);
    let parent_cmd = String::from_utf8_lossy(&cmdline(&parent)).replace('\0', " ");
    for pid in process_tree(fx.node.pid()).into_iter().skip(1) {
        if comm(&pid).trim() == "sshd" {
            // SAFETY: signalling a process of this test's own sshd.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let out = wait(run);
    eprintln!("slowed buildah: {parent_cmd}\n{}", out.stderr);
    assert!(parent_cmd.contains("buildah login"), "{parent_cmd}");
    out.expect_code(3).expect_stderr_contains(
        "failed to log in to the registry: connection to the build node lost",
    );
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
    eventually(Duration::from_secs(30), "the slowed buildah gone", || {
        if std::path::Path::new(&format!("/proc/{sleeping}")).exists() {
            Err("still running")
        } else {
            Ok(())
        }
    });
    fx.assert_nothing_pushed();
}

/// `buildah images` on the node, through `ops exec`: each image's id and
/// its names (`<none>` for an image without one).
fn node_buildah_images(fx: &BuildFixture) -> Vec<String> {
    let out = fx
        .ops()
        .args([
            "exec",
            "--",
            "buildah",
            "images",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Name}}:{{.Tag}}",
        ])
        .run();
    out.expect_success();
    let mut lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn prune_removes_an_older_index_with_its_platforms_images_and_keeps_the_newest() {
    let mut fx = BuildFixture::buildah();
    fx.image_config().extra += "platforms = [\"linux/amd64\", \"linux/arm64\"]\n";
    fx.build_ok(&["--service", "api", "--tag", "m1", "--no-push"]);
    fx.build_ok(&["--service", "api", "--tag", "m2", "--no-push"]);
    let named =
        |lines: &[String], tag: &str| lines.iter().any(|l| l.ends_with(&format!("/api:{tag}")));
    let before = node_buildah_images(&fx);
    assert!(named(&before, "m1") && named(&before, "m2"), "{before:?}");
    let unnamed_before = before.iter().filter(|l| l.contains("<none>")).count();
    assert!(
        unnamed_before >= 4,
        "two platforms' images per build: {before:?}"
    );

    let df = fx.ops().args(["node", "df", "--output", "json"]).run();
    df.expect_success();
    let events = json_events(&df.stdout);
    let disk = events
        .iter()
        .find(|e| e["event"] == "node_disk")
        .expect("node_disk");
    assert_eq!(disk["builds"], 2, "{disk}");

    let out = fx
        .ops()
        .args(["node", "prune", "--keep", "1", "--output", "json"])
        .run();
    out.expect_success();
    let events = json_events(&out.stdout);
    let pruned: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "pruned")
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    assert!(
        pruned.contains(&fx.image("api", "m1").as_str()),
        "{pruned:?}"
    );
    let after = node_buildah_images(&fx);
    assert!(!named(&after, "m1") && named(&after, "m2"), "{after:?}");
    let unnamed_after = after.iter().filter(|l| l.contains("<none>")).count();
    assert_eq!(
        unnamed_before - unnamed_after,
        2,
        "the older index's two platform images go, the newer's stay: {after:?}"
    );
}
