//! Load times of the built-in plugins: cold (compile with Cranelift and
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

async fn load(dir: &std::path::Path, name: &str, bytes: Arc<[u8]>) -> (Duration, LoadSource) {
    let runtime = Runtime::with_cache(Limits::default(), ComponentCache::at(dir)).expect("runtime");
    let start = Instant::now();
    let plugin = runtime
        .load(name, PluginSource::Builtin, bytes, None)
        .await
        .expect("load");
    (start.elapsed(), plugin.load_source())
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
        for (name, bytes) in BUILTINS {
            let bytes: Arc<[u8]> = Arc::from(*bytes);
            let mut cold = Vec::new();
            let mut warm = Vec::new();
            for _ in 0..COLD_RUNS {
                let dir = tempfile::tempdir().expect("tempdir");
                let (t, source) = load(dir.path(), name, bytes.clone()).await;
                assert_eq!(source, LoadSource::Compiled { stored: true });
                cold.push(t);
                for _ in 0..WARM_RUNS / COLD_RUNS + 1 {
                    let (t, source) = load(dir.path(), name, bytes.clone()).await;
                    assert_eq!(source, LoadSource::Cache);
                    warm.push(t);
                }
            }
            println!(
                "{:<11} {:>9} {:>12} {:>12}",
                name,
                format!("{} B", bytes.len()),
                ms(median(cold)),
                ms(median(warm))
            );
        }
    });
}
