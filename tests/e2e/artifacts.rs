//! `build.artifacts` against the real node: the files the build command
//! made come back byte for byte with their modes, beside the image builds
//! or without any; a pattern that matches nothing, a path that leaves
//! `build.path` as written or through a symlink on the node, are refused
//! with nothing written here; a 200 MiB artifact streams through ops
//! without ops's memory growing with it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::sha256_hex;

use crate::support::build::{json_events, BuildFixture};
use crate::support::ops::OpsOutput;

/// Makes `out/bin/api` (random bytes, mode 750), two tarballs (640) and
/// a file no pattern names.
const MAKE_FILES: &str = "mkdir -p out/bin dist && \
    head -c 300000 /dev/urandom > out/bin/api && chmod 750 out/bin/api && \
    head -c 1000 /dev/urandom > dist/a.tar.gz && printf 'b' > 'dist/b c.tar.gz' && \
    chmod 640 dist/*.tar.gz && echo no > dist/notes.txt";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap();
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The node's file and the local one are the same bytes and mode, and the
/// run's `artifact` event says the bytes' sha256.
#[track_caller]
fn assert_same(fx: &BuildFixture, local_dir: &Path, relative: &str, events: &[serde_json::Value]) {
    let node_file = fx.build_path().join(relative);
    let local = local_dir.join(relative);
    let node_bytes = fs::read(&node_file).unwrap();
    assert_eq!(fs::read(&local).unwrap(), node_bytes, "{relative}");
    assert_eq!(mode(&local), mode(&node_file), "{relative}");
    let event = events
        .iter()
        .find(|e| e["event"] == "artifact" && e["path"].as_str().unwrap().ends_with(relative))
        .unwrap_or_else(|| panic!("no artifact event for {relative}: {events:?}"));
    assert_eq!(event["sha256"], sha256_hex(&node_bytes));
    assert_eq!(event["bytes"], node_bytes.len() as u64);
}

fn no_images(fx: &mut BuildFixture) {
    fx.config.image = None;
}

#[test]
fn artifacts_come_back_byte_for_byte_with_their_modes_without_images() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    fx.config.command = MAKE_FILES.into();
    fx.config.artifacts = vec!["out/bin/api".into(), "dist/*.tar.gz".into()];
    let out = fx.build_ok(&["--output", "json"]);
    let events = json_events(&out.stdout);
    let dir = fx.home.path().join("ops-artifacts");
    assert_eq!(
        files_under(&dir),
        ["dist/a.tar.gz", "dist/b c.tar.gz", "out/bin/api"],
        "only what the patterns name, no temporary file left"
    );
    for file in ["out/bin/api", "dist/a.tar.gz", "dist/b c.tar.gz"] {
        assert_same(&fx, &dir, file, &events);
    }
    assert_eq!(mode(&dir.join("out/bin/api")), 0o750);
    let summary = events.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!(summary["artifacts"].as_array().unwrap().len(), 3);

    // The human summary lists each with its whole hash (the build command
    // made new bytes: the hash is of the new ones).
    let human = fx.build_ok(&[]);
    let api = fs::read(fx.build_path().join("out/bin/api")).unwrap();
    human.expect_stderr_contains(&format!("sha256 {}", sha256_hex(&api)));
    assert_eq!(fs::read(dir.join("out/bin/api")).unwrap(), api);
}

#[test]
fn artifacts_come_back_beside_the_image_builds_into_the_chosen_dir() {
    let mut fx = BuildFixture::new();
    fx.config.command = format!("sh build.sh && {MAKE_FILES}");
    fx.config.artifacts = vec!["out/bin/api".into()];
    let chosen = fx.home.path().join("elsewhere/arts");
    let out = fx.build_ok(
        &["--no-push", "--output", "json", "--artifacts-dir"]
            .into_iter()
            .chain([chosen.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    let events = json_events(&out.stdout);
    assert_same(&fx, &chosen, "out/bin/api", &events);
    assert!(!fx.home.path().join("ops-artifacts").exists());
    let built = events
        .iter()
        .filter(|e| e["event"] == "image" && e["status"] == "built")
        .count();
    assert_eq!(built, 3, "{events:?}");
    fx.assert_nothing_pushed();
}

#[test]
fn dry_run_names_the_artifacts_and_where_they_go() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    fx.config.artifacts = vec!["out/bin/api".into(), "dist/*.tar.gz".into()];
    fx.build(&["--dry-run"])
        .expect_success()
        .expect_stderr_contains(
            "artifacts: \"out/bin/api\", \"dist/*.tar.gz\" into ./ops-artifacts",
        );
    assert_eq!(fx.node.logins(), 0);
}

#[test]
fn a_pattern_that_matches_nothing_is_exit_10_naming_it() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    fx.config.command = MAKE_FILES.into();
    fx.config.artifacts = vec!["out/bin/api".into(), "dist/*.zip".into()];
    let out = fx.build(&[]);
    out.expect_code(10)
        .expect_stderr_contains("\"dist/*.zip\" matched nothing");
    assert!(files_under(&fx.home.path().join("ops-artifacts")).is_empty());
}

#[test]
fn a_pattern_that_leaves_the_build_path_is_a_config_error_at_its_column() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    for (bad, why) in [("../secret", "`..`"), ("/etc/passwd", "relative")] {
        fx.config.artifacts = vec!["ok".into(), bad.into()];
        let config = fx.config.to_toml();
        let line = config
            .lines()
            .position(|l| l.starts_with("artifacts"))
            .unwrap()
            + 1;
        let column = config.lines().nth(line - 1).unwrap().find(bad).unwrap();
        let out = fx.build(&[]);
        out.expect_code(2)
            .expect_stderr_contains(&format!("ops.toml:{line}:{column}"))
            .expect_stderr_contains("build.artifacts")
            .expect_stderr_contains(why);
        assert_eq!(fx.node.logins(), 0, "nothing remote is touched");
    }
}

#[test]
fn a_symlink_out_of_the_build_path_is_refused_before_anything_is_written() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    let secret = fx.node_home().join("secret");
    fs::write(&secret, "node secret").unwrap();
    fx.config.command = format!("echo fine > ok.txt && ln -sf {} leak", secret.display());
    fx.config.artifacts = vec!["ok.txt".into(), "leak".into()];
    let out = fx.build(&[]);
    out.expect_code(10)
        .expect_stderr_contains("\"leak\" is a symlink that leads out of");
    let dir = fx.home.path().join("ops-artifacts");
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
}

#[test]
fn a_default_artifacts_dir_that_is_a_symlink_is_refused() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    fx.config.command = MAKE_FILES.into();
    fx.config.artifacts = vec!["out/bin/api".into()];
    // As a repository could commit it: ops-artifacts -> somewhere else.
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), fx.home.path().join("ops-artifacts")).unwrap();
    fx.build(&[])
        .expect_code(10)
        .expect_stderr_contains("is a symlink");
    assert!(files_under(elsewhere.path()).is_empty());

    // Named with --artifacts-dir, the user's own symlink is used.
    let link = fx.home.path().join("ops-artifacts");
    fx.build_ok(&["--artifacts-dir", link.to_str().unwrap()]);
    assert_eq!(files_under(elsewhere.path()), ["out/bin/api"]);
}

/// ops's peak resident memory (kB) over a build, from /usr/bin/time
/// (GNU time's `%M`: the maximum resident set size of ops itself).
fn build_measured(fx: &BuildFixture) -> (OpsOutput, u64) {
    fx.write_config();
    let report: PathBuf = fx.dir().join("time.txt");
    let inner = fx.ops().arg("build").into_command();
    let mut command = Command::new("/usr/bin/time");
    command.env_clear();
    for (name, value) in inner.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    command
        .current_dir(inner.get_current_dir().unwrap())
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(inner.get_program())
        .args(inner.get_args());
    let output = command
        .output()
        .expect("run ops under /usr/bin/time (package time)");
    let out = OpsOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let text = fs::read_to_string(&report).unwrap();
    let kb = text.trim().lines().last().unwrap().trim().parse().unwrap();
    (out, kb)
}

#[test]
fn a_200_mib_artifact_streams_through_less_than_64_mib_of_ops_memory() {
    let mut fx = BuildFixture::new();
    no_images(&mut fx);
    fx.config.command = "head -c 209715200 /dev/urandom > big.bin".into();
    fx.config.artifacts = vec!["big.bin".into()];
    let (out, peak_kb) = build_measured(&fx);
    out.expect_success();
    let local = fx.home.path().join("ops-artifacts/big.bin");
    let node = fx.build_path().join("big.bin");
    assert_eq!(fs::metadata(&local).unwrap().len(), 200 << 20);
    assert_eq!(
        sha256_hex(&fs::read(&local).unwrap()),
        sha256_hex(&fs::read(&node).unwrap())
    );
    assert!(peak_kb < 64 * 1024, "ops peaked at {peak_kb} kB");
}
