//! Every example of the spec's `ops build` section, against a real node,
//! registry and git origin; results are read back from the registry, never
//! taken from ops's own output.

use serde_json::Value;

use crate::support::build::{json_events, BuildFixture, SERVICES};
use crate::support::git;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `ops build`
#[test]
fn build_everything_pushes_every_service() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&[]);

    let main = fx.origin.rev_parse(git::MAIN);
    assert_eq!(
        fx.registry.catalog(),
        sorted(SERVICES.iter().map(|s| fx.repo(s)).collect())
    );
    for service in SERVICES {
        assert_eq!(fx.registry.tags(&fx.repo(service)), ["latest"]);
        let info = fx.service_info(service, "latest");
        assert_eq!(info.service, service);
        assert_eq!(info.version, fx.origin.file_at(git::MAIN, "VERSION"));
        assert_eq!(info.commit, main);
        assert_eq!(info.vendored, "greeting 0.1", "submodule content missing");
        assert_eq!(info.build, 1);
        // The closing summary names each image with the registry's digest
        // (shortened; the image's own line has it whole) and its status.
        let digest = fx.registry.digest(&fx.repo(service), "latest").unwrap();
        let image = fx.image(service, "latest");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(&format!("  {service} "))
                    && l.contains(&image)
                    && l.contains(&digest[..19])
                    && l.ends_with("pushed")),
            "no summary line for {image} with {digest}:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("{image}@{digest}")),
            "{}",
            out.stderr
        );
    }
}

/// `ops build --ref v1.2.0`
#[test]
fn build_a_release_tag() {
    let fx = BuildFixture::new();
    let feature = fx.origin.rev_parse(git::FEATURE);
    fx.origin.tag("v1.2.0", &feature, Some("release 1.2.0"));

    fx.build_ok(&["--ref", "v1.2.0"]);

    for service in SERVICES {
        let info = fx.service_info(service, "latest");
        assert_eq!(info.version, "hello feature");
        assert_eq!(info.commit, feature);
    }
}

/// `ops build --service api`
#[test]
fn build_only_one_service() {
    let fx = BuildFixture::new();
    fx.build_ok(&["--service", "api"]);

    assert_eq!(fx.registry.catalog(), [fx.repo("api")]);
    assert_eq!(fx.service_info("api", "latest").service, "api");
    assert!(
        fx.node_images().iter().all(|image| image.contains("/api:")),
        "other services were built: {:?}",
        fx.node_images()
    );
}

/// `ops build --tag abc123 --no-push`
#[test]
fn build_with_custom_tag_without_pushing() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--tag", "abc123", "--no-push"]);

    fx.assert_nothing_pushed();
    assert!(
        !fx.registry.log().contains("PUT /v2/"),
        "something was uploaded to the registry:\n{}",
        fx.registry.log()
    );
    let expected: Vec<String> = SERVICES.iter().map(|s| fx.image(s, "abc123")).collect();
    assert_eq!(sorted(fx.node_images()), sorted(expected.clone()));
    // The images on the node hold what this build produced.
    for image in &expected {
        let labels = fx
            .docker
            .run(&["image", "inspect", "--format", "{{.Id}}", image]);
        assert!(labels.trim().starts_with("sha256:"), "{labels}");
    }
    assert!(out.stderr.contains("abc123"), "{}", out.stderr);
}

/// `ops build -j 3`, and `-j 1` for contrast: with one job, each image is
/// built before the next one starts; with three, all start before any is
/// done.
#[test]
fn build_with_parallel_and_serial_jobs() {
    let fx = BuildFixture::new();

    let parallel = fx.build_ok(&["-j", "3", "--tag", "j3", "--output", "json"]);
    let events = json_events(&parallel.stdout);
    let before_first_built: Vec<&Value> = image_step(&events)
        .take_while(|e| !(e["event"] == "image" && e["status"] == "built"))
        .collect();
    for service in SERVICES {
        assert!(
            before_first_built
                .iter()
                .any(|e| e["event"] == "output" && e["label"] == service),
            "with -j 3, {service} had not started before the first image was built:\n{}",
            parallel.stdout
        );
    }

    let serial = fx.build_ok(&["-j", "1", "--tag", "j1", "--output", "json"]);
    let events = json_events(&serial.stdout);
    // During the image step, each image's output forms one block: no image
    // prints anything once the next one has started.
    let mut blocks: Vec<&str> = image_step(&events)
        .filter(|e| e["event"] == "output")
        .filter_map(|e| e["label"].as_str())
        .collect();
    blocks.dedup();
    assert_eq!(
        blocks.len(),
        SERVICES.len(),
        "with -j 1, image builds overlapped: {blocks:?}\n{}",
        serial.stdout
    );

    for tag in ["j3", "j1"] {
        for service in SERVICES {
            assert_eq!(fx.service_info(service, tag).service, service);
        }
    }
    assert_eq!(fx.service_info("api", "j1").build, 2);
}

/// The events between the start of the image step and the next step.
fn image_step(events: &[Value]) -> impl Iterator<Item = &Value> {
    events
        .iter()
        .skip_while(|e| !(e["event"] == "step_started" && e["step"] == "images"))
        .skip(1)
        .take_while(|e| e["event"] != "step_started")
}

/// `ops build -f ops.prod.toml`, here from another folder, with an
/// `ops.toml` beside it that would build elsewhere.
#[test]
fn build_with_another_config_file() {
    let mut fx = BuildFixture::new();
    fx.config.branch = Some(git::FEATURE.into());
    fx.write_config_to("deploy/ops.prod.toml");
    // The default file points at a repository that does not exist.
    fx.config.repo = fx.dir().join("nowhere.git").display().to_string();
    fx.write_config();

    let before = fx.node.logins();
    fx.ops()
        .args(["build", "-f", "deploy/ops.prod.toml", "--service", "web"])
        .run()
        .expect_success();
    assert_eq!(fx.node.logins() - before, 1);

    assert_eq!(fx.registry.catalog(), [fx.repo("web")]);
    assert_eq!(fx.service_info("web", "latest").version, "hello feature");
}

/// `--output json`: one JSON object per line, ending with the summary whose
/// digests are the registry's.
#[test]
fn json_output_reports_the_pushed_digests() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--output", "json"]);
    let events = json_events(&out.stdout);

    let summary = events
        .iter()
        .filter(|e| e["event"] == "summary")
        .collect::<Vec<_>>();
    assert_eq!(summary.len(), 1, "{}", out.stdout);
    assert_eq!(
        events.last().map(|e| e["event"].clone()),
        Some(Value::from("summary"))
    );
    let images = summary[0]["images"].as_array().expect("images array");
    assert_eq!(images.len(), SERVICES.len());
    for image in images {
        let service = image["service"].as_str().unwrap();
        assert_eq!(image["image"], fx.image(service, "latest"));
        let digest = fx.registry.digest(&fx.repo(service), "latest").unwrap();
        assert_eq!(image["digest"], digest, "{service}");
        assert!(image["seconds"].as_f64().unwrap() > 0.0);
    }
}

/// `--dry-run` prints the plan and touches nothing: no login on the node.
#[test]
fn dry_run_touches_nothing() {
    let fx = BuildFixture::new();
    let out = fx.build(&["--dry-run"]);
    out.expect_success();
    for service in SERVICES {
        assert!(
            out.stderr.contains(&fx.image(service, "latest")),
            "plan lacks {service}:\n{}",
            out.stderr
        );
    }
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
    assert!(!fx.build_path().exists());
    fx.assert_nothing_pushed();
    assert!(fx.node_images().is_empty());
}

/// Without `[build.image]`: sync and build command only.
#[test]
fn no_image_section_means_sync_and_build_only() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.build_ok(&[]);
    assert!(fx.build_path().join("target/release/api.txt").is_file());
    fx.assert_nothing_pushed();
    assert!(fx.node_images().is_empty());
}

/// `build.path = "~/..."` is under the node user's home, as in a shell.
#[test]
fn build_path_under_the_node_home() {
    let mut fx = BuildFixture::new();
    fx.config.path = "~/builds/hello".into();
    fx.build_ok(&["--service", "api"]);
    assert!(
        fx.node_home()
            .join("builds/hello/target/release/api.txt")
            .is_file(),
        "not built under the node's home"
    );
    assert_eq!(fx.service_info("api", "latest").service, "api");
}
