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
        "buildah",
        include_bytes!("../../../plugins/dist/buildah.wasm"),
    ),
    (
        "token-auth",
        include_bytes!("../../../plugins/dist/token-auth.wasm"),
    ),
];

/// Built-ins whose config may ask for an ssh-agent on the node (the git
/// sync: `forward_agent`, `ssh_key`). API 0.3.0 has no capability a plugin
/// could declare for an agent, so this list is the only way to one.
const AGENT_USERS: &[&str] = &["git"];

/// Whether the embedded plugin `name` may be given an agent.
pub(super) fn may_use_agent(name: &str) -> bool {
    AGENT_USERS.contains(&name)
}
