//! `[hooks]` against the real node and registry: each hook runs locally in
//! the project's folder with the run's `OPS_*` variables and without the
//! registry token; a failing `pre_build` stops the run before any
//! connection; a failing `post_push` fails the run with the images pushed;
//! `on_failure` hears which step failed and its exit code; `--no-hooks`
//! skips them; an untrusted file's hooks are refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::support::build::{json_events, BuildFixture, TOKEN_VAR};
use crate::support::git;
use crate::support::ops::OpsOutput;
use crate::support::sshd::Sshd;

/// Every hook writes its whole environment to `<hook>.env` in the project
/// folder, and says a line under its label.
const ALL_HOOKS: &str = "[hooks]\n\
    pre_build = \"env > pre_build.env; echo checking\"\n\
    post_build = \"env > post_build.env\"\n\
    post_push = \"env > post_push.env; echo notified\"\n\
    on_failure = \"env > on_failure.env; echo 'step '$OPS_FAILED_STEP' code '$OPS_EXIT_CODE\"\n";

fn connections(sshd: &Sshd) -> usize {
    sshd.log().matches("Connection from").count()
}

/// Writes ops.toml with `hooks` after the fixture's config.
fn write_with_hooks(fx: &BuildFixture, hooks: &str) {
    fx.home
        .write("ops.toml", &format!("{}\n{hooks}", fx.config.to_toml()));
}

/// Writes ops.toml with `hooks` and trusts it, as the user would.
fn trusted(fx: &BuildFixture, hooks: &str) {
    write_with_hooks(fx, hooks);
    fx.ops()
        .arg("trust")
        .run()
        .expect_success()
        .expect_stdout_contains("hooks.");
}

fn hook_file(fx: &BuildFixture, hook: &str) -> PathBuf {
    fx.home.path().join(format!("{hook}.env"))
}

/// `<hook>.env` as variables; `OPS_IMAGES` may span lines, so only the
/// `OPS_*` names and the registry token are looked at by the callers.
#[track_caller]
fn hook_env(fx: &BuildFixture, hook: &str) -> (String, BTreeMap<String, String>) {
    let path = hook_file(fx, hook);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{hook} did not run ({}: {e})", path.display()));
    let mut vars = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        match line.split_once('=') {
            Some((name, value)) if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                vars.insert(name.to_owned(), value.to_owned());
                last = Some(name.to_owned());
            }
            // A value's next line (OPS_IMAGES holds one image a line).
            _ => {
                if let Some(value) = last.as_ref().and_then(|n| vars.get_mut(n)) {
                    value.push('\n');
                    value.push_str(line);
                }
            }
        }
    }
    (text, vars)
}

#[track_caller]
fn assert_no_token(fx: &BuildFixture, text: &str) {
    assert!(
        !text.contains(fx.registry.token()),
        "the registry token reached a hook:\n{text}"
    );
    assert!(
        !text.contains(TOKEN_VAR),
        "{TOKEN_VAR} reached a hook:\n{text}"
    );
}

#[test]
fn each_hook_runs_locally_with_the_run_variables_and_never_the_token() {
    let fx = BuildFixture::new();
    trusted(&fx, ALL_HOOKS);
    let before = fx.node.logins();
    let out = fx
        .ops()
        .args([
            "build",
            "--service",
            "api",
            "--tag",
            "hooked",
            "--ref",
            "main",
        ])
        .run();
    out.expect_success()
        .expect_stderr_contains("==> pre_build: env > pre_build.env")
        .expect_stderr_contains("[pre_build] checking")
        .expect_stderr_contains("[post_push] notified");
    assert_eq!(fx.node.logins() - before, 1, "{}", fx.node.log());

    let commit = fx.origin.rev_parse(git::MAIN);
    let digest = fx
        .registry
        .digest(&fx.repo("api"), "hooked")
        .expect("api:hooked is pushed");
    let image = fx.image("api", "hooked");
    for hook in ["pre_build", "post_build", "post_push"] {
        let (text, vars) = hook_env(&fx, hook);
        assert_no_token(&fx, &text);
        let var = |name: &str| vars.get(name).map(String::as_str);
        assert_eq!(var("OPS_PROJECT"), Some("hello"), "{hook}:\n{text}");
        assert_eq!(var("OPS_TAG"), Some("hooked"), "{hook}");
        assert_eq!(var("OPS_REF"), Some("main"), "{hook}");
        assert_eq!(var("OPS_NODE"), Some(fx.config.target.as_str()), "{hook}");
        assert_eq!(var("OPS_SERVICES"), Some("api"), "{hook}");
        // Before the sync only a commit id given as --ref is known.
        let expected_commit = if hook == "pre_build" { "" } else { &commit };
        assert_eq!(var("OPS_COMMIT"), Some(expected_commit), "{hook}");
        let expected_images = (hook == "post_push").then(|| format!("api {image}@{digest}"));
        assert_eq!(var("OPS_IMAGES"), expected_images.as_deref(), "{hook}");
        assert_eq!(var("OPS_FAILED_STEP"), None, "{hook}");
        // The rest of ops's own environment is there.
        assert!(var("PATH").is_some() && var("HOME").is_some(), "{hook}");
    }
    assert!(!hook_file(&fx, "on_failure").exists(), "on_failure ran");
}

#[test]
fn a_failing_pre_build_stops_the_run_before_any_connection() {
    let fx = BuildFixture::new();
    let hooks = ALL_HOOKS.replace("echo checking", "echo not-formatted >&2; exit 4");
    trusted(&fx, &hooks);
    let (logins, connected) = (fx.node.logins(), connections(&fx.node));
    let out = fx.ops().args(["build", "--output", "json"]).run();
    out.expect_code(9);
    assert_eq!(connections(&fx.node), connected, "{}", fx.node.log());
    assert_eq!(fx.node.logins(), logins);
    assert!(!fx.build_path().exists(), "the build path was made");
    fx.assert_nothing_pushed();
    assert!(!hook_file(&fx, "post_build").exists());

    let events = json_events(&out.stdout);
    let hook_line = events.iter().any(|e| {
        e["event"] == "output" && e["label"] == "pre_build" && e["line"] == "not-formatted"
    });
    assert!(hook_line, "{}", out.stdout);
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("an error event");
    assert_eq!(error["code"], 9);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("pre_build hook"), "{message}");
    assert!(message.contains("did not connect"), "{message}");

    let (text, vars) = hook_env(&fx, "on_failure");
    assert_no_token(&fx, &text);
    assert_eq!(
        vars.get("OPS_FAILED_STEP").map(String::as_str),
        Some("pre_build")
    );
    assert_eq!(vars.get("OPS_EXIT_CODE").map(String::as_str), Some("9"));
}

#[test]
fn a_failing_post_push_fails_the_run_and_leaves_the_images_pushed() {
    let fx = BuildFixture::new();
    let hooks = ALL_HOOKS.replace("echo notified", "exit 1");
    trusted(&fx, &hooks);
    let out = fx
        .ops()
        .args(["build", "--service", "api", "--output", "json"])
        .run();
    out.expect_code(9);
    assert_eq!(fx.service_info("api", "latest").version, "hello main");
    let events = json_events(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["event"] == "summary")
        .expect("a summary");
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["images"][0]["status"], "pushed");
    let error = events.iter().find(|e| e["event"] == "error").unwrap();
    assert_eq!(error["code"], 9);
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("the images stay pushed")),
        "{error}"
    );
    let (_, vars) = hook_env(&fx, "on_failure");
    assert_eq!(
        vars.get("OPS_FAILED_STEP").map(String::as_str),
        Some("post_push")
    );
    assert_eq!(vars.get("OPS_EXIT_CODE").map(String::as_str), Some("9"));
    let images = vars.get("OPS_IMAGES").cloned().unwrap_or_default();
    assert!(
        images.starts_with(&format!("api {}@sha256:", fx.image("api", "latest"))),
        "{images}"
    );
}

#[test]
fn a_failed_artifact_fetch_beside_the_image_builds_is_the_failed_step() {
    let mut fx = BuildFixture::new();
    fx.image_config().services = vec!["api".into()];
    fx.config.artifacts = vec!["no/such/file".into()];
    trusted(&fx, ALL_HOOKS);
    fx.ops().args(["build", "--no-push"]).run().expect_code(10);
    let (_, vars) = hook_env(&fx, "on_failure");
    assert_eq!(
        vars.get("OPS_FAILED_STEP").map(String::as_str),
        Some("artifacts")
    );
    assert_eq!(vars.get("OPS_EXIT_CODE").map(String::as_str), Some("10"));
}

#[test]
fn on_failure_hears_the_failed_step_and_its_exit_code() {
    let mut fx = BuildFixture::new();
    fx.config.command = "echo broken >&2; exit 3".into();
    trusted(&fx, ALL_HOOKS);
    let out = fx.ops().args(["build", "--output", "json"]).run();
    out.expect_code(5);
    let (text, vars) = hook_env(&fx, "on_failure");
    assert_no_token(&fx, &text);
    assert_eq!(
        vars.get("OPS_FAILED_STEP").map(String::as_str),
        Some("build")
    );
    assert_eq!(vars.get("OPS_EXIT_CODE").map(String::as_str), Some("5"));
    assert_eq!(vars.get("OPS_IMAGES").map(String::as_str), Some(""));
    assert!(!hook_file(&fx, "post_build").exists(), "post_build ran");
    let said = json_events(&out.stdout).into_iter().any(|e| {
        e["event"] == "output" && e["label"] == "on_failure" && e["line"] == "step build code 5"
    });
    assert!(said, "{}", out.stdout);
}

#[test]
fn an_untrusted_projects_hooks_are_refused_and_no_hooks_builds_without_them() {
    let fx = BuildFixture::new();
    write_with_hooks(&fx, ALL_HOOKS);
    let connected = connections(&fx.node);
    let refused: OpsOutput = fx.ops().args(["build", "--service", "api"]).run();
    refused
        .expect_code(2)
        .expect_stderr_contains("needs your trust")
        .expect_stderr_contains("hooks.pre_build runs `env > pre_build.env; echo checking`")
        .expect_stderr_contains("ops trust -f ops.toml")
        .expect_stderr_contains("ops build --no-hooks");
    assert_eq!(connections(&fx.node), connected, "{}", fx.node.log());
    assert!(!hook_file(&fx, "pre_build").exists());
    // Checking the file or a dry run, which run no hook, need no trust
    // for them; the plan shows them.
    fx.ops().args(["config", "check"]).run().expect_success();
    fx.ops()
        .args(["build", "--dry-run"])
        .run()
        .expect_success()
        .expect_stderr_contains("hooks, run on this machine with sh -c:")
        .expect_stderr_contains("  post_push: env > post_push.env; echo notified");
    assert!(
        !hook_file(&fx, "pre_build").exists(),
        "a dry run ran a hook"
    );

    fx.ops()
        .args(["build", "--service", "api", "--no-hooks"])
        .run()
        .expect_success();
    for hook in ["pre_build", "post_build", "post_push", "on_failure"] {
        assert!(!hook_file(&fx, hook).exists(), "{hook} ran with --no-hooks");
    }
    assert_eq!(fx.service_info("api", "latest").version, "hello main");

    // Trusted, then a hook changed: asked again.
    fx.ops().arg("trust").run().expect_success();
    write_with_hooks(&fx, &ALL_HOOKS.replace("echo checking", "echo changed"));
    fx.ops()
        .args(["build", "--service", "api"])
        .run()
        .expect_code(2)
        .expect_stderr_contains("echo changed");
}

#[test]
fn a_failing_post_build_stops_the_run_before_any_image() {
    let fx = BuildFixture::new();
    let hooks = ALL_HOOKS.replace("env > post_build.env", "env > post_build.env; exit 2");
    assert_ne!(hooks, ALL_HOOKS);
    trusted(&fx, &hooks);
    let out = fx.ops().args(["build", "--service", "api"]).run();
    out.expect_code(9)
        .expect_stderr_contains("post_build hook")
        .expect_stderr_contains("no image was built");
    fx.assert_nothing_pushed();
    assert!(fx.node_images().is_empty(), "{:?}", fx.node_images());
    // The build command's work stays on the node.
    assert!(fx.build_path().exists());
    let (_, vars) = hook_env(&fx, "on_failure");
    assert_eq!(
        vars.get("OPS_FAILED_STEP").map(String::as_str),
        Some("post_build")
    );
    assert_eq!(vars.get("OPS_EXIT_CODE").map(String::as_str), Some("9"));
}
