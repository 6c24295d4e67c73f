//! Images on BuildKit, against the real engine: cache and secret mounts,
//! build args, digests equal to the registry's, the docker driver's refusal
//! of `platforms`, and the legacy fallback with its warning.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::build::{all_argv, json_events, BuildFixture, SERVICES};
use crate::support::docker::{ensure_buildkit, lock_image_removals, SecondEngine, BASE_IMAGE};
use crate::support::ops::OpsOutput;
use crate::support::registry::random_hex;
use crate::support::sshd::Sshd;

const SECRET_VAR: &str = "OPS_TEST_NPM_TOKEN";

/// Needs BuildKit: a cache mount, a secret mount and a build arg.
fn dockerfile() -> String {
    format!(
        "FROM {BASE_IMAGE}\n\
         ARG SERVICE_BINARY\n\
         ARG MODE=debug\n\
         RUN --mount=type=cache,target=/cache sh -c 'echo run >>/cache/runs; cp /cache/runs /cache-runs'\n\
         RUN --mount=type=secret,id=NPM_TOKEN sh -c 'test -s /run/secrets/NPM_TOKEN && wc -c </run/secrets/NPM_TOKEN | tr -d \" \" >/secret-length'\n\
         COPY target/release/${{SERVICE_BINARY}}.txt /service.txt\n\
         RUN echo \"$MODE\" >/mode\n"
    )
}

/// A fixture whose origin has `Dockerfile.bk`, built with `extra` lines
/// appended to `[build.image]` (the last table of ops.toml).
fn fixture(extra: &str) -> BuildFixture {
    ensure_buildkit();
    let mut fx = BuildFixture::new();
    fx.origin
        .commit("BuildKit Dockerfile", &[("Dockerfile.bk", &dockerfile())]);
    fx.image_config().dockerfile = "Dockerfile.bk".into();
    let toml = format!("{}{extra}", fx.config.to_toml());
    fx.home.write("ops.toml", &toml);
    fx
}

/// Runs `ops build --output json` (ops.toml as written), watching every
/// process's argv for `secret` until it ends.
fn build_watching(fx: &BuildFixture, secret: &str) -> OpsOutput {
    let child = fx
        .ops()
        .env(SECRET_VAR, secret)
        .args(["build", "--output", "json"])
        .spawn();
    crate::support::ops::wait_watching(child, Duration::from_secs(300), || {
        assert!(
            !all_argv().contains(secret),
            "the build secret is in a command line"
        );
    })
}

/// Every pushed digest in the summary is the one the registry serves.
fn assert_registry_digests(fx: &BuildFixture, stdout: &str) {
    let events = json_events(stdout);
    let summary: Vec<&Value> = events.iter().filter(|e| e["event"] == "summary").collect();
    assert_eq!(summary.len(), 1, "{stdout}");
    let images = summary[0]["images"].as_array().expect("images array");
    assert_eq!(images.len(), SERVICES.len());
    for image in images {
        let service = image["service"].as_str().expect("service name");
        let digest = fx.registry.digest(&fx.repo(service), "latest");
        assert_eq!(image["digest"].as_str(), digest.as_deref(), "{service}");
    }
}

#[test]
fn cache_and_secret_mounts_build_and_push_with_the_registry_digest() {
    let secret = format!("npm-{}", random_hex(12));
    let fx = fixture(&format!(
        "secrets = {{ NPM_TOKEN = \"${SECRET_VAR}\" }}\nbuild_args = {{ MODE = \"release\" }}\n"
    ));
    let out = build_watching(&fx, &secret);
    out.expect_success();
    assert_registry_digests(&fx, &out.stdout);
    for service in SERVICES {
        let repo = fx.repo(service);
        let read = |path: &str| fx.registry.read_file_string(&repo, "latest", path);
        assert_eq!(fx.service_info(service, "latest").service, service);
        assert_eq!(read("/mode").as_deref(), Some("release\n"));
        // The secret was mounted for the RUN step, and is in no layer.
        assert_eq!(
            read("/secret-length").as_deref(),
            Some(format!("{}\n", secret.len()).as_str())
        );
        assert_eq!(read("/run/secrets/NPM_TOKEN"), None);
        assert!(read("/cache-runs").is_some());
        let config = fx.registry.config(&repo, "latest").expect("image config");
        assert!(!config.to_string().contains(&secret), "{service}: {config}");
    }
    // Nor in any output, any file on the node or in the registry's storage.
    assert!(!out.stdout.contains(&secret) && !out.stderr.contains(&secret));
    let stored = BuildFixture::files_containing(
        &[fx.dir(), &fx.registry.storage_dir(), fx.home.path()],
        &secret,
    );
    assert!(stored.is_empty(), "the secret is stored in {stored:?}");
    assert!(!out.stderr.contains("legacy builder"), "{}", out.stderr);
    assert!(!out.stderr.contains("DEPRECATED"), "{}", out.stderr);
}

#[test]
fn platforms_with_the_docker_driver_and_unknown_builders_are_clear_errors() {
    let fx = fixture("platforms = [\"linux/amd64\", \"linux/arm64\"]\n");
    let out = fx.ops().env(SECRET_VAR, "unused").arg("build").run();
    out.expect_code(6);
    out.expect_stderr_contains("uses the docker driver");
    out.expect_stderr_contains("docker buildx create");
    fx.assert_nothing_pushed();

    // A builder the node does not have: buildx's own answer, no build.
    let toml = format!("{}builder = \"nosuch\"\n", fx.config.to_toml());
    fx.home.write("ops.toml", &toml);
    let out = fx.ops().env(SECRET_VAR, "unused").arg("build").run();
    out.expect_code(6);
    out.expect_stderr_contains("no builder \"nosuch\" found");
    fx.assert_nothing_pushed();
}

/// A failing `docker-buildx` in the node user's plugin directory shadows
/// the system one, so docker on the node has no buildx (and the 28.x
/// client no BuildKit at all): the build falls back to the legacy builder.
fn without_buildx(fx: &BuildFixture) {
    let plugins = fx.node_home().join(".docker/cli-plugins");
    fs::create_dir_all(&plugins).expect("plugin dir");
    let shadow = plugins.join("docker-buildx");
    fs::write(&shadow, "#!/bin/sh\nexit 1\n").expect("write plugin");
    fs::set_permissions(&shadow, fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn without_buildx_the_legacy_builder_runs_with_one_warning() {
    ensure_buildkit();
    let fx = BuildFixture::new();
    without_buildx(&fx);
    let removals = lock_image_removals();
    let out = fx.build(&["--output", "json"]);
    drop(removals);
    out.expect_success();
    assert_registry_digests(&fx, &out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(
        all.matches("building with the legacy builder").count(),
        1,
        "{all}"
    );
    assert!(all.contains("Install docker buildx on the node"), "{all}");
}

#[test]
fn without_buildx_buildkit_keys_are_refused_before_building() {
    let fx = fixture(&format!("secrets = {{ NPM_TOKEN = \"${SECRET_VAR}\" }}\n"));
    without_buildx(&fx);
    let out = fx.ops().env(SECRET_VAR, "s3cret-value").arg("build").run();
    out.expect_code(6);
    out.expect_stderr_contains("`secrets` in [build.image] needs BuildKit");
    fx.assert_nothing_pushed();
}

/// `builder = "second"`: a Docker context of the node user that points at a
/// second engine is also a buildx builder (docker driver). The images are
/// built there, pushed from there, and never touch the shared engine.
#[test]
fn builder_routes_the_builds_to_another_buildkit() {
    ensure_buildkit();
    let engine = SecondEngine::start();
    let fx = BuildFixture::new();
    let created = Command::new("docker")
        .env("DOCKER_CONFIG", fx.node_home().join(".docker"))
        .args(["context", "create", "second", "--docker"])
        .arg(format!("host={}", engine.host()))
        .output()
        .expect("docker context create");
    assert!(created.status.success(), "{created:?}");
    fx.home.write(
        "ops.toml",
        &format!("{}builder = \"second\"\n", fx.config.to_toml()),
    );
    let out = fx.ops().args(["build", "--output", "json"]).run();
    out.expect_success();
    assert_registry_digests(&fx, &out.stdout);
    for service in SERVICES {
        assert!(
            engine.image_exists(&fx.image(service, "latest")),
            "{service}"
        );
    }
    assert_eq!(fx.node_images(), Vec::<String>::new());
}

/// Debian's own client (20.10, /usr/bin/docker) first on the node's PATH,
/// and no buildx: the client's built-in BuildKit builds, secrets included.
#[test]
fn without_buildx_an_older_client_builds_with_its_own_buildkit() {
    let secret = format!("npm-{}", random_hex(12));
    let mut fx = fixture("");
    without_buildx(&fx);
    let node = Sshd::builder()
        .authorize(fx.home.user_public_key())
        .config_line(&format!(
            "SetEnv HOME={} TMPDIR={} PATH=/usr/bin:/bin",
            fx.node_home().display(),
            fx.node_tmp().display()
        ))
        .start();
    fx.home.trust(&node);
    fx.config.target = node.destination();
    fx.node = node;
    let toml = format!(
        "{}secrets = {{ NPM_TOKEN = \"${SECRET_VAR}\" }}\n",
        fx.config.to_toml()
    );
    fx.home.write("ops.toml", &toml);
    let out = build_watching(&fx, &secret);
    out.expect_success();
    assert_registry_digests(&fx, &out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains("legacy builder"), "{all}");
    for service in SERVICES {
        let length = fx
            .registry
            .read_file_string(&fx.repo(service), "latest", "/secret-length");
        assert_eq!(length, Some(format!("{}\n", secret.len())), "{service}");
    }
    assert!(!all.contains(&secret));
}

/// The docker plugin checks its keys before anything remote happens; the
/// host still catches a misspelt one.
#[test]
fn bad_buildkit_keys_are_config_errors_at_their_lines() {
    let fx = BuildFixture::new();
    let base = fx.config.to_toml();
    let line = base.lines().count() + 1;
    fx.home.write(
        "ops.toml",
        &format!("{base}secrets = {{ NPM_TOKEN = \"literal\" }}\nplatforms = [\"amd64\"]\n"),
    );
    let before = fx.node.logins();
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{line}:"));
    out.expect_stderr_contains("must come from the environment");
    out.expect_stderr_contains(&format!("ops.toml:{}:", line + 1));
    out.expect_stderr_contains("is not os/arch");
    assert_eq!(fx.node.logins(), before, "nothing remote before the check");

    fx.home
        .write("ops.toml", &format!("{base}buildr = \"fleet\"\n"));
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    out.expect_stderr_contains("unknown key `buildr` in [build.image]; did you mean `builder`?");
}

/// A `docker` first on the node's PATH that logs each command line and
/// runs the real one: the build asks buildx which builder it has once per
/// run (during the login), not once per image.
#[test]
fn the_builder_is_probed_once_per_run() {
    ensure_buildkit();
    let shim = tempfile::tempdir().expect("shim dir");
    let log = shim.path().join("docker.log");
    let docker = shim.path().join("docker");
    fs::write(
        &docker,
        format!(
            "#!/bin/sh\necho \"$*\" >>{}\nexec /usr/local/bin/docker \"$@\"\n",
            log.display()
        ),
    )
    .expect("write shim");
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", shim.path().display());
    let fx = BuildFixture::with_node_env(&[("PATH", &path)]);
    let out = fx.build(&["--output", "json"]);
    out.expect_success();
    assert_registry_digests(&fx, &out.stdout);
    let calls = fs::read_to_string(&log).expect("shim log");
    let count = |prefix: &str| calls.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("buildx inspect"), 1, "{calls}");
    assert_eq!(count("buildx build"), SERVICES.len(), "{calls}");
    assert_eq!(count("login"), 1, "{calls}");
}
