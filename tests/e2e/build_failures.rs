//! Failing steps: each has its exit code and clear error, and nothing is
//! pushed unless every selected image built. Validation errors happen
//! before anything remote: exit 2 and no SSH login at all.

use std::time::Duration;

use crate::support::build::{BuildFixture, SERVICES, TOKEN_VAR};

#[test]
fn failing_build_command_stops_before_any_image() {
    let mut fx = BuildFixture::new();
    fx.config.command =
        "sh build.sh && echo about-to-fail && echo 'compiler says no' >&2 && exit 3".into();
    let out = fx.build(&[]);
    out.expect_code(5);
    // The command's own output, both streams, is visible.
    assert!(out.stderr.contains("built api"), "{}", out.stderr);
    assert!(out.stderr.contains("about-to-fail"), "{}", out.stderr);
    assert!(out.stderr.contains("compiler says no"), "{}", out.stderr);
    assert!(out.stderr.contains("exit code 3"), "{}", out.stderr);
    fx.assert_nothing_pushed();
    assert!(fx.node_images().is_empty(), "{:?}", fx.node_images());
    assert_eq!(fx.node.logins(), 1);
}

#[test]
fn failing_image_build_pushes_nothing() {
    let mut fx = BuildFixture::new();
    // build.sh writes no binary for "ghost", so its COPY fails while the
    // three real services build.
    fx.image_config().services.push("ghost".into());
    let out = fx.build(&["-j", "4"]);
    out.expect_code(6);
    assert!(out.stderr.contains("ghost"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was pushed"), "{}", out.stderr);
    fx.assert_nothing_pushed();
    assert!(
        !fx.registry.log().contains("PUT /v2/"),
        "something was uploaded:\n{}",
        fx.registry.log()
    );
    // The throwaway docker config (with the login) is gone all the same.
    assert!(
        fx.node_tmp_entries().is_empty(),
        "{:?}",
        fx.node_tmp_entries()
    );
    // The others did build: the failure is not theirs.
    let built = fx.node_images();
    for service in SERVICES {
        assert!(
            built.contains(&fx.image(service, "latest")),
            "{service} was not built: {built:?}"
        );
    }
}

#[test]
fn refused_registry_login_exits_7() {
    let fx = BuildFixture::new();
    let wrong = "wrong-token-0123456789";
    fx.write_config();
    let out = fx
        .ops()
        .env(TOKEN_VAR, wrong)
        .args(["build", "-v", "--service", "api"])
        .run();
    out.expect_code(7);
    assert!(out.stderr.contains("login"), "{}", out.stderr);
    assert!(!out.stderr.contains(wrong), "the token was printed");
    assert!(!out.stdout.contains(wrong), "the token was printed");
    fx.assert_nothing_pushed();
    assert!(
        fx.node_tmp_entries().is_empty(),
        "{:?}",
        fx.node_tmp_entries()
    );
}

#[test]
fn missing_ref_is_named() {
    let fx = BuildFixture::new();
    let out = fx.build(&["--ref", "no-such-branch"]);
    out.expect_code(4);
    assert!(out.stderr.contains("no-such-branch"), "{}", out.stderr);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);

    // A commit id that is not in the repository, and a missing build.branch.
    let out = fx.build(&["--ref", "0123456789abcdef0123456789abcdef01234567"]);
    out.expect_code(4);
    assert!(
        out.stderr
            .contains("0123456789abcdef0123456789abcdef01234567"),
        "{}",
        out.stderr
    );
    let mut fx = fx;
    fx.config.branch = Some("gone".into());
    let out = fx.build(&[]);
    out.expect_code(4);
    assert!(out.stderr.contains("`gone`"), "{}", out.stderr);
    fx.assert_nothing_pushed();
    assert_eq!(fx.node.logins(), 3);
}

#[test]
fn invalid_input_fails_before_connecting() {
    let mut fx = BuildFixture::new();
    let usage = |fx: &BuildFixture, args: &[&str], needles: &[&str]| {
        let out = fx.build(args);
        out.expect_code(2);
        for needle in needles {
            assert!(
                out.stderr.contains(needle),
                "ops build {args:?}: stderr lacks {needle:?}:\n{}",
                out.stderr
            );
        }
    };

    usage(&fx, &["--service", "db"], &["\"db\"", "api, worker, web"]);
    usage(&fx, &["--tag", "not a tag"], &["not a valid Docker tag"]);
    usage(&fx, &["--tag=-x"], &["not a valid Docker tag"]);
    usage(&fx, &["-j", "0"], &["at least 1"]);
    usage(&fx, &["--ref=-upload-pack=x"], &["not a valid git ref"]);

    let good = fx.config.clone();
    fx.config.path = String::new();
    usage(&fx, &[], &["ops.toml:", "build.path"]);
    fx.config = good.clone();
    fx.config.command = " ".into();
    usage(&fx, &[], &["ops.toml:", "build.command"]);
    fx.config = good.clone();
    fx.config.repo = String::new();
    usage(&fx, &[], &["repo"]);
    fx.config = good.clone();
    fx.image_config().prefix = String::new();
    usage(&fx, &[], &["prefix"]);

    // Keys missing from the file altogether.
    let without = |key: &str| {
        let text: String = good
            .to_toml()
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(|l| format!("{l}\n"))
            .collect();
        fx.home.write("ops.toml", &text);
        fx.ops().arg("build").run()
    };
    for key in ["path", "command", "repo", "prefix", "services"] {
        let out = without(key);
        out.expect_code(2);
        assert!(out.stderr.contains(key), "without {key}:\n{}", out.stderr);
    }
    fx.home.write(
        "ops.toml",
        &format!("target = {:?}\n", fx.node.destination()),
    );
    let out = fx.ops().arg("build").run();
    out.expect_code(2);
    assert!(out.stderr.contains("build"), "{}", out.stderr);

    assert_eq!(
        fx.node.logins(),
        0,
        "a validation error logged in:\n{}",
        fx.node.log()
    );
    assert!(
        !fx.node.log().contains("Connection from"),
        "{}",
        fx.node.log()
    );
}

#[test]
fn interrupted_run_removes_the_registry_login() {
    let fx = BuildFixture::new();
    fx.write_config();
    let mut child = fx.ops().args(["build", "-j", "1"]).spawn();
    // Wait for the login's throwaway docker config, then press Ctrl-C.
    fx.wait_registry_login(&mut child);
    // SAFETY: signalling a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = crate::support::ops::wait(child);
    out.expect_code(130);
    assert!(
        fx.node_tmp_entries().is_empty(),
        "the docker config with the login survived Ctrl-C: {:?}",
        fx.node_tmp_entries()
    );
    // The push step never started, so nothing reached the registry.
    fx.assert_nothing_pushed();
}

/// The node processes of this fixture (their `TMPDIR` is the fixture's)
/// whose command line contains `needle`.
fn node_processes(fx: &BuildFixture, needle: &str) -> Vec<i32> {
    let tmpdir = format!("TMPDIR={}", fx.node_tmp().display());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let read = |f: &str| std::fs::read(entry.path().join(f)).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&read("cmdline")).into_owned();
        let environ = read("environ");
        let ours = environ
            .split(|b| *b == 0)
            .any(|var| var == tmpdir.as_bytes());
        if ours && cmdline.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// A scratch directory's guardian that is itself killed outright, with
/// ops, before its cleanup runs (as a loaded node's KILL can do) still
/// leaves no login behind: the session's reaper removes the scratch root
/// the guardian recorded with it.
#[test]
fn a_guardian_killed_with_ops_still_leaves_no_login_behind() {
    let fx = BuildFixture::new();
    fx.write_config();
    let mut child = fx.ops().args(["build", "-j", "1"]).spawn();
    fx.wait_registry_login(&mut child);
    let guardians = node_processes(&fx, "ops.XXXXXXXXXX");
    assert!(
        !guardians.is_empty(),
        "no scratch guardian found on the node"
    );
    for pid in guardians {
        // SAFETY: a plain kill(2) of a process of this test's own node.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    // SAFETY: signalling a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    fx.wait_node_tmp_empty(
        Duration::from_secs(20),
        "the removal of the login's docker config after its guardian was killed",
    );
}

/// Even when ops itself is killed outright (SIGKILL: no cleanup code runs),
/// the registry login does not outlive the run: the scratch directory's
/// guardian on the node removes it as soon as the connection goes.
#[test]
fn killed_ops_leaves_no_registry_login_behind() {
    let fx = BuildFixture::new();
    fx.write_config();
    let mut child = fx.ops().args(["build", "-j", "1"]).spawn();
    fx.wait_registry_login(&mut child);
    // SAFETY: signalling a child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    fx.wait_node_tmp_empty(
        Duration::from_secs(15),
        "the removal of the login's docker config after ops was killed",
    );
}
