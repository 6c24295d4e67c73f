//! Load times of the built-in plugins and of two third-party ones (the
//! `http-token` test plugin, written with the SDK for API 0.2.0, and the
//! API 0.1.0 rsync fixture), loaded as installed plugins: cold (compile with Cranelift and
//! write the cache) and warm (a new runtime loading the cached artifact),
//! each including linking and the metadata call, plus component sizes.
//!
//! Run: `cargo bench -p ops --bench plugin_load` (or with `--profile dev`
//! to reuse the test build; the dependencies are optimised there too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ops::plugin::{ComponentCache, Limits, LoadSource, PluginSource, Runtime, BUILTINS};

const COLD_RUNS: usize = 3;
const WARM_RUNS: usize = 10;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn load(
    dir: &std::path::Path,
    name: &str,
    bytes: Arc<[u8]>,
    installed: bool,
) -> (Duration, LoadSource) {
    let runtime = Runtime::with_cache(Limits::default(), ComponentCache::at(dir)).expect("runtime");
    let (source, grants) = if installed {
        (
            PluginSource::Path(format!("{name}.wasm").into()),
            Some(Vec::new()),
        )
    } else {
        (PluginSource::Builtin, None)
    };
    let start = Instant::now();
    let plugin = runtime
        .load(name, source, bytes, grants)
        .await
        .expect("load");
    (start.elapsed(), plugin.load_source())
}

/// Every plugin measured: (label, name it is loaded as, bytes, installed?).
fn plugins() -> Vec<(String, &'static str, Arc<[u8]>, bool)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| -> Arc<[u8]> { std::fs::read(root.join(path)).expect(path).into() };
    let mut all: Vec<_> = BUILTINS
        .iter()
        .map(|(name, bytes)| (name.to_string(), *name, Arc::from(*bytes), false))
        .collect();
    all.push((
        "http-token*".into(),
        "http-token",
        read("plugins/dist/testing/http-token.wasm"),
        true,
    ));
    all.push((
        "rsync-0.1*".into(),
        "rsync",
        read("tests/fixtures/plugins/rsync-api-0.1.0.wasm"),
        true,
    ));
    all
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!(
        "{:<11} {:>9} {:>12} {:>12}",
        "plugin", "size", "cold (med)", "warm (med)"
    );
    rt.block_on(async {
        for (label, name, bytes, installed) in plugins() {
            let mut cold = Vec::new();
            let mut warm = Vec::new();
            for _ in 0..COLD_RUNS {
                let dir = tempfile::tempdir().expect("tempdir");
                let (t, source) = load(dir.path(), name, bytes.clone(), installed).await;
                assert_eq!(source, LoadSource::Compiled { stored: true });
                cold.push(t);
                for _ in 0..WARM_RUNS / COLD_RUNS + 1 {
                    let (t, source) = load(dir.path(), name, bytes.clone(), installed).await;
                    assert_eq!(source, LoadSource::Cache);
                    warm.push(t);
                }
            }
            println!(
                "{:<11} {:>9} {:>12} {:>12}",
                label,
                format!("{} B", bytes.len()),
                ms(median(cold)),
                ms(median(warm))
            );
        }
    });
    println!("* third-party: loaded as an installed plugin");
}
