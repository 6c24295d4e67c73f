//! The SDK crate and the WIT contract, carried in the `ops` binary so that
//! a new plugin builds with nothing but `ops` and crates.io.
//!
//! The SDK's sources are written verbatim into `vendor/ops-plugin-sdk/` of
//! the new crate and the WIT into `wit/v0.3.0/`: the SDK finds the WIT at
//! `../../wit/v0.3.0`, which then resolves inside the new crate.

/// (path in the new crate, contents). A test checks that every file of
/// `plugins/sdk/src` is here.
pub const SDK_FILES: &[(&str, &str)] = &[
    (
        "vendor/ops-plugin-sdk/Cargo.toml",
        include_str!("../../../plugins/sdk/Cargo.toml"),
    ),
    (
        "vendor/ops-plugin-sdk/src/config.rs",
        include_str!("../../../plugins/sdk/src/config.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/encoding.rs",
        include_str!("../../../plugins/sdk/src/encoding.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/error.rs",
        include_str!("../../../plugins/sdk/src/error.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/exec.rs",
        include_str!("../../../plugins/sdk/src/exec.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/keys.rs",
        include_str!("../../../plugins/sdk/src/keys.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/lib.rs",
        include_str!("../../../plugins/sdk/src/lib.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/logger.rs",
        include_str!("../../../plugins/sdk/src/logger.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/size.rs",
        include_str!("../../../plugins/sdk/src/size.rs"),
    ),
    (
        "vendor/ops-plugin-sdk/src/version.rs",
        include_str!("../../../plugins/sdk/src/version.rs"),
    ),
    (
        "wit/v0.3.0/plugin.wit",
        include_str!("../../../wit/v0.3.0/plugin.wit"),
    ),
];

/// The lock file the built-ins are built with: a new crate starts from
/// the same, tested, dependency versions (cargo drops the entries it does
/// not use on the first build).
pub const LOCK_FILE: &str = include_str!("../../../plugins/Cargo.lock");

/// The release profile of the plugins workspace, for the new crate's own.
pub const PLUGINS_MANIFEST: &str = include_str!("../../../plugins/Cargo.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn repo() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    #[test]
    fn every_sdk_source_file_is_embedded() {
        let src = repo().join("plugins/sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                format!(
                    "vendor/ops-plugin-sdk/src/{}",
                    p.file_name().unwrap().to_string_lossy()
                )
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = SDK_FILES
            .iter()
            .map(|(path, _)| path.to_string())
            .filter(|p| p.starts_with("vendor/ops-plugin-sdk/src/"))
            .collect();
        assert_eq!(embedded, on_disk, "embed every file of {}", src.display());
        assert!(
            !repo().join("plugins/sdk/build.rs").exists(),
            "the SDK has a build script; embed it too"
        );
    }

    #[test]
    fn the_sdk_manifest_stands_alone() {
        let manifest = SDK_FILES[0].1;
        assert!(
            !manifest.contains("workspace = true"),
            "plugins/sdk/Cargo.toml must not inherit from the plugins workspace:\n{manifest}"
        );
    }

    #[test]
    fn the_sdk_finds_the_wit_where_the_new_crate_puts_it() {
        let lib = SDK_FILES
            .iter()
            .find(|(p, _)| p.ends_with("src/lib.rs"))
            .unwrap()
            .1;
        assert!(lib.contains("path: \"../../wit/v0.3.0\""));
        assert!(SDK_FILES.iter().any(|(p, _)| *p == "wit/v0.3.0/plugin.wit"));
    }
}
