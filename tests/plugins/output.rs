//! What a plugin's words and a local program's output become on the
//! user's terminal and in the run log: a local program's stdout is data for
//! the plugin and is never shown or logged, even at `-v`; terminal control
//! sequences in a plugin's log are shown as text, never obeyed.

use std::sync::{Arc, Mutex};

use ops::distribution::Registry;
use ops::output::{Format, Printer, Redactor, RunLog, Verbosity};
use ops::plugin::{CallContext, Limits, SyncOutcome};

use crate::recorder::{Recorder, Reply};
use crate::support::{rogue_decl, rogue_section, runtime, sync_request};

/// Runs the rogue plugin's `action` with `grants` through a printer at
/// `verbosity` that also writes the run log; returns what the terminal
/// showed and what the log holds.
async fn shown(
    verbosity: Verbosity,
    grants: &[&str],
    action: &str,
    arg: &str,
) -> (SyncOutcome, String, String) {
    let state = tempfile::tempdir().unwrap();
    let (printer, terminal) = Printer::new(Format::Human, verbosity, Redactor::new()).capturing();
    let log = RunLog::create(state.path(), state.path()).unwrap();
    let log_path = log.path().to_owned();
    printer.attach_log(log);
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::new(&rt, &[rogue_decl(grants)]).unwrap();
    let rogue = registry.sync_strategy("rogue").await.unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let ctx = CallContext::new(Arc::new(printer), std::env::temp_dir()).with_node(node);
    let section = rogue_section(action, arg);
    let outcome = rogue.sync(&ctx, sync_request(&section)).await.unwrap();
    drop(ctx);
    let terminal: Arc<Mutex<String>> = terminal;
    let terminal = terminal.lock().unwrap().clone();
    (
        outcome,
        terminal,
        std::fs::read_to_string(log_path).unwrap(),
    )
}

/// A Docker credential helper answers `{"Secret":...}` on stdout: the
/// plugin that ran it gets the answer, nobody else sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_programs_stdout_is_never_shown_or_logged_even_verbose() {
    // The same value as the other tests that set it: tests run side by side.
    std::env::set_var("OPS_ROGUE_VAR", "rogue-value-1");
    let grants = ["local-exec:env", "env:OPS_ROGUE_VAR"];
    let (outcome, terminal, log) = shown(Verbosity::Verbose, &grants, "local-env", "").await;
    // The plugin still has its program's answer.
    assert!(outcome.summary.contains("OPS_ROGUE_VAR=rogue-value-1"));
    for (place, text) in [("terminal", &terminal), ("run log", &log)] {
        assert!(
            !text.contains("rogue-value-1") && !text.contains("PATH="),
            "the local program's stdout reached the {place}:\n{text}"
        );
    }
    // What ops did is still there at -v.
    assert!(terminal.contains("local exec: env"), "{terminal}");
}

/// A plugin's log cannot erase lines, retitle the terminal or fake ops's
/// own "Finished" line: every control character is shown as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_sequences_in_a_plugin_log_are_shown_not_obeyed() {
    let attack = "\x1b[2K\x1b[1A\r    Finished release build\x1b]0;pwned\x07\u{9b}2J";
    let (_, terminal, log) = shown(Verbosity::Normal, &[], "log", attack).await;
    for (place, text) in [("terminal", &terminal), ("run log", &log)] {
        assert!(
            !text.contains(['\x1b', '\r', '\x07', '\u{9b}']),
            "a control character reached the {place}: {text:?}"
        );
        assert!(
            text.contains("hello from rogue: \\x1b[2K\\x1b[1A\\r    Finished"),
            "{place}: {text:?}"
        );
    }
}
