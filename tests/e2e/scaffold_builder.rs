//! A third-party image builder made with `ops plugin new --kind
//! image-builder` and built with `ops plugin build`, unchanged, is handled
//! like the built-ins: the typed error it returns decides, not its text. A
//! push the registry answers with 500 is retried and the build succeeds; a
//! push it refuses (401) fails at once with exit 7. The registry is the
//! real one; the failing answers come from the fault proxy in front of it
//! (no registry fails on demand).

use std::path::{Path, PathBuf};

use crate::support::author::Author;
use crate::support::build::{toml_string, BuildFixture};
use crate::support::docker::lock_image_removals;
use crate::support::fault_proxy::{FaultProxy, Rule};

const NAME: &str = "acme-builder";

/// `ops plugin new` and `ops plugin build` in the fixture's HOME.
fn scaffolded_builder(fx: &BuildFixture) -> PathBuf {
    let author = Author::at(fx.home.path());
    author
        .ops(&["plugin", "new", NAME, "--kind", "image-builder"])
        .expect_success();
    author.build(NAME).0
}

/// A fixture whose pushes go through a proxy answering `times` manifest
/// uploads with `status`, and whose image builder is the component at
/// `wasm`, picked as the scaffold's README says.
fn fixture(wasm: &Path, status: u16, times: usize) -> (BuildFixture, FaultProxy) {
    let mut fx = BuildFixture::new();
    let rule = Rule {
        method: "PUT",
        path: "/manifests/",
        status,
        times,
    };
    let proxy = FaultProxy::start(fx.registry.port(), vec![rule]);
    let namespace = fx.repo("x").trim_end_matches("/x").to_owned();
    let image = fx.image_config();
    image.registry = proxy.host();
    image.prefix = format!("{}/{namespace}", proxy.host());
    write_config(&fx, wasm);
    (fx, proxy)
}

fn write_config(fx: &BuildFixture, wasm: &Path) {
    let text = fx.config.to_toml().replacen(
        "[build.image]\n",
        &format!("[build.image]\nplugin = \"{NAME}\"\n"),
        1,
    );
    assert!(text.contains(&format!("plugin = \"{NAME}\"")), "{text}");
    fx.home.write(
        "ops.toml",
        &format!(
            "{text}\n[plugins.{NAME}]\npath = {}\ngrant = [\"remote-exec\", \"remote-files\"]\n",
            toml_string(&wasm.display().to_string())
        ),
    );
}

#[test]
fn a_scaffolded_builder_is_retried_on_a_500_and_not_on_a_refusal() {
    let (fx, proxy) = fixture(Path::new("/nonexistent"), 500, 1);
    let wasm = scaffolded_builder(&fx);
    write_config(&fx, &wasm);

    // The scaffold runs `docker build`: dockerd's legacy builder, which
    // fails when test images vanish during its cache lookup.
    let removals = lock_image_removals();
    // `ops build` as is: the fixture's `build` would write its own ops.toml.
    let out = fx
        .ops()
        .arg("build")
        .args(["--service", "api", "--tag", "r1"])
        .run();
    drop(removals);
    out.expect_success()
        .expect_stderr_contains("trying again in 1s (attempt 2 of 3)");
    assert_eq!(proxy.answered().len(), 1, "{:?}", proxy.answered());
    assert!(
        fx.registry.digest(&fx.repo("api"), "r1").is_some(),
        "api is not in the registry:\n{}",
        out.stderr
    );
    out.expect_stderr_contains(&format!("1 image with {NAME}"));

    let (refused, proxy) = fixture(&wasm, 401, 1000);
    let removals = lock_image_removals();
    let out = refused
        .ops()
        .arg("build")
        .args(["--service", "api", "--tag", "r2"])
        .run();
    drop(removals);
    out.expect_code(7).expect_stderr_contains("push failed");
    assert!(
        !out.stderr.contains("trying again"),
        "a refusal was retried:\n{}",
        out.stderr
    );
    assert!(!proxy.answered().is_empty());
    // Layers may be in (the proxy refuses the manifest), the tag is not.
    assert_eq!(refused.registry.digest(&refused.repo("api"), "r2"), None);
}
