//! Node disk hygiene against the real node and dockerd: `ops node prune`
//! keeps the newest builds' images and removes the older ones, never a
//! name another project gave the same image (even one sharing its image
//! id), removes nothing with `--dry-run`; the `[node]` policy prunes after
//! a push; `ops node df` counts the project's images and the free space;
//! scratch directories of runs that are over go, a live run's stay.

use std::fs;
use std::time::{Duration, SystemTime};

use crate::support::build::{json_events, BuildFixture};

/// A fixture that builds one service, so that each build is quick.
fn one_service() -> BuildFixture {
    let mut fx = BuildFixture::new();
    fx.image_config().services = vec!["api".into()];
    fx
}

fn image_id(fx: &BuildFixture, reference: &str) -> String {
    fx.docker
        .run(&["image", "inspect", "--format", "{{.Id}}", reference])
        .trim()
        .to_owned()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn prune_keeps_the_newest_builds_and_never_another_projects_name() {
    let fx = one_service();
    for tag in ["t1", "t2", "t3"] {
        fx.build_ok(&["--tag", tag, "--no-push"]);
    }
    let (t1, t2, t3) = (
        fx.image("api", "t1"),
        fx.image("api", "t2"),
        fx.image("api", "t3"),
    );
    assert_eq!(
        sorted(fx.node_images()),
        [t1.clone(), t2.clone(), t3.clone()]
    );
    // Another project's name for the oldest build's image: same image id.
    let other = format!(
        "{}/other-of-{}/app:keep",
        fx.registry.host(),
        fx.repo("x").replace('/', "-")
    );
    let t1_id = image_id(&fx, &t1);
    fx.docker.run(&["tag", &t1, &other]);

    let dry = fx
        .ops()
        .args([
            "node",
            "prune",
            "--keep",
            "1",
            "--dry-run",
            "--output",
            "json",
        ])
        .run();
    dry.expect_success();
    let events = json_events(&dry.stdout);
    let pruned: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "pruned")
        .map(|e| e["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        sorted(pruned.iter().map(|s| s.to_string()).collect()),
        [t1.clone(), t2.clone()]
    );
    assert!(events
        .iter()
        .all(|e| e["event"] != "pruned" || e["dry_run"] == true));
    assert_eq!(fx.node_images().len(), 3, "--dry-run removed something");

    let out = fx.ops().args(["node", "prune", "--keep", "2"]).run();
    out.expect_success();
    assert!(
        out.stderr.contains(&format!("removed {t1}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("kept 2 builds"), "{}", out.stderr);
    assert_eq!(sorted(fx.node_images()), [t2, t3]);
    assert_eq!(
        image_id(&fx, &other),
        t1_id,
        "the other project's name and image stay"
    );
    fx.docker.run(&["image", "rm", &other]);
}

#[test]
fn df_counts_the_projects_images_and_the_free_space() {
    let fx = one_service();
    fx.build_ok(&["--tag", "d1", "--no-push"]);
    fx.build_ok(&["--tag", "d2", "--no-push"]);
    let out = fx.ops().args(["node", "df", "--output", "json"]).run();
    out.expect_success();
    let events = json_events(&out.stdout);
    let disk = events
        .iter()
        .find(|e| e["event"] == "node_disk")
        .unwrap_or_else(|| panic!("no node_disk event: {events:?}"));
    assert_eq!(
        (disk["images"].as_u64(), disk["builds"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(disk["image_bytes"].as_u64().unwrap() > 0, "{disk}");
    assert!(disk["build_path_bytes"].as_u64().unwrap() > 0, "{disk}");
    assert!(disk["free_bytes"].as_u64().unwrap() > 0, "{disk}");
    assert!(disk["cache_bytes"].is_u64(), "{disk}");
    let human = fx.ops().args(["node", "df"]).run();
    human.expect_success();
    assert!(
        human.stdout.contains("2 images of 2 builds"),
        "{}",
        human.stdout
    );
}

#[test]
fn the_node_policy_prunes_after_a_push() {
    let fx = one_service();
    let policy = |fx: &BuildFixture| {
        fx.home.write(
            "ops.toml",
            &format!("{}\n[node]\nkeep = 1\n", fx.config.to_toml()),
        );
    };
    policy(&fx);
    fx.ops()
        .args(["build", "--tag", "p1"])
        .run()
        .expect_success();
    let out = fx
        .ops()
        .args(["build", "--tag", "p2", "--output", "json"])
        .run();
    out.expect_success();
    let events = json_events(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["event"] == "prune_summary")
        .unwrap_or_else(|| panic!("no prune after the push: {events:?}"));
    assert_eq!(summary["builds_kept"], 1, "{summary}");
    assert_eq!(fx.node_images(), [fx.image("api", "p2")]);
    // The pushed images are untouched in the registry.
    assert!(fx.registry.catalog().iter().any(|r| r.ends_with("/api")));
}

#[test]
fn stale_scratch_goes_and_a_live_runs_stays() {
    let fx = one_service();
    fx.build_ok(&["--tag", "s1", "--no-push"]);
    let tmp = fx.node_tmp();
    // A run that is over: its reaper's pid is gone, its scratch root old.
    let dead_run = tmp.join("ops-run-deadbeef");
    let stale = tmp.join("ops.AAAAAAAAAA");
    fs::create_dir_all(&dead_run).unwrap();
    fs::create_dir_all(stale.join("docker-config")).unwrap();
    fs::write(dead_run.join("reaper"), "999999999\n").unwrap();
    fs::write(dead_run.join("scratch"), format!("{}\n", stale.display())).unwrap();
    // A live run (this test's own process stands in for its reaper),
    // whose scratch root is just as old.
    let live_run = tmp.join("ops-run-cafef00d");
    let live = tmp.join("ops.BBBBBBBBBB");
    fs::create_dir_all(&live_run).unwrap();
    fs::create_dir_all(&live).unwrap();
    fs::write(live_run.join("reaper"), format!("{}\n", std::process::id())).unwrap();
    fs::write(live_run.join("scratch"), format!("{}\n", live.display())).unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    for dir in [&stale, &live] {
        fs::File::open(dir).unwrap().set_modified(old).unwrap();
    }
    let dry = fx.ops().args(["node", "prune", "--dry-run"]).run();
    dry.expect_success();
    assert!(stale.exists(), "--dry-run removed a directory");
    let out = fx.ops().args(["node", "prune", "--output", "json"]).run();
    out.expect_success();
    let events = json_events(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["event"] == "prune_summary")
        .unwrap();
    assert_eq!(summary["stale_dirs"], 2, "{summary}");
    assert!(!stale.exists() && !dead_run.exists());
    assert!(
        live.exists() && live_run.exists(),
        "a live run's scratch was removed"
    );
}
