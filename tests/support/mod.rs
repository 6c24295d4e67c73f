//! Harness shared by the integration tests: real servers on 127.0.0.1 with
//! throwaway keys, data directories and config.

pub mod agent;
pub mod author;
pub mod build;
pub mod buildah;
pub mod docker;
pub mod eventually;
pub mod fault_proxy;
pub mod freeze_proxy;
pub mod git;
pub mod git_http;
pub mod home;
pub mod http;
pub mod keeper;
pub mod local_user;
pub mod ops;
pub mod port;
pub mod process;
pub mod pty;
pub mod registry;
pub mod screen;
pub mod sshd;
pub mod warm_components;
pub mod web;

/// The repository's root folder (the host crate's parent).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The lowercase hex sha256 of `bytes`, as ops.lock and the registry name it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
