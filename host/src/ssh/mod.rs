//! SSH to the build node, on russh, behaving like OpenSSH where users
//! would notice: `~/.ssh/config` (aliases, `HostName`, `User`, `Port`,
//! `IdentityFile`, `UserKnownHostsFile`, `ProxyJump` with several hops),
//! ssh-agent then key files, known_hosts as OpenSSH reads it (patterns,
//! hashed names, `[host]:port`, `@cert-authority` host certificates,
//! `@revoked`) or a pinned key, unknown and changed host keys refused with
//! the fingerprint.
//!
//! [`Session`] is one connection for the whole run and the transport behind
//! [`RemoteNode`](crate::remote::RemoteNode): every remote command is a
//! channel on it ([`run`]), run through a small sh [`wrapper`] that keeps
//! arguments literal, keeps env values out of argv, and reports the process
//! group so that cancelling a command kills everything it started
//! ([`control`]).

mod agent;
mod auth;
mod connect;
mod control;
mod control_persist;
mod deploy_agent;
mod destination;
mod error;
#[cfg(test)]
mod fuzz;
mod handshake_turns;
mod host_cert;
mod host_config;
mod hostfile;
mod known_hosts;
mod marker;
mod passphrase;
mod pattern;
mod reaper;
mod resolved;
mod run;
mod session;
mod ssh_config;
mod terminal;
mod upstream;
mod user_cert;
mod wrapper;

pub use connect::AgentRoute;
pub use control_persist::{parse_time, ControlPersist};
pub use destination::Destination;
pub use error::SshError;
pub use host_config::{home_dir, SshConfigFile};
pub use resolved::Resolved;
pub use session::{ConnectOptions, KeeperLink, Session, Target};
pub use upstream::{Learned, Upstream};
