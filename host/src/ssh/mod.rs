//! SSH to the build node, on russh, behaving like OpenSSH where users
//! would notice: `~/.ssh/config` (aliases, `HostName`, `User`, `Port`,
//! `IdentityFile`, `UserKnownHostsFile`, `ProxyJump` with several hops),
//! ssh-agent then key files, known_hosts (hashed and `[host]:port`) or a
//! pinned key, unknown and changed host keys refused with the fingerprint.
//!
//! [`Session`] is one connection for the whole run; every remote command is
//! a channel on it, run through a small sh wrapper ([`wrapper`]) that keeps
//! arguments literal, keeps env values out of argv, and reports the process
//! group so that cancelling a command kills everything it started.

mod auth;
mod connect;
pub mod destination;
mod error;
pub mod host_config;
pub mod known_hosts;
mod passphrase;
mod scratch;
mod session;
mod stdin;
pub mod wrapper;

pub use destination::Destination;
pub use error::SshError;
pub use host_config::{HostConfig, SshConfigFile};
pub use session::{
    dead_node_timeout, Capture, ConnectOptions, Session, Stdin, CONTROL_CHANNELS, MAX_CHANNELS,
};
pub use stdin::ChannelReader;
