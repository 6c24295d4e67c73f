//! The harness itself against the real parts: what the build tests rely on
//! when they read results back from the registry and clone git origins.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::docker::Docker;
use crate::support::git::{self, GitOrigin};
use crate::support::registry::Registry;

/// A copy of examples/hello with its build already run, as a build node
/// would have it before `docker build`.
fn built_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git::copy_tree(&git::example_dir(), dir.path());
    let status = Command::new("sh")
        .arg("build.sh")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "examples/hello build.sh failed");
    dir
}

fn text(bytes: Option<Vec<u8>>) -> Option<String> {
    bytes.map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn pushed_image_reads_back_over_the_registry_api() {
    let registry = Registry::start();
    let docker = Docker::new();
    docker.login_to(&registry);
    let example = built_example();

    let image = registry.image("infra/api");
    let tag = format!("{image}:latest");
    docker.build(
        example.path(),
        "Dockerfile.prod",
        &tag,
        &[("SERVICE_BINARY", "api")],
    );
    let pushed = docker.push(&tag);
    // Only the registry can answer from here on.
    docker.remove_image(&tag);
    assert!(!docker.image_exists(&tag));

    assert_eq!(registry.catalog(), vec!["infra/api".to_owned()]);
    assert_eq!(registry.tags("infra/api"), vec!["latest".to_owned()]);
    let manifest = registry.manifest("infra/api", "latest").unwrap();
    assert_eq!(manifest.digest, pushed);
    assert_eq!(
        manifest.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(registry.digest("infra/api", &pushed), Some(pushed.clone()));

    let info = text(registry.read_file("infra/api", "latest", "/service.txt")).unwrap();
    assert!(info.starts_with("service=api\n"), "{info}");
    assert!(info.contains("version=hello 1\n"), "{info}");
    let program = text(registry.read_file("infra/api", "latest", "/app/api")).unwrap();
    assert!(program.contains("echo \"api hello 1\""), "{program}");
    assert_eq!(registry.read_file("infra/api", "latest", "/app/web"), None);
    assert_eq!(
        registry.read_file("infra/api", "nope", "/service.txt"),
        None
    );
    assert_eq!(
        registry.read_file("infra/none", "latest", "/service.txt"),
        None
    );
    assert!(registry.tags("infra/none").is_empty());
}

#[test]
fn later_layers_win_when_reading_files() {
    let registry = Registry::start();
    let docker = Docker::new();
    docker.login_to(&registry);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("one.txt"), "one\n").unwrap();
    fs::write(dir.path().join("two.txt"), "two\n").unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY one.txt /f.txt\nCOPY one.txt /keep.txt\nCOPY two.txt /f.txt\n",
    )
    .unwrap();
    let tag = format!("{}:v2", registry.image("infra/layers"));
    docker.build(dir.path(), "Dockerfile", &tag, &[]);
    docker.push(&tag);
    docker.remove_image(&tag);

    let manifest = registry.manifest("infra/layers", "v2").unwrap();
    assert_eq!(manifest.json["layers"].as_array().unwrap().len(), 3);
    assert_eq!(
        text(registry.read_file("infra/layers", "v2", "/f.txt")).as_deref(),
        Some("two\n")
    );
    assert_eq!(
        text(registry.read_file("infra/layers", "v2", "keep.txt")).as_deref(),
        Some("one\n")
    );
}

#[test]
fn registry_refuses_wrong_and_missing_credentials() {
    let registry = Registry::start();
    let docker = Docker::new();

    let refused = docker.login(&registry.host(), registry.username(), "not-the-token");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.to_lowercase().contains("unauthorized"), "{err}");

    let anonymous = registry.get_as("/v2/_catalog", None).unwrap();
    assert_eq!(anonymous.status, 401);
    let wrong = registry
        .get_as("/v2/_catalog", Some((registry.username(), "not-the-token")))
        .unwrap();
    assert_eq!(wrong.status, 401);
    let right = registry
        .get_as(
            "/v2/_catalog",
            Some((registry.username(), registry.token())),
        )
        .unwrap();
    assert_eq!(right.status, 200);

    // Without a login, a push is refused and leaves nothing behind.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY a.txt /a.txt\n",
    )
    .unwrap();
    let tag = format!("{}:latest", registry.image("infra/anon"));
    docker.build(dir.path(), "Dockerfile", &tag, &[]);
    let push = docker.output(&["push", &tag]);
    docker.remove_image(&tag);
    assert!(!push.status.success());
    assert!(registry.catalog().is_empty());

    // The login the harness does leaves credentials only in its own config.
    docker.login_to(&registry);
    let config = fs::read_to_string(docker.config_dir().join("config.json")).unwrap();
    assert!(config.contains(&registry.host()), "{config}");
}

#[test]
fn local_origin_has_branches_tags_and_a_submodule() {
    let origin = GitOrigin::local();
    let main = origin.rev_parse(git::MAIN);
    let release = origin.rev_parse(git::RELEASE_TAG);
    let feature = origin.rev_parse(git::FEATURE);
    assert_ne!(main, release);
    assert_ne!(feature, release);
    assert_eq!(origin.rev_parse(git::LIGHT_TAG), main);
    assert_eq!(origin.file_at(git::RELEASE_TAG, "VERSION"), "hello 1.0.0");
    assert_eq!(origin.file_at(git::FEATURE, "VERSION"), "hello feature");
    assert_eq!(origin.file_at(&main, "VERSION"), "hello main");

    // A plain clone gets HEAD = main, and the submodule through its
    // relative URL.
    let clones = tempfile::tempdir().unwrap();
    git::git(
        clones.path(),
        &[
            "-c",
            "protocol.file.allow=always",
            "clone",
            "-q",
            "--recurse-submodules",
            &origin.url(),
            "hello",
        ],
    );
    let clone = clones.path().join("hello");
    assert_eq!(git::git(&clone, &["rev-parse", "HEAD"]), main);
    assert_eq!(
        fs::read_to_string(clone.join(git::SUBMODULE_PATH).join("VERSION")).unwrap(),
        "greeting 0.1\n"
    );
    assert!(clone.join("Dockerfile.prod").is_file());

    // New history shows up in the origin.
    let sha = origin.commit("bump", &[("VERSION", "hello 2\n")]);
    assert_eq!(origin.rev_parse(git::MAIN), sha);
    origin.tag("v2", &sha, Some("two"));
    assert_eq!(origin.rev_parse("v2"), sha);
    origin.checkout("hotfix", git::RELEASE_TAG);
    let fix = origin.commit("fix", &[("FIX", "1\n")]);
    assert_eq!(origin.rev_parse("hotfix"), fix);
    origin.set_default_branch("hotfix");
    let again = clones.path().join("again");
    git::git(
        clones.path(),
        &["clone", "-q", &origin.url(), again.to_str().unwrap()],
    );
    assert_eq!(git::git(&again, &["rev-parse", "HEAD"]), fix);
    assert!(Path::new(&again.join("FIX")).is_file());
}

#[test]
fn ssh_origin_takes_the_deploy_key_and_no_other() {
    let origin = GitOrigin::local();
    let ssh = origin.over_ssh();
    assert!(ssh.url().starts_with("ssh://"), "{}", ssh.url());

    let clones = tempfile::tempdir().unwrap();
    let clone = |name: &str, ssh_command: &str| {
        git::git_command(clones.path())
            .env("GIT_SSH_COMMAND", ssh_command)
            .env_remove("SSH_AUTH_SOCK")
            .args(["clone", "-q", "--recurse-submodules", ssh.url(), name])
            .output()
            .unwrap()
    };

    let out = clone("hello", &ssh.git_ssh_command());
    assert!(
        out.status.success(),
        "clone over ssh failed:\n{}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        ssh.sshd().log()
    );
    let checkout = clones.path().join("hello");
    assert_eq!(
        git::git(&checkout, &["rev-parse", "HEAD"]),
        origin.rev_parse(git::MAIN)
    );
    // The submodule came over SSH too (relative URL), with the same key.
    assert_eq!(
        fs::read_to_string(checkout.join(git::SUBMODULE_PATH).join("VERSION")).unwrap(),
        "greeting 0.1\n"
    );
    assert!(ssh.sshd().logins() >= 2, "{}", ssh.sshd().log());

    // Another key is refused, and so is an unknown host key.
    let stranger = git::DeployKey::generate();
    let out = clone(
        "stranger",
        &git::git_ssh_command(stranger.private_key_path(), ssh.known_hosts_path()),
    );
    assert!(!out.status.success());
    let empty = clones.path().join("empty_known_hosts");
    fs::write(&empty, "").unwrap();
    let out = clone(
        "unknown-host",
        &git::git_ssh_command(ssh.key().private_key_path(), &empty),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Host key verification failed"), "{err}");
}
