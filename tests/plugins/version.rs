//! API versions: refused before anything runs, with both versions named.

use std::sync::Arc;

use ops::exit::{Exit, ExitStatusOf};
use ops::plugin::{Limits, PluginError, PluginSource, SUPPORTED_API_VERSIONS};

use crate::support::runtime;

/// A component built against another API version, whose instantiation
/// would trap (a core start function running `unreachable`): if the host
/// instantiated it before checking, the error would be a trap.
fn component_for(version: &str) -> Arc<[u8]> {
    wat::parse_str(format!(
        r#"(component
            (import "ops:plugin/log@{version}" (instance))
            (core module $m (func $boom unreachable) (start $boom))
            (core instance (instantiate $m))
        )"#
    ))
    .unwrap()
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_api_versions_are_refused_naming_both() {
    let (rt, _cache) = runtime(Limits::default());
    for target in ["0.4.0", "1.0.0", "0.0.9"] {
        let err = rt
            .load("future", PluginSource::Builtin, component_for(target), None)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(err, PluginError::IncompatibleApi { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "plugin future targets plugin API {target}, but this ops implements plugin API 0.3.0, 0.2.0, 0.1.0; \
                 rebuild the plugin against one of those (or use an ops release that implements {target})"
            )
        );
        assert_eq!(ExitStatusOf::exit(&err), Exit::Plugin);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compatible_component_that_is_no_plugin_is_refused_before_running() {
    let (rt, _cache) = runtime(Limits::default());
    // Every supported version passes the version check and reaches the
    // shape check.
    assert_eq!(SUPPORTED_API_VERSIONS, ["0.3.0", "0.2.0", "0.1.0"]);
    for version in SUPPORTED_API_VERSIONS {
        let err = rt
            .load("half", PluginSource::Builtin, component_for(version), None)
            .await
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "plugin half is not a valid ops plugin: it does not export ops:plugin/plugin"
        );
    }
    let err = rt
        .load(
            "junk",
            PluginSource::Builtin,
            Arc::from(&b"\0asm junk"[..]),
            None,
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err:?}");
    assert!(err
        .to_string()
        .starts_with("plugin junk is not a valid ops plugin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_loaded_under_another_name_breaks_the_contract() {
    let (rt, _cache) = runtime(Limits::default());
    let bytes: Arc<[u8]> = std::fs::read(crate::support::rogue_path()).unwrap().into();
    let err = rt
        .load("git", PluginSource::Builtin, bytes, None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "plugin git broke the plugin contract: it calls itself \"rogue\" but is loaded as `git`"
    );
}
