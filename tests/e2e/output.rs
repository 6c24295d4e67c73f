//! What a person or a script reads of a run: the quiet CI log (Docker's
//! layer progress only with -v, a failed image's log in full, GitHub
//! Actions groups), the summary on failure, the run log kept on disk, and
//! the JSON stream's schema.

use std::fs;
use std::path::PathBuf;

use crate::support::build::{json_events, BuildFixture, SERVICES};
use crate::support::screen::final_screen;

/// Lines only Docker's progress display writes.
const NOISE: &[&str] = &["DONE", "writing image", "naming to", "Layer already exists"];

fn run_logs(fx: &BuildFixture) -> Vec<PathBuf> {
    let runs = fx.home.path().join(".local/state/ops/runs");
    let mut logs = Vec::new();
    for project in fs::read_dir(&runs).into_iter().flatten().flatten() {
        for log in fs::read_dir(project.path()).into_iter().flatten().flatten() {
            logs.push(log.path());
        }
    }
    logs
}

#[test]
fn ci_log_leaves_out_layer_progress_unless_verbose() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--no-push"]);
    for noise in NOISE {
        assert!(
            !out.stderr.contains(noise),
            "{noise:?} shown:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("STATUS"), "{}", out.stderr);
    assert!(!out.stderr.contains('\x1b'), "colour in a pipe");

    let verbose = fx.build_ok(&["--no-push", "-v"]);
    assert!(verbose.stderr.contains("[api] #"), "{}", verbose.stderr);
    // Every run has its full log, at -v detail, whatever was shown.
    let logs = run_logs(&fx);
    assert_eq!(logs.len(), 2, "{logs:?}");
    let quiet_log = logs
        .iter()
        .map(|l| fs::read_to_string(l).unwrap())
        .find(|l| !l.contains("remote exec"))
        .unwrap_or_default();
    assert!(quiet_log.contains("[api] #"), "{quiet_log}");
}

#[test]
fn failed_image_shows_its_log_the_summary_and_the_run_log() {
    let mut fx = BuildFixture::new();
    fx.image_config().services.push("ghost".into());
    fx.write_config();
    let out = fx
        .ops()
        .env("GITHUB_ACTIONS", "true")
        .env("CLICOLOR_FORCE", "1")
        .args(["build", "-j", "4"])
        .run();
    out.expect_code(6);
    let err = &out.stderr;
    assert!(err.contains("::group::==> images"), "{err}");
    assert!(err.contains("::endgroup::"), "{err}");
    assert!(err.contains("---- full log of ghost ----"), "{err}");
    assert!(err.contains("\x1b[1;31merror:\x1b[0m"), "{err}");
    // Only the failed image's log is shown in full.
    assert!(!err.contains("full log of api"), "{err}");
    let table: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.contains("SERVICE"))
        .take(SERVICES.len() + 3)
        .collect();
    assert!(
        table
            .iter()
            .any(|l| l.contains("ghost") && l.contains("failed")),
        "{err}"
    );
    for service in SERVICES {
        assert!(
            table
                .iter()
                .any(|l| l.contains(service) && l.contains("built")),
            "{service}: {err}"
        );
    }
    assert!(table.iter().any(|l| l.contains("Failed after")), "{err}");
    let path = err
        .lines()
        .find_map(|l| l.strip_prefix("full log: "))
        .unwrap_or_else(|| panic!("no log path:\n{err}"));
    let log = fs::read_to_string(path).unwrap();
    assert!(log.contains("[ghost]"), "{log}");
    assert_eq!(run_logs(&fx), [PathBuf::from(path)]);
}

#[test]
fn every_json_event_carries_the_schema_and_connect_finishes() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["--output", "json"]);
    let events = json_events(&out.stdout);
    assert!(events.len() > 5, "{}", out.stdout);
    for event in &events {
        assert_eq!(event["schema"], 1, "{event}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "step_finished" && e["step"] == "connect"),
        "{}",
        out.stdout
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["ok"], true);
    for image in summary["images"].as_array().unwrap() {
        assert_eq!(image["status"], "pushed", "{image}");
    }
}

#[test]
fn the_screen_model_replaces_redrawn_lines() {
    let screen = final_screen("a\n\r\x1b[Jspin 1\n\r\x1b[1A\r\x1b[Jdone\n\x1b[1;32mok\x1b[0m\n");
    assert_eq!(screen, ["a", "done", "ok"]);
}

/// On a terminal: the live board (spinners, rolling output) is drawn while
/// the run goes, and what stays on the screen at the end is the finished
/// steps, one line per image and the whole summary.
#[test]
fn live_display_on_a_terminal_ends_with_the_summary() {
    let fx = BuildFixture::new();
    fx.write_config();
    let out = fx.ops().args(["build"]).run_on_terminal();
    out.expect_success();
    let raw = &out.stdout;
    assert!(raw.contains("\x1b[J"), "no live display:\n{raw}");
    assert!(raw.contains('│'), "no rolling output window:\n{raw}");
    let screen = final_screen(raw);
    let text = screen.join("\n");
    for spinner in ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏', '│'] {
        assert!(!text.contains(spinner), "{spinner} left on screen:\n{text}");
    }
    for step in ["connect", "sync", "build", "images", "push"] {
        assert!(
            screen.iter().any(|l| l.starts_with(&format!("✓ {step} "))),
            "{step}:\n{text}"
        );
    }
    let summary: Vec<&String> = screen
        .iter()
        .skip_while(|l| !l.contains("SERVICE"))
        .collect();
    assert_eq!(summary.len(), SERVICES.len() + 2, "{text}");
    for (row, service) in summary[1..].iter().zip(SERVICES) {
        assert!(row.trim_start().starts_with(service), "{text}");
        assert!(row.ends_with("pushed"), "{text}");
    }
    assert!(
        summary.last().unwrap().starts_with("Finished in "),
        "{text}"
    );
    // Nothing is drawn after the summary: it is the last thing written.
    assert!(raw.trim_end().ends_with('s'), "{raw:?}");
}
