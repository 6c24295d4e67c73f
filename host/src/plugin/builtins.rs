//! The plugins embedded in the binary.

/// The built-in plugins, compiled by `cargo xtask plugins` and committed,
/// so that building `ops` needs no wasm toolchain.
pub const BUILTINS: &[(&str, &[u8])] = &[
    ("git", include_bytes!("../../../plugins/dist/git.wasm")),
    ("rsync", include_bytes!("../../../plugins/dist/rsync.wasm")),
    (
        "docker",
        include_bytes!("../../../plugins/dist/docker.wasm"),
    ),
    (
        "token-auth",
        include_bytes!("../../../plugins/dist/token-auth.wasm"),
    ),
];
