//! Hostile values never execute, credentials never leak: shell
//! metacharacters in the command line and in ops.toml, git over SSH with a
//! deploy key and a pinned host key, and the registry token, searched for
//! in all output, in every process's argv while the run goes on, and in
//! every file the node's side of the run could have written.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;

use crate::support::build::{all_argv, json_events, BuildFixture, TOKEN_VAR};
use crate::support::git;
use crate::support::ops::OpsOutput;

/// `$(touch${IFS}MARKER)`-style payloads that create `marker` if any shell
/// ever evaluates them. `marker` must not contain spaces.
fn payloads(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("$(touch${{IFS}}{m})"),
        format!("`touch${{IFS}}{m}`"),
        format!("x;touch${{IFS}}{m}"),
        format!("x|touch${{IFS}}{m}"),
        format!("x&&touch${{IFS}}{m}"),
        format!("'\"$(touch${{IFS}}{m})\"'"),
    ]
}

/// The control for a payload: run by a shell the way a careless program
/// would (bare, or wrapped in single quotes), `control` creates `marker`,
/// so a marker that stays absent means the payload was not evaluated, not
/// that it could not have worked.
#[track_caller]
fn assert_would_execute(marker: &Path, control: &str) {
    // Its exit status says nothing: `echo` and `touch` succeed, the
    // commands around them in the payload need not.
    Command::new("sh")
        .arg("-c")
        .arg(control)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sh runs");
    assert!(
        marker.exists(),
        "the payload would create no marker even if a shell ran it: {control}"
    );
    fs::remove_file(marker).unwrap();
}

#[track_caller]
fn assert_not_executed(marker: &Path, out: &OpsOutput) {
    assert!(
        !marker.exists(),
        "a hostile value was executed\n--- stderr:\n{}",
        out.stderr
    );
}

#[test]
fn hostile_command_line_values_execute_nothing() {
    let fx = BuildFixture::new();
    let marker = fx.marker("cli");
    for payload in payloads(&marker) {
        assert_would_execute(&marker, &format!("echo {payload}; echo '{payload}'"));
        // Refs that are valid ref names reach git on the node, which must
        // only say it has no such ref.
        let out = fx.build(&["--service", "api", &format!("--ref={payload}")]);
        assert_not_executed(&marker, &out);
        assert!(
            matches!(out.code, Some(2) | Some(4)),
            "--ref {payload}: exit {:?}\n{}",
            out.code,
            out.stderr
        );
        assert!(out.stderr.contains(&payload), "{payload}:\n{}", out.stderr);

        let out = fx.build(&[&format!("--tag={payload}")]);
        out.expect_code(2);
        assert_not_executed(&marker, &out);
        assert!(
            out.stderr.contains("not a valid Docker tag"),
            "{}",
            out.stderr
        );

        let out = fx.build(&[&format!("--service={payload}")]);
        out.expect_code(2);
        assert_not_executed(&marker, &out);
        assert!(out.stderr.contains("api, worker, web"), "{}", out.stderr);
    }
    fx.assert_nothing_pushed();
}

#[test]
fn hostile_config_values_execute_nothing() {
    let fx = BuildFixture::new();
    let marker = fx.marker("config");
    let m = marker.display().to_string();
    let sub = format!("$(touch${{IFS}}{m})");
    let good = fx.config.clone();

    // ssh takes the host up to the first `/`, so the command that
    // ProxyCommand would run holds none: a base64 script without `/`.
    let proxy_command = {
        let mut script = format!("touch {m}");
        let encoded = loop {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&script);
            if !encoded.contains('/') {
                break encoded;
            }
            script.push(' ');
        };
        format!("echo${{IFS}}{encoded}|base64${{IFS}}-d|sh")
    };

    // (what to change, a shell line that does what the value would do if
    // it were evaluated where it is used, expected exit code, text the
    // error must contain)
    type Change = Box<dyn Fn(&mut crate::support::build::BuildConfig)>;
    let cases: Vec<(Change, String, i32, String)> = vec![
        (
            Box::new({
                let sub = sub.clone();
                move |c| c.branch = Some(sub.clone())
            }),
            format!("echo {sub}"),
            4,
            sub.clone(),
        ),
        (
            Box::new({
                let sub = sub.clone();
                move |c| c.repo = format!("/nowhere/{sub}/hello.git")
            }),
            format!("echo /nowhere/{sub}/hello.git"),
            4,
            "nowhere".into(),
        ),
        (
            Box::new({
                let m = m.clone();
                move |c| c.repo = format!("ext::sh -c touch% {m}")
            }),
            format!("sh -c 'touch {m}'"),
            4,
            "ext".into(),
        ),
        (
            Box::new({
                let proxy_command = proxy_command.clone();
                move |c| c.repo = format!("ssh://-oProxyCommand={proxy_command}/x.git")
            }),
            format!("exec {proxy_command}"),
            4,
            "ProxyCommand".into(),
        ),
        (
            Box::new({
                let m = m.clone();
                move |c| c.repo = format!("--upload-pack=touch {m}")
            }),
            format!("touch {m}"),
            2,
            "repo".into(),
        ),
        (
            Box::new({
                let m = m.clone();
                move |c| {
                    c.image
                        .as_mut()
                        .unwrap()
                        .prefix
                        .push_str(&format!(";touch {m}"))
                }
            }),
            format!("echo {};touch {m}", good.image.as_ref().unwrap().prefix),
            2,
            "prefix".into(),
        ),
        (
            Box::new({
                let sub = sub.clone();
                move |c| c.image.as_mut().unwrap().services = vec![format!("api{sub}")]
            }),
            format!("echo api{sub}"),
            2,
            "services".into(),
        ),
        (
            Box::new({
                let sub = sub.clone();
                move |c| c.image.as_mut().unwrap().binary_arg = format!("ARG{sub}")
            }),
            format!("echo ARG{sub}"),
            2,
            "binary_arg".into(),
        ),
        (
            Box::new({
                let m = m.clone();
                move |c| {
                    c.image.as_mut().unwrap().dockerfile = format!("Dockerfile.prod; touch {m}")
                }
            }),
            format!("echo Dockerfile.prod; touch {m}"),
            6,
            "Dockerfile.prod; touch".into(),
        ),
        (
            Box::new({
                let sub = sub.clone();
                move |c| c.image.as_mut().unwrap().username = format!("ops{sub}")
            }),
            format!("echo ops{sub}"),
            7,
            "login".into(),
        ),
        (
            Box::new({
                let m = m.clone();
                move |c| c.image.as_mut().unwrap().registry = format!("127.0.0.1:1;touch {m}")
            }),
            format!("echo 127.0.0.1:1;touch {m}"),
            2,
            "registry".into(),
        ),
    ];
    let mut fx = fx;
    for (change, control, code, needle) in cases {
        assert_would_execute(&marker, &control);
        fx.config = good.clone();
        change(&mut fx.config);
        let out = fx.build(&["--service", "api"]);
        assert_not_executed(&marker, &out);
        assert_eq!(
            out.code,
            Some(code),
            "config:\n{}\nstderr:\n{}",
            fx.config.to_toml(),
            out.stderr
        );
        assert!(
            out.stderr.contains(&needle),
            "error lacks {needle:?}:\n{}",
            out.stderr
        );
    }
    fx.assert_nothing_pushed();
}

/// A build path with spaces, quotes and `$(...)` is just a directory name,
/// and the build command goes through exactly one shell (with its stdin
/// closed: `cat` would wait forever otherwise).
#[test]
fn odd_build_path_and_command_are_taken_literally() {
    let mut fx = BuildFixture::new();
    let marker = fx.marker("path");
    let m = marker.display();
    let path = fx
        .dir()
        .join(format!("it's a \"build\" dir $(touch${{IFS}}{m})/hello"));
    fx.config.path = path.display().to_string();
    fx.config.command =
        format!("cat >/dev/null && sh build.sh && printf '%s\\n' 'single $(touch {m})' \"double \\$(touch {m})\"");
    let out = fx.build_ok(&["--service", "api"]);
    assert_not_executed(&marker, &out);
    assert!(path.join("target/release/api.txt").is_file());
    assert!(
        out.stderr.contains(&format!("single $(touch {m})")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("double $(touch {m})")),
        "{}",
        out.stderr
    );
    assert_eq!(fx.service_info("api", "latest").service, "api");
}

/// `ssh_key` (a local file, `~` being the local home) and the plugin's
/// `known_hosts` pin let git on the node clone over SSH; afterwards the key
/// is nowhere on the node and in no output.
#[test]
fn git_over_ssh_with_a_deploy_key_leaves_no_key_behind() {
    let mut fx = BuildFixture::new();
    let ssh = fx.origin.over_ssh();
    let key_text = fs::read_to_string(ssh.key().private_key_path()).unwrap();
    let key = fx.home.write("keys/deploy_key", &key_text);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fx.config.repo = ssh.url().to_owned();
    fx.config.ssh_key = Some("~/keys/deploy_key".into());
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);

    let out = fx.build_ok(&["--service", "api", "-v"]);
    let info = fx.service_info("api", "latest");
    assert_eq!(info.commit, fx.origin.rev_parse(git::MAIN));
    assert_eq!(info.vendored, "greeting 0.1", "submodule over SSH missing");
    assert!(ssh.sshd().logins() >= 1, "{}", ssh.sshd().log());

    // Re-run: fetch over SSH works the same way.
    fx.origin.commit("over ssh", &[("VERSION", "hello ssh\n")]);
    let again = fx.build_ok(&[
        "--service",
        "api",
        "--tag",
        "again",
        "-v",
        "--output",
        "json",
    ]);
    assert_eq!(fx.service_info("api", "again").version, "hello ssh");

    // The key's secret lines, searched for everywhere.
    let secret_lines: Vec<&str> = key_text
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    assert!(!secret_lines.is_empty());
    for line in &secret_lines {
        for output in [&out.stdout, &out.stderr, &again.stdout, &again.stderr] {
            assert!(!output.contains(line), "deploy key in output");
        }
        let found = BuildFixture::files_containing(&[fx.dir()], line);
        assert!(found.is_empty(), "deploy key left on the node: {found:?}");
    }
    assert!(
        fx.node_tmp_entries().is_empty(),
        "scratch left: {:?}",
        fx.node_tmp_entries()
    );
    // The clone remembers neither the key nor an ssh command.
    let git_config = fs::read_to_string(fx.build_path().join(".git/config")).unwrap();
    assert!(!git_config.contains("sshCommand"), "{git_config}");
    assert!(!git_config.contains("deploy_key"), "{git_config}");

    // Without the pin, the origin's host key is unknown: refused, not
    // accepted.
    fx.config.known_hosts = None;
    let before = ssh.sshd().logins();
    let out = fx.build(&["--service", "api", "--tag", "unpinned"]);
    out.expect_code(4);
    assert!(
        out.stderr.contains("Host key verification failed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        ssh.sshd().logins(),
        before,
        "git logged in to an unknown host"
    );
    assert!(fx
        .registry
        .tags(&fx.repo("api"))
        .iter()
        .all(|t| t != "unpinned"));
    // A failed sync removes the key too.
    for line in &secret_lines {
        assert!(!out.stderr.contains(line), "deploy key in output");
        let found = BuildFixture::files_containing(&[fx.dir()], line);
        assert!(
            found.is_empty(),
            "deploy key left after a failed sync: {found:?}"
        );
    }
    assert!(fx.node_tmp_entries().is_empty());
}

#[test]
fn registry_token_never_in_output_argv_or_files() {
    let fx = BuildFixture::new();
    let token = fx.registry.token().to_owned();
    // docker keeps `user:token` base64-encoded in its config.json.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{token}", fx.registry.username()));
    fx.write_config();

    for format in ["human", "json"] {
        let before = fx.node.logins();
        let child = fx
            .ops()
            .args(["build", "-v", "--output", format])
            .args(["--tag", format])
            .spawn();
        // Watch every process's argv while the run goes on.
        let out = crate::support::ops::wait_watching(child, Duration::from_secs(300), || {
            let argv = all_argv();
            assert!(
                !argv.contains(&token) && !argv.contains(&basic),
                "the registry token is in a command line"
            );
        });
        out.expect_success();
        assert_eq!(fx.node.logins() - before, 1);
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains(&token), "token in {format} output");
            assert!(!text.contains(&basic), "token in {format} output");
        }
        if format == "json" {
            json_events(&out.stdout);
        }
        assert_eq!(fx.service_info("worker", format).service, "worker");

        // Nothing the run wrote holds it: the node's HOME, TMPDIR and build
        // path, and the client's home.
        for needle in [&token, &basic] {
            let found = BuildFixture::files_containing(&[fx.dir(), fx.home.path()], needle);
            assert!(found.is_empty(), "token left in {found:?}");
        }
        assert!(
            fx.node_tmp_entries().is_empty(),
            "scratch (docker config) left: {:?}",
            fx.node_tmp_entries()
        );
        assert!(!fx.node_home().join(".docker").exists());
    }
    // ops.toml names the variable, not the value.
    let config = fs::read_to_string(fx.home.path().join("ops.toml")).unwrap();
    assert!(config.contains(&format!("${TOKEN_VAR}")));
}
