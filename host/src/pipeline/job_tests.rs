//! The checks of `BuildJob::new`, against the spec's example config.

use super::*;
use std::path::Path;

const SPEC_EXAMPLE: &str = r#"
[build]
node = 4
path = "/opt/builds/my-project"
command = "cargo build --release"
source = "git"
branch = "main"

[build.git]
repo = "git@github.com:org/repo"
ssh_key = "~/.ssh/deploy_key"
token = "$GITHUB_TOKEN"

[build.image]
dockerfile = "Dockerfile.prod"
registry = "ghcr.io"
token = "$GHCR_PAT"
username = "oauth2"
prefix = "ghcr.io/org/project"
binary_arg = "SERVICE_BINARY"
services = ["api", "worker", "web"]
"#;

fn config(text: &str) -> Config {
    let env = |name: &str| Some(format!("value-of-{name}"));
    Config::parse(Path::new("ops.toml"), text, &env).unwrap()
}

/// Settings as `ops LINE` gives them (the options these tests use).
fn args(line: &str) -> BuildSettings {
    let mut settings = BuildSettings::defaults("ops.toml");
    let mut words = line.split_whitespace().skip(1);
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next().map(str::to_owned))
                .unwrap()
        };
        match flag {
            "--ref" => settings.git_ref = Some(value().parse().unwrap()),
            "--service" | "-s" => settings.service = Some(value()),
            "--tag" | "-t" => settings.tag = value().parse().unwrap(),
            "--no-push" => settings.push = false,
            "-j" | "--jobs" => settings.jobs = value().parse().unwrap(),
            other => panic!("option {other} not known to these tests"),
        }
    }
    settings
}

fn error(text: &str, line: &str) -> String {
    BuildJob::new(&config(text), &args(line))
        .unwrap_err()
        .to_string()
}

#[test]
fn spec_example_builds_all_services() {
    let job = BuildJob::new(&config(SPEC_EXAMPLE), &args("build")).unwrap();
    assert_eq!(job.path, "/opt/builds/my-project");
    assert_eq!(job.sync_plugin.as_str(), "git");
    assert_eq!(job.branch.as_ref().map(|b| b.as_str()), Some("main"));
    assert!(job.push);
    assert_eq!(job.jobs, 5);
    let images = job.images.unwrap();
    assert!(images.login);
    assert_eq!(images.dockerfile, "Dockerfile.prod");
    let refs: Vec<_> = images
        .plans
        .iter()
        .map(|p| p.reference.to_string())
        .collect();
    assert_eq!(
        refs,
        [
            "ghcr.io/org/project/api:latest",
            "ghcr.io/org/project/worker:latest",
            "ghcr.io/org/project/web:latest"
        ]
    );
}

#[test]
fn spec_options() {
    let c = config(SPEC_EXAMPLE);
    let job = BuildJob::new(&c, &args("build --ref v1.2.0")).unwrap();
    assert_eq!(job.git_ref.as_ref().map(|r| r.as_str()), Some("v1.2.0"));
    let job = BuildJob::new(&c, &args("build --service api")).unwrap();
    assert_eq!(job.images.unwrap().plans.len(), 1);
    let job = BuildJob::new(&c, &args("build --tag abc123 --no-push")).unwrap();
    assert!(!job.push);
    assert!(job.images.unwrap().plans[0]
        .reference
        .to_string()
        .ends_with(":abc123"));
    assert_eq!(BuildJob::new(&c, &args("build -j 3")).unwrap().jobs, 3);
}

#[test]
fn bad_command_line_values() {
    assert_eq!(
        error(SPEC_EXAMPLE, "build --service db"),
        "--service \"db\" is not one of build.image.services: api, worker, web"
    );
    assert!(error(SPEC_EXAMPLE, "build -j 0").contains("at least 1"));
    // A bad --tag cannot reach a BuildJob: clap parses it into a `Tag`
    // (cli::args::tests::a_bad_tag_is_refused_when_the_command_line_is_read).
    // Nor a bad --ref (cli::args::tests::a_bad_ref_is_refused_when_the_command_line_is_read).
}

#[test]
fn missing_keys_point_at_the_file() {
    let text = "[build]\ncommand = \"make\"\n";
    let e = error(text, "build");
    assert!(e.starts_with("ops.toml:1:"), "{e}");
    assert!(e.contains("build.path"), "{e}");
    let e = error("project = \"x\"\n", "build");
    assert!(e.starts_with("ops.toml:1:1:"), "{e}");
    assert!(e.contains("build"), "{e}");
}

#[test]
fn registry_defaults_to_the_prefix_host() {
    let text = SPEC_EXAMPLE.replace("registry = \"ghcr.io\"\n", "");
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    assert_eq!(
        job.images.unwrap().registry.as_ref().map(|r| r.as_str()),
        Some("ghcr.io")
    );
    let text = text.replace("ghcr.io/org/project", "org/project");
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    assert_eq!(
        job.images.unwrap().registry.as_ref().map(|r| r.as_str()),
        Some("docker.io")
    );
}

#[test]
fn no_image_section_means_sync_and_build_only() {
    let text = "[build]\npath = \"/b\"\ncommand = \"make\"\n[build.git]\nrepo = \"/r.git\"\n";
    let job = BuildJob::new(&config(text), &args("build")).unwrap();
    assert!(job.images.is_none());
    assert!(error(text, "build --service api").contains("no [build.image] section"));
}

#[test]
fn push_source_refuses_ref() {
    let text = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"push\"\n";
    let job = BuildJob::new(&config(text), &args("build")).unwrap();
    assert_eq!(job.sync_section.path, "build.push");
    let e = error(text, "build --ref main");
    assert!(e.starts_with("ops.toml:4:"), "{e}");
    assert!(
        e.contains("--ref cannot be used with source = \"push\""),
        "{e}"
    );
}

#[test]
fn the_image_builders_keys_are_left_to_it() {
    // `dockerfile` and every key the host does not use are the image
    // builder's to check (its `validate`); the host only passes the
    // Dockerfile on.
    let text = SPEC_EXAMPLE.replace(
        "\"Dockerfile.prod\"",
        "\"../Dockerfile\"\nsquash = true\nplugin = \"kaniko\"",
    );
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    let images = job.images.unwrap();
    assert_eq!(images.dockerfile, "../Dockerfile");
    assert_eq!(images.builder.as_str(), "kaniko");
    assert!(images.section.entries.iter().any(|e| e.key == "squash"));
    let text = SPEC_EXAMPLE.replace("dockerfile = \"Dockerfile.prod\"\n", "");
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    assert_eq!(job.images.unwrap().dockerfile, "Dockerfile");
}

#[test]
fn a_plugin_source_gets_its_own_section() {
    let text = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"acme-sync\"\n\
                [build.acme-sync]\nurl = \"https://x/t.tgz\"\n";
    let job = BuildJob::new(&config(text), &args("build")).unwrap();
    assert_eq!(job.sync_plugin.as_str(), "acme-sync");
    assert_eq!(job.sync_section.path, "build.acme-sync");
    assert_eq!(job.sync_section.entries[0].key, "url");
    let bare = "[build]\npath = \"/b\"\ncommand = \"make\"\nsource = \"acme-sync\"\n";
    let job = BuildJob::new(&config(bare), &args("build")).unwrap();
    assert_eq!(job.sync_section.path, "build.acme-sync");
    assert!(job.sync_section.entries.is_empty());
}

#[test]
fn a_third_party_auth_gets_its_section_and_the_credentials() {
    let text = format!("{SPEC_EXAMPLE}auth = \"vault\"\n[build.vault]\nrole = \"ci\"\n");
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    let images = job.images.unwrap();
    assert_eq!(images.auth.as_str(), "vault");
    assert_eq!(images.auth_section.path, "build.vault");
    let keys: Vec<_> = images
        .auth_section
        .entries
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(keys, ["registry", "token", "username", "role"]);
    let job = BuildJob::new(&config(SPEC_EXAMPLE), &args("build")).unwrap();
    let images = job.images.unwrap();
    assert_eq!(
        (images.builder.as_str(), images.auth.as_str()),
        ("docker", "token-auth")
    );
    assert_eq!(images.auth_section.path, "build.image");
}

#[test]
fn a_named_auth_plugin_logs_in_without_a_token() {
    let tokenless: String = SPEC_EXAMPLE
        .lines()
        .filter(|l| !l.trim_start().starts_with("token"))
        .map(|l| format!("{l}\n"))
        .collect();
    let job = BuildJob::new(&config(&tokenless), &args("build")).unwrap();
    assert!(!job.images.unwrap().login, "no token, no auth: no login");
    let text = format!("{tokenless}auth = \"exchange\"\n[build.exchange]\nclient_id = \"ci\"\n");
    let images = BuildJob::new(&config(&text), &args("build"))
        .unwrap()
        .images
        .unwrap();
    assert!(images.login);
    assert_eq!(images.auth.as_str(), "exchange");
}

#[test]
fn invalid_image_values_name_their_key_and_line() {
    let bad_service = SPEC_EXAMPLE.replace("\"web\"]", "\"Web;rm\"]");
    let e = error(&bad_service, "build");
    assert!(e.starts_with("ops.toml:21:"), "{e}");
    assert!(
        e.contains("\"Web;rm\" is not a valid image name component"),
        "{e}"
    );
    let bad_prefix = SPEC_EXAMPLE.replace("ghcr.io/org/project", "ghcr.io/Org");
    assert!(error(&bad_prefix, "build").contains("build.image.prefix"));
    let bad_arg = SPEC_EXAMPLE.replace("SERVICE_BINARY", "SERVICE-BINARY");
    assert!(error(&bad_arg, "build").contains("not a valid Dockerfile ARG name"));
    let twice = SPEC_EXAMPLE.replace("\"web\"]", "\"api\"]");
    let e = error(&twice, "build");
    assert!(
        e.starts_with("ops.toml:21:") && e.contains("\"api\" is listed twice"),
        "{e}"
    );
    let registry = SPEC_EXAMPLE.replace("registry = \"ghcr.io\"", "registry = \"-x;id\"");
    let e = error(&registry, "build");
    assert!(
        e.starts_with("ops.toml:16:") && e.contains("is not a registry host"),
        "{e}"
    );
}

#[test]
fn without_a_push_the_image_builder_gets_no_token() {
    let keys = |line: &str| -> Vec<String> {
        let job = BuildJob::new(&config(SPEC_EXAMPLE), &args(line)).unwrap();
        let section = job.images.unwrap().section;
        section.entries.iter().map(|e| e.key.clone()).collect()
    };
    assert!(keys("build").contains(&"token".to_owned()));
    let unpushed = keys("build --no-push");
    assert!(!unpushed.contains(&"token".to_owned()), "{unpushed:?}");
    assert!(unpushed.contains(&"username".to_owned()), "{unpushed:?}");
}

#[test]
fn artifacts_are_checked_each_at_its_own_column() {
    let text = SPEC_EXAMPLE.replace(
        "branch = \"main\"",
        "branch = \"main\"\nartifacts = [\"target/release/api\", \"../x\"]",
    );
    let err = BuildJob::new(&config(&text), &args("build"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ops.toml:8:36"), "{err}");
    assert!(
        err.contains("build.artifacts") && err.contains("`..`"),
        "{err}"
    );

    let text = SPEC_EXAMPLE.replace("branch = \"main\"", "artifacts = \"api\"");
    let env = |name: &str| Some(format!("value-of-{name}"));
    let err = Config::parse(Path::new("ops.toml"), &text, &env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("build.artifacts") && err.contains("a list of strings"),
        "{err}"
    );

    let text = SPEC_EXAMPLE.replace("branch = \"main\"", "artifacts = [\"dist/*.tgz\"]");
    let job = BuildJob::new(&config(&text), &args("build")).unwrap();
    assert_eq!(job.artifacts, ["dist/*.tgz"]);
    assert_eq!(job.artifacts_dir, Path::new("./ops-artifacts"));
}
