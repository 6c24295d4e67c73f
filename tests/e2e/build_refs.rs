//! Which commit `ops build` builds: `--ref` as commit SHA, branch,
//! annotated or lightweight tag, else `build.branch`, else the remote's
//! default branch; re-runs fetch, keep ignored files and drop stray ones.
//! Each run builds only `api` under its own tag, read back from the registry.

use std::fs;

use crate::support::build::BuildFixture;
use crate::support::git;

#[test]
fn every_kind_of_ref() {
    let fx = BuildFixture::new();
    let release = fx.origin.rev_parse(git::RELEASE_TAG);
    let feature = fx.origin.rev_parse(git::FEATURE);
    let main = fx.origin.rev_parse(git::MAIN);
    // An annotated tag's object is not its commit: the build must be of
    // the commit.
    assert_ne!(
        git::git(fx.origin.path(), &["rev-parse", git::RELEASE_TAG]),
        release
    );

    let runs = [
        // First run clones; the SHA of a commit no branch points at.
        ("sha", release.clone(), &release, "hello 1.0.0"),
        ("short", release[..10].to_owned(), &release, "hello 1.0.0"),
        ("branch", git::FEATURE.to_owned(), &feature, "hello feature"),
        (
            "annotated",
            git::RELEASE_TAG.to_owned(),
            &release,
            "hello 1.0.0",
        ),
        (
            "fullbranch",
            format!("refs/heads/{}", git::FEATURE),
            &feature,
            "hello feature",
        ),
        (
            "fulltag",
            format!("refs/tags/{}", git::RELEASE_TAG),
            &release,
            "hello 1.0.0",
        ),
        ("light", git::LIGHT_TAG.to_owned(), &main, "hello main"),
    ];
    for (tag, git_ref, commit, version) in &runs {
        fx.build_ok(&["--service", "api", "--tag", tag, "--ref", git_ref]);
        let info = fx.service_info("api", tag);
        assert_eq!(&info.commit, *commit, "--ref {git_ref}");
        assert_eq!(info.version, *version, "--ref {git_ref}");
    }
    // The tree on the node is exactly the last ref's.
    assert_eq!(git::git(&fx.build_path(), &["rev-parse", "HEAD"]), main);
    assert_eq!(
        git::git(&fx.build_path(), &["status", "--porcelain"]),
        "",
        "the checkout on the node is not clean"
    );
}

#[test]
fn build_branch_is_the_default_ref() {
    let mut fx = BuildFixture::new();
    fx.config.branch = Some(git::FEATURE.into());
    fx.build_ok(&["--service", "api"]);
    let info = fx.service_info("api", "latest");
    assert_eq!(info.commit, fx.origin.rev_parse(git::FEATURE));
    assert_eq!(info.version, "hello feature");

    // --ref wins over build.branch.
    fx.build_ok(&[
        "--service",
        "api",
        "--tag",
        "pinned",
        "--ref",
        git::RELEASE_TAG,
    ]);
    assert_eq!(fx.service_info("api", "pinned").version, "hello 1.0.0");
}

#[test]
fn remote_default_branch_without_branch_or_ref() {
    let fx = BuildFixture::new();
    fx.origin.checkout("trunk", git::FEATURE);
    let trunk = fx
        .origin
        .commit("trunk work", &[("VERSION", "hello trunk\n")]);
    fx.origin.set_default_branch("trunk");
    assert!(fx.config.branch.is_none());

    fx.build_ok(&["--service", "api"]);
    let info = fx.service_info("api", "latest");
    assert_eq!(info.commit, trunk);
    assert_eq!(info.version, "hello trunk");

    // The remote's default changes after the first clone: the next run
    // follows it, as a fresh clone would.
    fx.origin.set_default_branch(git::MAIN);
    fx.build_ok(&["--service", "api", "--tag", "moved"]);
    assert_eq!(
        fx.service_info("api", "moved").commit,
        fx.origin.rev_parse(git::MAIN)
    );
}

#[test]
fn rerun_fetches_new_commits_and_keeps_ignored_files() {
    let mut fx = BuildFixture::new();
    fx.config.branch = Some(git::MAIN.into());
    fx.build_ok(&["--service", "api", "--tag", "one"]);
    let first = fx.service_info("api", "one");
    assert_eq!(first.build, 1);
    assert_eq!(first.vendored, "greeting 0.1");

    // Node-side leftovers: an ignored file (kept) and a stray untracked
    // one plus a tracked edit (both reset).
    let path = fx.build_path();
    fs::write(path.join("target/keep-me"), "warm cache\n").unwrap();
    fs::write(path.join("stray.txt"), "untracked\n").unwrap();
    fs::write(path.join("VERSION"), "edited on the node\n").unwrap();

    let next = fx.origin.commit("hello 2", &[("VERSION", "hello 2\n")]);
    fx.build_ok(&["--service", "api", "--tag", "two"]);
    let second = fx.service_info("api", "two");
    assert_eq!(second.commit, next);
    assert_eq!(second.version, "hello 2");
    assert_eq!(second.build, 2, "target/ did not survive the sync");
    assert_eq!(second.vendored, "greeting 0.1");
    assert!(path.join("target/keep-me").is_file());
    assert!(!path.join("stray.txt").exists(), "untracked file survived");

    // Unchanged re-run, after a run whose git was stopped mid-checkout
    // (its index.lock left behind): same commit, the counter goes on.
    fs::write(path.join(".git/index.lock"), "").unwrap();
    let out = fx.build_ok(&["--service", "api", "--tag", "three"]);
    assert!(
        out.stdout.contains("removing a stale") || out.stderr.contains("removing a stale"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(!path.join(".git/index.lock").exists());
    let third = fx.service_info("api", "three");
    assert_eq!(third.commit, next);
    assert_eq!(third.build, 3);
}
