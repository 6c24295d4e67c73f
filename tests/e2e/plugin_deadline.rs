//! A plugin that waits in WASI (a clock, `poll`) runs no wasm and is in no
//! host call: the wall-clock deadline still stops it, the command ends with
//! the plugin's exit code, and a build lets go of the build path.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::hostile_plugin::{self as hostile, Data, CLOCK_IMPORTS, CLOCK_WAIT};
use crate::support::build::{toml_string, BuildFixture};
use crate::support::ops::{wait_within, OpsOutput};

/// The plugin-time limit these runs get.
const LIMIT: &str = "2";

/// Waits for `child` at most `limit`: a command that is still running
/// then is killed, and the test fails with what it printed.
fn finish_within(child: Child, limit: Duration) -> (OpsOutput, Duration) {
    let start = Instant::now();
    (wait_within(child, limit), start.elapsed())
}

/// A sync strategy whose `metadata` (`in_metadata`) or `sync` waits an hour
/// on the WASI monotonic clock.
fn waiting_plugin(in_metadata: bool) -> Vec<u8> {
    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[]);
    let ok = hostile::sync_ok(&mut data, "synced");
    let (metadata, sync) = if in_metadata {
        (
            format!("{CLOCK_WAIT} (i32.const {meta})"),
            format!("(i32.const {ok})"),
        )
    } else {
        (
            format!("(i32.const {meta})"),
            format!("{CLOCK_WAIT} (i32.const {ok})"),
        )
    };
    hostile::component(&data, CLOCK_IMPORTS, "", &metadata, &sync).to_vec()
}

#[test]
fn plugin_install_of_a_waiting_plugin_ends_at_the_deadline() {
    let fx = BuildFixture::new();
    let file = fx.dir().join("hostile.wasm");
    std::fs::write(&file, waiting_plugin(true)).unwrap();
    let child = fx
        .ops()
        .env("OPS_PLUGIN_TIME_SECS", LIMIT)
        .args(["plugin", "install"])
        .arg(&file)
        .spawn();
    let (out, took) = finish_within(child, Duration::from_secs(60));
    out.expect_code(8)
        .expect_stderr_contains("hostile.wasm ran for more than its time limit of 2.0s")
        .expect_stderr_contains(
            "of plugin code (waits included) during `describe itself` and was stopped",
        );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_build_with_a_waiting_sync_plugin_ends_at_the_deadline_and_unlocks() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command = "true".into();
    let file = fx.dir().join("hostile.wasm");
    std::fs::write(&file, waiting_plugin(false)).unwrap();
    let config = format!(
        "project = \"hello\"\ntarget = {}\n\n[build]\npath = {}\ncommand = \"true\"\n\
         source = \"hostile\"\n\n[plugins.hostile]\npath = {}\n",
        toml_string(&fx.config.target),
        toml_string(&fx.config.path),
        toml_string(&file.display().to_string()),
    );
    fx.home.write("ops.toml", &config);
    let run = || {
        fx.ops()
            .env("OPS_PLUGIN_TIME_SECS", LIMIT)
            .arg("build")
            .spawn()
    };
    let (out, took) = finish_within(run(), Duration::from_secs(60));
    out.expect_code(8).expect_stderr_contains(
        "plugin hostile ran for more than its time limit of 2.0s of plugin code (waits \
         included) during `sync` and was stopped",
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");

    // The build path is not left locked: the next build goes straight in.
    let out = fx.build(&[]);
    out.expect_success();
    assert!(
        !out.stderr.contains("waiting for another ops build"),
        "the stopped run left the path locked:\n{}",
        out.stderr
    );
}
