//! Misbehaving plugins are stopped with an error naming them; the host
//! never panics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ops::distribution::Registry;
use ops::exit::{Exit, ExitStatusOf};
use ops::output::{Format, Printer, Redactor, Verbosity};
use ops::plugin::{CallContext, Limits, PluginError, PluginSource, SyncOutcome};

use crate::recorder::{Recorder, Reply};
use crate::support::{context, rogue_decl, rogue_section, runtime, sync_request};

const SMALL: Limits = Limits {
    memory_bytes: 32 << 20,
    guest_time: Duration::from_secs(1),
    call_time: Duration::from_secs(60),
};

async fn run(action: &str, arg: &str, node: Arc<Recorder>) -> Result<SyncOutcome, PluginError> {
    let (rt, _cache) = runtime(SMALL);
    let registry = Registry::new(&rt, &[rogue_decl(&["remote-exec"])]).unwrap();
    let rogue = registry.sync_strategy("rogue").await.unwrap();
    let section = rogue_section(action, arg);
    rogue.sync(&context(&node), sync_request(&section)).await
}

fn idle_node() -> Arc<Recorder> {
    Arc::new(Recorder::new(|_| Reply::ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_by_the_deadline() {
    let start = Instant::now();
    let err = run("loop", "", idle_node()).await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, PluginError::Deadline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin rogue ran for more than its time limit of 1.0s of plugin code (waits included) \
         during `sync` and was stopped"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
    assert!(
        elapsed < Duration::from_secs(10),
        "stopped only after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_in_host_calls_does_not_count() {
    // 1.5 s in a remote command, against a 1 s budget of plugin time.
    let node = Arc::new(Recorder::new(|_| Reply {
        delay: Duration::from_millis(1500),
        ..Reply::default()
    }));
    let outcome = run("busy-then-host", "1", node.clone()).await.unwrap();
    assert_eq!(outcome.summary, "done after host call (code 0)");
    assert_eq!(node.argv(), ["sleep 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_memory_is_stopped_by_the_limit() {
    let err = run("memory", "", idle_node()).await.unwrap_err();
    assert!(matches!(err, PluginError::MemoryLimit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin rogue exceeded its memory limit of 32 MiB and was stopped"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_is_an_error_naming_the_plugin() {
    let err = run("trap", "", idle_node()).await.unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err:?}");
    let text = err.to_string();
    // A Rust panic in a plugin aborts, which wasm reports as a trap.
    assert_eq!(
        text,
        "plugin rogue crashed (trap) during `sync`: wasm trap: wasm `unreachable` instruction executed"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);

    // The plugin is still usable afterwards: every call has its own store.
    let ok = run("log", "after the crash", idle_node()).await.unwrap();
    assert_eq!(ok.summary, "logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_can_be_cancelled_while_the_node_works() {
    // As on Ctrl-C: the pipeline drops the future of a plugin call that is
    // waiting on the node. Nothing may panic, and the plugin stays usable.
    let (rt, _cache) = runtime(SMALL);
    let registry = Registry::new(&rt, &[rogue_decl(&["remote-exec"])]).unwrap();
    let rogue = registry.sync_strategy("rogue").await.unwrap();
    let slow = Arc::new(Recorder::new(|_| Reply {
        delay: Duration::from_secs(30),
        ..Reply::default()
    }));
    let section = rogue_section("remote-exec", "30");
    let request = || sync_request(&section);
    // Dropped once it waits on the node, not after a fixed time: a window
    // would also have to cover instantiation, which a loaded machine makes
    // longer than any window, and the drop would then test nothing.
    let slow_context = context(&slow);
    let mut call = Box::pin(rogue.sync(&slow_context, request()));
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tokio::select! {
                outcome = &mut call => panic!(
                    "the call ended ({}) while the node still works",
                    if outcome.is_ok() { "ok" } else { "error" }
                ),
                _ = tokio::time::sleep(Duration::from_millis(10)) => {
                    if !slow.argv().is_empty() {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(reached.is_ok(), "the call never reached the node");
    drop(call);
    assert_eq!(slow.argv(), ["sleep 30"]);

    let fast = Arc::new(Recorder::new(|_| Reply::stdout("done")));
    let outcome = rogue.sync(&context(&fast), request()).await.unwrap();
    assert_eq!(
        outcome.summary,
        "remote exited with code 0, stdout \"done\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_is_a_trap_naming_the_plugin() {
    let err = run("recurse", "", idle_node()).await.unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err:?}");
    assert!(err.to_string().starts_with("plugin rogue crashed"), "{err}");
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_cut_with_a_note() {
    let (printer, shown) =
        Printer::new(Format::Human, Verbosity::Normal, Redactor::new()).capturing();
    // 200 MiB through the log takes seconds of guest time on a loaded
    // machine; this test is about the cut, not the time limit.
    let (rt, _cache) = runtime(Limits {
        guest_time: Duration::from_secs(60),
        ..SMALL
    });
    let registry = Registry::new(&rt, &[rogue_decl(&[])]).unwrap();
    let rogue = registry.sync_strategy("rogue").await.unwrap();
    let section = rogue_section("log-flood", "");
    let node = idle_node();
    let ctx = CallContext::new(Arc::new(printer), std::env::temp_dir()).with_node(node);
    let outcome = rogue.sync(&ctx, sync_request(&section)).await.unwrap();
    assert_eq!(outcome.summary, "flooded");
    let shown = shown.lock().unwrap().clone();
    // 200 MiB were logged; about 1 MiB is shown, then one note.
    assert!(shown.len() < 2 << 20, "{} bytes shown", shown.len());
    assert!(shown.len() > 512 << 10, "{} bytes shown", shown.len());
    assert_eq!(
        shown
            .matches("logged more than 1 MiB in one call; the rest of its log is left out")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_error_is_cut_and_invalid_utf8_is_refused() {
    let err = run("huge-error", "", idle_node()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 32 << 10, "{} bytes", text.len());
    assert!(
        text.contains("more bytes left out]"),
        "{}",
        &text[text.len() - 80..]
    );

    // The component model checks every string crossing the boundary.
    let err = run("bad-utf8", "", idle_node()).await.unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err:?}");
    assert!(err.to_string().contains("plugin rogue"), "{err}");
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_output_flood_reaches_the_plugin_bounded() {
    // 64 MiB of output from one remote command: the plugin gets the end of
    // it, marked truncated, and the host holds no more than that.
    let node = Arc::new(Recorder::new(|_| Reply {
        stdout: vec![b'y'; 64 << 20],
        ..Reply::ok()
    }));
    let outcome = run("remote-exec", "0", node).await.unwrap();
    // The last MiB of each stream is kept.
    assert!(
        outcome.summary.len() <= (1 << 20) + 4096,
        "{} bytes reached the plugin",
        outcome.summary.len()
    );
    assert!(
        outcome.summary.contains("yyyy"),
        "{}",
        &outcome.summary[..80]
    );
}

/// Finding: a plugin with no capabilities blocked in a WASI clock wait ran
/// no wasm (no epoch check) and was in no host call, so nothing stopped
/// it, and `plugin install`, `list`, `config check` and `build` hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_waiting_on_a_wasi_clock_is_stopped_by_the_deadline() {
    use crate::hostile::{self, Data, CLOCK_IMPORTS, CLOCK_WAIT};

    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[]);
    let wait_then = |at: u32| format!("{CLOCK_WAIT} (i32.const {at})");
    let wasm = hostile::component(&data, CLOCK_IMPORTS, "", &wait_then(meta), "unreachable");
    let (rt, _cache) = runtime(SMALL);
    let start = Instant::now();
    // Not waiting forever for a test that fails: an hour-long wait is one
    // that was not stopped.
    let loaded = tokio::time::timeout(
        Duration::from_secs(30),
        rt.load("hostile", PluginSource::Builtin, wasm, None),
    )
    .await;
    let elapsed = start.elapsed();
    let Ok(loaded) = loaded else {
        panic!("the plugin was still waiting after {elapsed:?}, against a 1 s limit");
    };
    let err = loaded.err().expect("the wait must fail the load");
    assert!(matches!(err, PluginError::Deadline { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin hostile ran for more than its time limit of 1.0s of plugin code (waits \
         included) during `describe itself` and was stopped"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
    assert!(
        elapsed < Duration::from_secs(10),
        "stopped only after {elapsed:?}"
    );
}

/// Finding: the memory limit held per memory, so a component with ten
/// memories (or ten core instances of one) held ten times the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_is_the_sum_of_all_memories() {
    use crate::hostile::{self, Data};

    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[]);
    // Ten memories of 12.5 MiB: each under the 32 MiB limit, 125 MiB in all.
    let memories = "(memory 200) ".repeat(10);
    let wasm = hostile::component_with_memories(
        &data,
        "",
        "",
        &format!("(i32.const {meta})"),
        "unreachable",
        &memories,
    );
    let (rt, _cache) = runtime(SMALL);
    let err = rt
        .load("hostile", PluginSource::Builtin, wasm, None)
        .await
        .err()
        .expect("125 MiB of memories must not load under a 32 MiB limit");
    assert!(matches!(err, PluginError::MemoryLimit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin hostile exceeded its memory limit of 32 MiB and was stopped"
    );
}

/// Finding: a plugin file in the text format was parsed and loaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_format_is_not_a_plugin() {
    let text = r#"(component
        (import "ops:plugin/log@0.2.0" (instance))
    )"#;
    let (rt, _cache) = runtime(SMALL);
    let err = rt
        .load(
            "text",
            PluginSource::Builtin,
            text.as_bytes().to_vec().into(),
            None,
        )
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "plugin text is not a valid ops plugin: it is not a binary WebAssembly component (no \
         WebAssembly magic bytes; the text format is not accepted)"
    );
}
