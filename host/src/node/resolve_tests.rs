//! Where a resolution error points: at the value that caused it, read from
//! the parsed config, not at a key path looked up again.

use std::path::Path;

use super::*;

fn config(text: &str) -> Config {
    Config::parse(Path::new("ops.toml"), text, &|_| None).unwrap()
}

/// The error's text and the `file:line:column` it starts with.
fn resolve_error(text: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = config(text);
    let err = runtime
        .block_on(resolve_with(&config, &SshConfigFile::default()))
        .expect_err("nothing here resolves");
    err.to_string()
}

#[test]
fn an_unknown_build_node_is_reported_at_its_value() {
    let text = "target = \"ok@example.com\"\n\n[build]\npath = \"/srv\"\nnode =   \"ghost\"\n";
    let err = resolve_error(text);
    assert!(
        err.starts_with("ops.toml:5:10: build.node = ghost: no [nodes] entry"),
        "{err}"
    );
}

#[test]
fn an_unknown_target_id_is_reported_at_its_value() {
    let err = resolve_error("# inventory below\ntarget = 7\n");
    assert!(err.starts_with("ops.toml:2:10: target = 7:"), "{err}");
}

#[test]
fn a_malformed_target_is_reported_at_its_value() {
    let err = resolve_error("\n\ntarget = \"@host\"\n");
    assert!(
        err.starts_with("ops.toml:3:10: target = \"@host\" is not a valid SSH destination"),
        "{err}"
    );
}

#[test]
fn a_project_without_an_api_is_reported_at_its_value() {
    let err = resolve_error("\nproject = \"shop\"\n");
    assert!(
        err.starts_with("ops.toml:2:11: project = \"shop\" needs [api] url"),
        "{err}"
    );
}

#[test]
fn nothing_configured_points_at_the_top_of_the_file() {
    let err = resolve_error("[build]\npath = \"/srv\"\n");
    assert!(
        err.starts_with("ops.toml:1:1: no build node configured"),
        "{err}"
    );
}
