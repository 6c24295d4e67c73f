//! Why an SSH connection could not be made. All of these exit with code 3.

use std::path::PathBuf;

use crate::exit::{Exit, ExitStatusOf};

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot read {path}: {message}")]
    SshConfig { path: PathBuf, message: String },

    #[error("cannot reach {host}:{port}: {message}")]
    Connect {
        host: String,
        port: u16,
        message: String,
    },

    #[error("connecting to {host}:{port} timed out after {seconds}s")]
    Timeout {
        host: String,
        port: u16,
        seconds: u64,
    },

    /// The host presented a key that nothing vouches for.
    #[error(
        "the host key of {host} is not known.\n  {algorithm} key fingerprint is {fingerprint}.\n  \
         Nothing was run. If you trust this key (compare the fingerprint with the node's \
         `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub`), either:\n  \
         - run again with --accept-new-host-key to add it to {known_hosts},\n  \
         - or pin it in ops.toml: host_key = \"{public_key}\""
    )]
    UnknownHostKey {
        host: String,
        algorithm: String,
        fingerprint: String,
        public_key: String,
        known_hosts: String,
    },

    /// The host presented a key different from the recorded one.
    #[error(
        "HOST KEY MISMATCH for {host}: it presented a {algorithm} key with fingerprint \
         {fingerprint}, which is not the key recorded in {recorded_in}.\n  Someone could be \
         intercepting the connection, or the node was reinstalled. Nothing was run.\n  If the \
         change is expected, {fix}"
    )]
    HostKeyMismatch {
        host: String,
        algorithm: String,
        fingerprint: String,
        recorded_in: String,
        fix: String,
    },

    /// known_hosts marks the key (or the CA that signed it) `@revoked`.
    #[error(
        "REVOKED HOST KEY for {host}: its {what} {fingerprint} is marked @revoked in \
         {revoked_in}. Nothing was run; the node's key must be replaced."
    )]
    HostKeyRevoked {
        host: String,
        what: String,
        fingerprint: String,
        revoked_in: String,
    },

    /// A host certificate from a trusted CA that does not vouch for this
    /// host.
    #[error(
        "the host certificate of {host} is signed by the CA in {ca} but is not valid for it: \
         {reason}. Nothing was run."
    )]
    HostCertificate {
        host: String,
        reason: String,
        ca: String,
    },

    #[error("invalid host_key {value:?}: {message}")]
    BadPin { value: String, message: String },

    #[error("cannot update {path}: {message}")]
    KnownHosts { path: PathBuf, message: String },

    #[error(
        "authentication as {user}@{host} failed; tried: {tried}.\n  Add a key to ssh-agent \
         (ssh-add), set IdentityFile in ~/.ssh/config, or create ~/.ssh/id_ed25519, and make sure \
         its public key is in the node's authorized_keys{problems}"
    )]
    Auth {
        user: String,
        host: String,
        tried: String,
        problems: String,
    },

    #[error("invalid ProxyJump hop {hop:?}: {message}")]
    BadJump { hop: String, message: String },

    #[error("SSH protocol error with {host}: {message}")]
    Protocol { host: String, message: String },

    /// A connection keeper's report of one of the above.
    #[error("{message}")]
    Relayed { message: String },
}

impl ExitStatusOf for SshError {
    fn exit(&self) -> Exit {
        Exit::Connection
    }
}
