//! A component that imports WASI 0.2 (as Rust's standard library does on
//! `wasm32-wasip2`) loads, and WASI gives it nothing a capability guards:
//! no environment, arguments, files or sockets. What it writes to stdout
//! and stderr reaches its log under its name.

use std::sync::Arc;

use ops::distribution::Registry;
use ops::output::{Format, Printer, Redactor, Verbosity};
use ops::plugin::{CallContext, Limits};

use crate::recorder::{Recorder, Reply};
use crate::support::{rogue_section, runtime, sync_request, wasi_probe_decl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_component_loads_and_reaches_nothing_but_its_log() {
    // A variable the plugin must not see, although the host process has it.
    std::env::set_var("OPS_WASI_PROBE_SECRET", "do-not-leak");
    let (printer, shown) =
        Printer::new(Format::Human, Verbosity::Normal, Redactor::new()).capturing();
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::new(&rt, &[wasi_probe_decl()]).unwrap();
    let probe = registry.sync_strategy("wasi-probe").await.unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let ctx = CallContext::new(Arc::new(printer), std::env::temp_dir()).with_node(node.clone());
    let section = rogue_section("probe", "");
    let outcome = probe.sync(&ctx, sync_request(&section)).await.unwrap();

    let summary = outcome.summary;
    for part in [
        "env=0",
        "args=0",
        "cwd=false",
        "stdin=closed",
        "preopens=0",
        "random=16",
        "wall_after_2020=true",
        "monotonic=true",
    ] {
        assert!(summary.contains(part), "{part} not in {summary}");
    }
    // Sockets are refused outright, name lookups fail.
    assert!(
        summary.contains(r#"tcp=ErrorCode { code: 1, name: "access-denied""#),
        "{summary}"
    );
    assert!(
        summary.contains(r#"lookup=ErrorCode { code: 20, name: "permanent-resolver-failure""#),
        "{summary}"
    );
    assert!(node.commands().is_empty(), "WASI reached the node");

    let shown = shown.lock().unwrap().clone();
    assert!(
        shown.contains("wasi-probe: probe: hello on stdout"),
        "{shown}"
    );
    // The last line had no newline; it is shown when the call ends.
    assert!(shown.contains("wasi-probe: probe: second line"), "{shown}");
    assert!(shown.contains("probe: hello on stderr"), "{shown}");
    assert!(!shown.contains("do-not-leak"), "{shown}");
}
