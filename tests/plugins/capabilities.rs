//! The rogue test plugin declares remote-exec, local-exec of `touch` and `env`, and
//! env OPS_ROGUE_VAR; as an installed plugin it gets only what is granted.
//!
//! These tests load plugins through the `Registry` alone, with partial
//! grants, to test the check every host call makes (declared and granted).
//! A build never gets that far with a partial grant: the project's
//! resolution stops such a plugin before it runs (see `escalation.rs`).

use std::sync::Arc;

use ops::distribution::Registry;
use ops::exit::{Exit, ExitStatusOf};
use ops::plugin::{Limits, PluginSource, SyncOutcome, SyncRequest};

use crate::recorder::{Recorder, Reply};
use crate::support::{context, rogue_decl, rogue_section, runtime};

async fn run(
    grants: &[&str],
    action: &str,
    arg: &str,
) -> (Result<SyncOutcome, ops::plugin::PluginError>, Arc<Recorder>) {
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::new(&rt, &[rogue_decl(grants)]).unwrap();
    let rogue = registry.sync_strategy("rogue").await.unwrap();
    assert!(matches!(rogue.plugin().source(), PluginSource::Path(_)));
    let node = Arc::new(Recorder::new(|_| Reply::stdout("remote says hi")));
    let section = rogue_section(action, arg);
    let result = rogue
        .sync(
            &context(&node),
            SyncRequest {
                section: &section,
                path: "/p".into(),
                git_ref: None,
                branch: None,
            },
        )
        .await;
    (result, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_exec_without_the_grant_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let marker_arg = marker.to_str().unwrap();

    let (result, _) = run(&[], "local-exec", marker_arg).await;
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("rogue: failed to sync: capability local-exec:touch refused: not granted to plugin rogue"), "{text}");
    assert!(
        text.contains("grant = [\"local-exec:touch\"] under [plugins.rogue]"),
        "{text}"
    );
    assert!(!marker.exists(), "a refused program must not run");

    // A program the plugin never declared stays refused even with a broad grant.
    let (result, _) = run(&["local-exec"], "local-exec-other", marker_arg).await;
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("capability local-exec:sh refused: plugin rogue did not declare it"),
        "{text}"
    );
    assert!(!marker.exists(), "a refused program must not run");

    // Granted: the same call runs the real program.
    let (result, _) = run(&["local-exec:touch"], "local-exec", marker_arg).await;
    assert_eq!(result.unwrap().summary, "touch exited with code 0");
    assert!(marker.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_calls_follow_the_grants() {
    let (result, node) = run(&[], "remote-exec", "0").await;
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("capability remote-exec refused"));
    assert!(node.calls().is_empty());

    let (result, node) = run(&["remote-exec"], "remote-exec", "0").await;
    assert_eq!(
        result.unwrap().summary,
        "remote exited with code 0, stdout \"remote says hi\""
    );
    assert_eq!(node.argv(), ["sleep 0"]);

    // remote-files was never declared: refused even when granted.
    let (result, node) = run(&["remote-exec", "remote-files"], "scratch", "").await;
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("capability remote-files refused: plugin rogue did not declare it"),
        "{text}"
    );
    assert!(node.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_file_reads_are_limited_to_what_is_granted_and_named() {
    std::env::set_var("OPS_ROGUE_VAR", "rogue-value-1");
    let (result, _) = run(&["env:OPS_ROGUE_VAR"], "env", "OPS_ROGUE_VAR").await;
    assert_eq!(result.unwrap().summary, "OPS_ROGUE_VAR=rogue-value-1");
    let (result, _) = run(&[], "env", "OPS_ROGUE_VAR").await;
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("capability env:OPS_ROGUE_VAR refused: not granted"));
    let (result, _) = run(&["env"], "env", "HOME").await;
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("capability env:HOME refused: plugin rogue did not declare it"));

    let (result, _) = run(&["local-read"], "read", "/etc/passwd").await;
    let err = result.unwrap_err();
    assert!(
        err.to_string().contains("capability local-read refused"),
        "{err}"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Sync);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_grant_is_a_config_error() {
    let (rt, _cache) = runtime(Limits::default());
    let err = Registry::new(&rt, &[rogue_decl(&["network"])])
        .err()
        .unwrap();
    assert_eq!(ExitStatusOf::exit(&err), Exit::Usage);
    assert!(err.to_string().contains("unknown grant `network`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_plugin_replaces_the_builtin_with_only_its_grants() {
    use ops::config::PluginDecl;

    let git_path = crate::support::repo_root().join("plugins/dist/git.wasm");
    let decl = |grants: &[&str]| PluginDecl {
        source: ops::config::DeclSource::Path(git_path.clone()),
        name: "git".into(),
        ..rogue_decl(grants)
    };
    let section = crate::support::git_section(
        "[build]\npath = \"/p\"\n[build.git]\nrepo = \"/srv/repo.git\"\n",
        &[],
    );
    let request = |section| SyncRequest {
        section,
        path: "/p".into(),
        git_ref: None,
        branch: None,
    };
    let (rt, _cache) = runtime(Limits::default());

    let registry = Registry::new(&rt, &[decl(&[])]).unwrap();
    let names: Vec<&str> = registry.entries().map(|(n, _)| n).collect();
    assert_eq!(names, ["rsync", "docker", "buildah", "token-auth", "git"]);
    let git = registry.sync_strategy("git").await.unwrap();
    assert_eq!(git.plugin().source(), &PluginSource::Path(git_path.clone()));
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let err = git
        .sync(&context(&node), request(&section))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("capability remote-exec refused: not granted to plugin git"),
        "{err}"
    );
    assert!(node.calls().is_empty());

    // Granted remote-exec: it gets as far as running git on the node.
    let registry = Registry::new(&rt, &[decl(&["remote-exec"])]).unwrap();
    let git = registry.sync_strategy("git").await.unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::code(1)));
    let err = git
        .sync(&context(&node), request(&section))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("git clone failed (exit code 1)"),
        "{err}"
    );
    let first = &node.commands()[0];
    assert_eq!(first.program, "sh");
    assert!(
        first.args[1].contains("git clone --no-checkout"),
        "{first:?}"
    );
    // The path, the origin, what to resolve, and the submodule update's
    // options for a local origin (the checkout happens in the same script).
    assert_eq!(
        first.args[3..],
        [
            "/p",
            "/srv/repo.git",
            "ops:default-branch",
            "-c",
            "protocol.file.allow=always"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_programs_get_a_cleared_environment_and_only_granted_variables() {
    // The same value as the other test that sets it: tests run side by side.
    std::env::set_var("OPS_ROGUE_VAR", "rogue-value-1");
    std::env::set_var("OPS_TEST_UNGRANTED_SECRET", "leaked-secret-9");

    let (result, _) = run(&["local-exec:env"], "local-env", "").await;
    let env = result.unwrap().summary;
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(
        !env.contains("leaked-secret-9"),
        "an ungranted variable reached the child: {env}"
    );
    assert!(
        !env.contains("rogue-value-1"),
        "env:OPS_ROGUE_VAR was not granted: {env}"
    );

    let (result, _) = run(&["local-exec:env", "env:OPS_ROGUE_VAR"], "local-env", "").await;
    let env = result.unwrap().summary;
    assert!(
        env.lines().any(|l| l == "OPS_ROGUE_VAR=rogue-value-1"),
        "{env}"
    );
    assert!(!env.contains("leaked-secret-9"), "{env}");
}

/// `sha256 = "..."` pins the file: the right digest loads, another refuses
/// before anything is compiled or run (exit 2), naming both digests and
/// where the pin is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_digest_must_match_the_file() {
    use sha2::Digest;

    let actual = hex::encode(sha2::Sha256::digest(
        std::fs::read(crate::support::rogue_path()).unwrap(),
    ));
    let (rt, _cache) = runtime(Limits::default());
    let pinned = |hex: &str| ops::config::PluginDecl {
        sha256: Some((hex.to_owned(), crate::support::rogue_decl(&[]).location)),
        ..rogue_decl(&[])
    };
    let registry = Registry::new(&rt, &[pinned(&actual)]).unwrap();
    assert!(registry.sync_strategy("rogue").await.is_ok());

    let wrong = "0".repeat(64);
    let registry = Registry::new(&rt, &[pinned(&wrong)]).unwrap();
    let err = registry.sync_strategy("rogue").await.err().unwrap();
    assert_eq!(ExitStatusOf::exit(&err), Exit::Usage);
    assert_eq!(
        err.to_string(),
        format!(
            "plugin rogue: {} has sha256 {actual}, but ops.toml:1:1 pins sha256 = \"{wrong}\"; \
             nothing was run. If the new file is the one you want, put its digest in ops.toml",
            crate::support::rogue_path().display()
        )
    );
}

#[test]
fn a_pin_that_is_no_digest_is_a_config_error_at_its_key() {
    let toml = "[plugins.rogue]\npath = \"rogue.wasm\"\nsha256 = \"abc\"\n";
    let err = ops::config::Config::parse(std::path::Path::new("ops.toml"), toml, &|_: &str| None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ops.toml:3:"), "{err}");
    assert!(err.contains("plugins.rogue.sha256"), "{err}");
    assert!(err.contains("\"abc\" is not a sha256 digest"), "{err}");
    let upper = format!(
        "[plugins.rogue]\npath = \"r.wasm\"\nsha256 = \"sha256:{}\"\n",
        "AB".repeat(32)
    );
    let config =
        ops::config::Config::parse(std::path::Path::new("ops.toml"), &upper, &|_: &str| None)
            .unwrap();
    assert_eq!(
        config.plugins[0].sha256.as_ref().unwrap().0,
        "ab".repeat(32)
    );
}
