use std::sync::Arc;

use base64::Engine as _;
use ops::distribution::Registry;
use ops::exit::{Exit, ExitStatusOf};
use ops::plugin::{Limits, SyncRequest, ValidationError};

use crate::recorder::{Call, Recorder, Reply, SCRATCH};
use crate::support::{context, git_section, runtime};

const SHA: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
const TAG_SHA: &str = "ffffeeeeddddccccbbbbaaaa9999888877776666";

fn build(git: &str) -> String {
    format!(
        "[build]\npath = \"/opt/b/p\"\ncommand = \"make\"\nsource = \"git\"\n\n[build.git]\n{git}"
    )
}

async fn validate(git: &str, env: &[(&str, &str)]) -> Result<(), ValidationError> {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("deploy_key"), "key").unwrap();
    validate_in(root.path(), git, env).await
}

/// Validates with `root` as the project root (where relative paths start).
async fn validate_in(
    root: &std::path::Path,
    git: &str,
    env: &[(&str, &str)],
) -> Result<(), ValidationError> {
    let (rt, _dir) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let plugin = registry.sync_strategy("git").await.unwrap();
    let ctx = ops::plugin::CallContext::new(crate::support::quiet_printer(), root);
    plugin.validate(&ctx, &git_section(&build(git), env)).await
}

fn errors(result: Result<(), ValidationError>) -> Vec<String> {
    match result {
        Err(ValidationError::Invalid(errors)) => errors.iter().map(|e| e.to_string()).collect(),
        other => panic!("expected config errors, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_accepts_the_spec_sections() {
    // `deploy_key` exists in the project root that `validate` sets up.
    validate(
        "repo = \"git@github.com:org/repo\"\nssh_key = \"deploy_key\"\n",
        &[],
    )
    .await
    .unwrap();
    validate(
        "repo = \"https://github.com/org/repo\"\ntoken = \"$GITHUB_TOKEN\"\n",
        &[("GITHUB_TOKEN", "ghp_x1")],
    )
    .await
    .unwrap();
    validate(
        "repo = \"ssh://git@127.0.0.1:2222/srv/repo.git\"\nssh_key = \"deploy_key\"\nknown_hosts = [\"[127.0.0.1]:2222 ssh-ed25519 AAAA\"]\n",
        &[],
    )
    .await
    .unwrap();
    validate("repo = \"/srv/git/repo.git\"\n", &[])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reads_the_ssh_key_before_anything_remote() {
    let root = tempfile::tempdir().unwrap();
    let e = errors(
        validate_in(
            root.path(),
            "repo = \"git@github.com:org/repo\"\nssh_key = \"missing_key\"\n",
            &[],
        )
        .await,
    );
    assert_eq!(e.len(), 1, "{e:?}");
    let missing = root.path().join("missing_key");
    assert_eq!(
        e[0],
        format!(
            "ops.toml:8:11: `build.git.ssh_key`: cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_rejects_with_precise_errors() {
    // Lines: 1 [build], 2 path, 3 command, 4 source, 5 blank, 6 [build.git], 7...
    let e = errors(validate("reop = \"git@h:o/r\"\n", &[]).await);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e[0],
        "ops.toml:7:8: `build.git.reop`: unknown key `reop` in [build.git]; did you mean `repo`?"
    );
    assert!(
        e[1].starts_with("ops.toml:6:1: `build.git.repo`: missing `repo`"),
        "{e:?}"
    );

    let e = errors(
        validate(
            "repo = \"git@github.com:org/repo\"\ntoken = \"$T\"\n",
            &[("T", "abcdefgh")],
        )
        .await,
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("ops.toml:8:9: `build.git.token`: `token` authenticates HTTPS only"),
        "{e:?}"
    );
    assert!(!e[0].contains("abcdefgh"));

    let e = errors(
        validate(
            "repo = \"https://github.com/org/repo\"\nssh_key = \"~/.ssh/k\"\n",
            &[],
        )
        .await,
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "ops.toml:8:11: `build.git.ssh_key`: `ssh_key` only works with an SSH repo URL"
        ),
        "{e:?}"
    );

    let e = errors(validate("repo = 42\n", &[]).await);
    assert!(e[0].contains("`repo` must be a string"), "{e:?}");

    let e = errors(
        validate(
            "repo = \"https://h/r\"\nknown_hosts = \"h ssh-ed25519 AAAA\"\n",
            &[],
        )
        .await,
    );
    assert!(
        e[0].contains("`known_hosts` is only used with an SSH repo URL"),
        "{e:?}"
    );
    assert_eq!(
        ExitStatusOf::exit(&validate("repo = 1\n", &[]).await.unwrap_err()),
        Exit::Usage
    );
}

/// A node where the checkout does not exist yet, `main` is the default
/// branch at SHA, and tag v1.2.0 is at TAG_SHA.
fn fresh_node(exists: bool) -> Arc<Recorder> {
    Arc::new(Recorder::new(move |cmd| {
        let args: Vec<&str> = cmd.args.iter().map(String::as_str).collect();
        match (cmd.program.as_str(), args.as_slice()) {
            // The fetch-or-clone script says when it found a clone.
            ("sh", ["-c", script, "sh", path, ..]) if script.contains("git clone") => {
                if exists {
                    Reply::stdout(&format!("updating the existing clone in {path}\n"))
                } else {
                    Reply::ok()
                }
            }
            ("git", ["-C", _, "symbolic-ref", ..]) => Reply::stdout("refs/remotes/origin/main\n"),
            ("git", ["-C", _, "rev-parse", "--verify", "--quiet", rev]) => match *rev {
                "refs/remotes/origin/main^{commit}" => Reply::stdout(&format!("{SHA}\n")),
                "refs/tags/v1.2.0^{commit}" => Reply::stdout(&format!("{TAG_SHA}\n")),
                _ => Reply::code(1),
            },
            _ => Reply::ok(),
        }
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_clones_over_ssh_without_ever_writing_the_deploy_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("deploy_key");
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
    std::fs::write(&key_path, key).unwrap();
    let section = git_section(
        &build(&format!(
            "repo = \"git@git.example.com:org/repo\"\nssh_key = \"{}\"\nknown_hosts = \"git.example.com ssh-ed25519 AAAAC3Nz\"\n",
            key_path.display()
        )),
        &[],
    );
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let git = registry.sync_strategy("git").await.unwrap();
    let node = fresh_node(false);
    let outcome = git
        .sync(
            &context(&node),
            SyncRequest {
                section: &section,
                path: "/opt/b/p".into(),
                git_ref: None,
                branch: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome.commit.as_deref(), Some(SHA));
    assert_eq!(outcome.summary, format!("main @ {}", &SHA[..12]));

    // Only the host-key pin is written: the deploy key reaches ssh through
    // the agent the host serves on the sync's channels.
    let scratch = format!("{SCRATCH}/git.git-ssh");
    let calls = node.calls();
    assert_eq!(calls[0], Call::Scratch("git.git-ssh".into()));
    assert!(
        matches!(&calls[1], Call::Write { path, mode: 0o600, .. } if *path == format!("{scratch}/known_hosts"))
    );
    for call in &calls {
        if let Call::Write { path, contents, .. } = call {
            assert!(!path.contains("deploy_key"), "{path}");
            assert!(!String::from_utf8_lossy(contents).contains("secret-key-material"));
        }
    }

    // The fetch's script resolves the default branch itself; this node
    // prints nothing for it, so the plugin asks on its own (a real node
    // answers in the fetch: see tests/e2e/critical_path.rs).
    let commands = node.commands();
    assert_eq!(commands.len(), 4, "{:?}", node.argv());
    let script_args = |i: usize| commands[i].args[3..].to_vec();
    assert!(commands[0].args[1].contains("git clone --no-checkout --origin origin"));
    assert_eq!(
        script_args(0),
        [
            "/opt/b/p",
            "git@git.example.com:org/repo",
            "ops:default-branch"
        ]
    );
    assert_eq!(
        node.argv()[1..3],
        [
            "git -C /opt/b/p symbolic-ref --quiet refs/remotes/origin/HEAD".to_owned(),
            "git -C /opt/b/p rev-parse --verify --quiet refs/remotes/origin/main^{commit}"
                .to_owned(),
        ]
    );
    let check_out = &commands[3].args[1];
    for step in [
        "checkout --quiet --force --detach \"$commit\"",
        "reset --quiet --hard \"$commit\"",
        "clean -ffdq",
        "submodule --quiet sync --recursive",
        "submodule update --init --recursive --force",
    ] {
        assert!(check_out.contains(step), "{step} missing from {check_out}");
    }
    // An SSH origin is not a local path: git's file-transport rule stays.
    assert_eq!(script_args(3), ["/opt/b/p", SHA]);
    let clone = &commands[0];
    let ssh = clone
        .env
        .iter()
        .find(|(k, _)| k == "GIT_SSH_COMMAND")
        .map(|(_, v)| v.clone())
        .expect("GIT_SSH_COMMAND set for clone");
    assert_eq!(
        ssh,
        format!(
            "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={scratch}/known_hosts"
        )
    );
    assert!(!ssh.contains("StrictHostKeyChecking=no"));
    // Network commands carry the auth env (submodules fetch too); local
    // look-ups do not need it.
    assert!(commands[3].env.iter().any(|(k, _)| k == "GIT_SSH_COMMAND"));
    assert!(commands[2].env.is_empty());
    for cmd in &commands {
        for arg in &cmd.args {
            assert!(!arg.contains("secret-key-material"), "key in argv: {arg}");
        }
        for (_, value) in &cmd.env {
            assert!(!value.contains("secret-key-material"), "key in env");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_fetches_a_tag_with_the_token_only_in_env() {
    let token = "ghp_s3cr3tT0ken";
    let section = git_section(
        &build("repo = \"https://git.example.com/org/repo.git\"\ntoken = \"$GIT_TOKEN\"\n"),
        &[("GIT_TOKEN", token)],
    );
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let git = registry.sync_strategy("git").await.unwrap();
    let node = fresh_node(true);
    let outcome = git
        .sync(
            &context(&node),
            SyncRequest {
                section: &section,
                path: "/opt/b/p".into(),
                git_ref: Some("v1.2.0".into()),
                branch: Some("main".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome.commit.as_deref(), Some(TAG_SHA));
    let argv = node.argv();
    let commands = node.commands();
    assert!(commands[0].args[1].contains("remote set-url origin \"$repo\""));
    assert!(commands[0].args[1].contains("fetch --prune --tags --force origin"));
    assert_eq!(
        commands[0].args[3..],
        ["/opt/b/p", "https://git.example.com/org/repo.git", ""]
    );
    assert_eq!(
        argv[1],
        "git -C /opt/b/p rev-parse --verify --quiet refs/remotes/origin/v1.2.0^{commit}"
    );
    assert_eq!(
        argv[2],
        "git -C /opt/b/p rev-parse --verify --quiet refs/tags/v1.2.0^{commit}"
    );
    assert!(commands[3].args[1].contains("checkout --quiet --force --detach"));
    assert_eq!(commands[3].args[3..], ["/opt/b/p", TAG_SHA]);

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    let fetch = &node.commands()[0];
    assert!(fetch.env.contains(&("GIT_CONFIG_COUNT".into(), "1".into())));
    assert!(fetch.env.contains(&(
        "GIT_CONFIG_KEY_0".into(),
        "http.https://git.example.com/.extraHeader".into()
    )));
    assert!(fetch.env.contains(&(
        "GIT_CONFIG_VALUE_0".into(),
        format!("Authorization: Basic {basic}")
    )));
    for cmd in node.commands() {
        let line = cmd.args.join(" ");
        assert!(
            !line.contains(token) && !line.contains(&basic),
            "token in argv: {line}"
        );
    }
    assert!(
        node.calls().iter().all(|c| matches!(c, Call::Exec(_))),
        "no files for HTTPS auth"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_of_a_missing_ref_names_it() {
    let section = git_section(&build("repo = \"/srv/git/repo.git\"\n"), &[]);
    let (rt, _cache) = runtime(Limits::default());
    let git = Registry::builtins(&rt).sync_strategy("git").await.unwrap();
    let node = fresh_node(true);
    let err = git
        .sync(
            &context(&node),
            SyncRequest {
                section: &section,
                path: "/opt/b/p".into(),
                git_ref: Some("no-such-branch".into()),
                branch: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "git: failed to sync: ref `no-such-branch` not found in /srv/git/repo.git: it is not a branch, tag or commit there"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Sync);
    // Nothing was checked out: no checkout of its own, and the fetch found
    // nothing to check out.
    assert!(!node.argv().iter().any(|a| a.contains("p=$1 commit=$2")));

    let err = git
        .sync(
            &context(&node),
            SyncRequest {
                section: &section,
                path: "/opt/b/p".into(),
                git_ref: Some("--upload-pack=touch /tmp/x".into()),
                branch: None,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a valid git ref"), "{err}");
}
