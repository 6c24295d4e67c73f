//! What the run waits on: its count of round trips to the node, and the
//! registry login, which comes once the build command has ended (no code of
//! the repository runs beside the credential) and before any image.

use crate::support::build::{json_events, BuildFixture, TOKEN_VAR};

/// Round trips the example build (git source, three services, push) waits
/// on at most, connection included: 8 to connect and authenticate, the
/// sync (with the build lock and the scratch root beside it), the build
/// command, the registry login (its throwaway config directory is made by
/// the login's own command), the images and the pushes one each.
/// The login is on the critical path on purpose: it may only start once
/// the build command (any code of the repository) has ended, and must end
/// before the first image build, whose base image may come from that
/// registry. One more means a change put a request on the critical path.
/// (A run may need one less: whether a channel opened ahead is ready before
/// a command asks for it is a race on loopback.)
const EXAMPLE_ROUND_TRIPS: u64 = 13;

#[test]
fn the_example_build_waits_on_a_known_number_of_round_trips() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--output", "json"]);
    let events = json_events(&out.stdout);
    let summary = events
        .iter()
        .find(|e| e["event"] == "summary")
        .expect("a summary event");
    let counted = summary["round_trips"].as_u64().expect("round_trips");
    eprintln!("the example build waited on {counted} round trips");
    assert!(
        (EXAMPLE_ROUND_TRIPS - 2..=EXAMPLE_ROUND_TRIPS).contains(&counted),
        "{counted} round trips, expected at most {EXAMPLE_ROUND_TRIPS}:\n{}",
        out.stdout
    );

    // `-v` says it too.
    let out = fx.build_ok(&["-v"]);
    assert!(
        out.stderr.contains("round trips to"),
        "no round trip count in -v output:\n{}",
        out.stderr
    );
}

#[test]
fn a_refused_login_is_reported_before_anything_is_built_or_pushed() {
    let mut fx = BuildFixture::new();
    let finished = fx.marker("build-finished");
    fx.config.command = format!("sh build.sh && touch '{}'", finished.display());
    fx.write_config();
    let out = fx
        .ops()
        .env(TOKEN_VAR, "wrong-token-0123456789")
        .args(["build"])
        .run();
    out.expect_code(7);
    assert!(out.stderr.contains("login"), "{}", out.stderr);
    // The login comes only once the build command has ended, and before
    // the first image build.
    assert!(
        finished.exists(),
        "the login went out before the build command ended"
    );
    assert!(
        fx.node_images().is_empty(),
        "images built after a refused login: {:?}",
        fx.node_images()
    );
    fx.assert_nothing_pushed();
    assert!(
        fx.node_tmp_entries().is_empty(),
        "{:?}",
        fx.node_tmp_entries()
    );
}
