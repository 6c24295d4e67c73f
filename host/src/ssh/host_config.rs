//! `~/.ssh/config` applied the way OpenSSH applies it (evaluated by
//! [`ssh_config`](super::ssh_config)): first value wins, `IdentityFile`
//! accumulates, command-line style overrides (from ops.toml) beat the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::control_persist::{self, ControlPersist};
use super::error::SshError;
use super::ssh_config::{ConfigFile, State};

/// Everything needed to connect to one host, after ssh_config. It is also
/// what a kept connection is keyed by, so it crosses to the keeper whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConfig {
    /// The name as given (a `Host` alias, a host name or an address).
    pub alias: String,
    /// Where to connect: `HostName`, or the alias itself.
    pub hostname: String,
    pub user: String,
    pub port: u16,
    /// `IdentityFile`s, `~` and `%` tokens expanded.
    pub identity_files: Vec<PathBuf>,
    /// `CertificateFile`s, `~` and `%` tokens expanded.
    pub certificate_files: Vec<PathBuf>,
    pub identities_only: bool,
    /// `ForwardAgent yes`: ops forwards the agent to the git sync only.
    pub forward_agent: bool,
    /// `UserKnownHostsFile`, or `~/.ssh/known_hosts` and `known_hosts2`.
    /// New keys are added to the first.
    pub user_known_hosts: Vec<PathBuf>,
    /// `GlobalKnownHostsFile`, read only.
    pub global_known_hosts: Vec<PathBuf>,
    /// `HostKeyAlias`: the name to look the key up under instead of
    /// `hostname`.
    pub host_key_alias: Option<String>,
    /// `ProxyJump` hops, in order, as written.
    pub proxy_jump: Vec<String>,
    pub connect_timeout: Duration,
    pub server_alive_interval: Option<Duration>,
    /// `StrictHostKeyChecking accept-new`: the user opted in to trusting
    /// unknown keys for this host in their own ssh_config.
    pub accept_new: bool,
    /// `ControlMaster` with `ControlPersist`: the user asks for the
    /// connection to be kept.
    pub control_persist: Option<ControlPersist>,
}

impl HostConfig {
    /// The name under which this host's key is recorded in known_hosts.
    pub fn known_hosts_name(&self) -> &str {
        self.host_key_alias.as_deref().unwrap_or(&self.hostname)
    }
}

/// The user's ssh_config (empty when there is none).
#[derive(Debug, Clone, Default)]
pub struct SshConfigFile {
    config: ConfigFile,
    home: PathBuf,
}

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

impl SshConfigFile {
    /// Reads `<home>/.ssh/config`; a missing file is an empty config.
    pub fn load(home: &Path) -> Result<SshConfigFile, SshError> {
        let path = home.join(".ssh").join("config");
        if !path.exists() {
            return Ok(SshConfigFile {
                config: ConfigFile::default(),
                home: home.to_path_buf(),
            });
        }
        SshConfigFile::load_file(&path, home)
    }

    /// Reads `path` as the user's config, like `ssh -F path`: relative
    /// `Include`s are still looked up in `<home>/.ssh`.
    pub fn load_file(path: &Path, home: &Path) -> Result<SshConfigFile, SshError> {
        let config = ConfigFile::read(path, &home.join(".ssh"), home)?;
        Ok(SshConfigFile {
            config,
            home: home.to_path_buf(),
        })
    }

    /// Whether `name` is spelled out (not matched by a wildcard) in a
    /// `Host` line.
    pub fn has_alias(&self, name: &str) -> bool {
        let mut words = Vec::new();
        self.config.host_words(&mut words);
        words.iter().any(|w| w == name)
    }

    /// Whether the user's known_hosts confirms `pin` as the key of `host`
    /// as ssh would reach it.
    pub fn confirms_pin(
        &self,
        host: &str,
        user: Option<&str>,
        port: Option<u16>,
        pin: &str,
    ) -> bool {
        super::known_hosts::confirms_pin(&self.resolve(host, user, port), pin)
    }

    /// The `IdentityFile`s the user names for `host` (none of ssh's
    /// defaults), `~` expanded.
    pub fn identity_files(
        &self,
        host: &str,
        user: Option<&str>,
        port: Option<u16>,
    ) -> Vec<PathBuf> {
        self.resolve(host, user, port).identity_files
    }

    /// Resolves `host` like `ssh [-l user] [-p port] host` would.
    pub fn resolve(&self, host: &str, user: Option<&str>, port: Option<u16>) -> HostConfig {
        let local = local_user();
        let mut state = State::new(host, &local);
        // Command-line values are set before the files are read, so that
        // they win and `Match user` sees them, as with `ssh -l`/`-p`.
        if let Some(user) = user {
            state.set("user", &[user.to_owned()]);
        }
        if let Some(port) = port {
            state.set("port", &[port.to_string()]);
        }
        self.config.evaluate(&mut state);
        let first = |name: &str| state.first(name).map(str::to_owned);
        let hostname = state.current_host();
        let user = first("user").unwrap_or_else(|| local.clone());
        let port = first("port").and_then(|p| p.parse().ok()).unwrap_or(22);
        let host_key_alias = first("hostkeyalias");
        let tokens = Tokens {
            home: &self.home,
            host: &hostname,
            original: &state.host_arg,
            user: &user,
            port,
            alias: host_key_alias.as_deref(),
        };
        let list = |name: &str| -> Vec<PathBuf> {
            let values = state.lists.get(name).cloned().unwrap_or_default();
            values.iter().map(|p| tokens.expand_path(p)).collect()
        };
        let files = |name: &str, default: Vec<PathBuf>| -> Vec<PathBuf> {
            match state.options.get(name) {
                Some(args) if args.iter().any(|a| a.eq_ignore_ascii_case("none")) => Vec::new(),
                Some(args) => args.iter().map(|a| tokens.expand_path(a)).collect(),
                None => default,
            }
        };
        let ssh_dir = self.home.join(".ssh");
        let yes = |name: &str| first(name).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        let seconds = |name: &str| first(name).and_then(|v| v.parse::<u64>().ok());
        HostConfig {
            alias: host.to_owned(),
            hostname: hostname.clone(),
            user: user.clone(),
            port,
            identity_files: list("identityfile"),
            certificate_files: list("certificatefile"),
            identities_only: yes("identitiesonly"),
            forward_agent: yes("forwardagent"),
            user_known_hosts: files(
                "userknownhostsfile",
                vec![ssh_dir.join("known_hosts"), ssh_dir.join("known_hosts2")],
            ),
            global_known_hosts: files(
                "globalknownhostsfile",
                vec![
                    PathBuf::from("/etc/ssh/ssh_known_hosts"),
                    PathBuf::from("/etc/ssh/ssh_known_hosts2"),
                ],
            ),
            host_key_alias,
            proxy_jump: jump_hops(first("proxyjump").as_deref().unwrap_or_default()),
            connect_timeout: seconds("connecttimeout")
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            server_alive_interval: seconds("serveraliveinterval")
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            accept_new: first("stricthostkeychecking")
                .is_some_and(|v| v.eq_ignore_ascii_case("accept-new")),
            control_persist: control_persist::asked(
                first("controlmaster").as_deref(),
                first("controlpersist").as_deref(),
            ),
        }
    }
}

/// The `ProxyJump` value as single hops: comma list split, `none` (the
/// first value, which wins over later ones) means no jump.
fn jump_hops(value: &str) -> Vec<String> {
    if value.eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .map(str::to_owned)
        .collect()
}

/// OpenSSH's `%` tokens for path options, and `~`.
struct Tokens<'a> {
    home: &'a Path,
    host: &'a str,
    original: &'a str,
    user: &'a str,
    port: u16,
    alias: Option<&'a str>,
}

impl Tokens<'_> {
    fn expand_path(&self, raw: &str) -> PathBuf {
        let mut out = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('d') => out.push_str(&self.home.to_string_lossy()),
                Some('h') => out.push_str(self.host),
                Some('r') => out.push_str(self.user),
                Some('u') => out.push_str(&local_user()),
                Some('p') => out.push_str(&self.port.to_string()),
                Some('n') => out.push_str(self.original),
                Some('k') => out.push_str(self.alias.unwrap_or(self.original)),
                Some('i') => out.push_str(&real_uid().to_string()),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        expand_tilde(&out, self.home)
    }
}

/// `~` and `~/...` against `home`; anything else unchanged.
pub fn expand_tilde(path: &str, home: &Path) -> PathBuf {
    if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(path)
    }
}

/// The local user name, as OpenSSH would default the remote user.
pub fn local_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(user) = std::env::var(var) {
            if !user.is_empty() {
                return user;
            }
        }
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; the
    // name is copied out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    "root".to_owned()
}

/// The real user id, for `%i`.
fn real_uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

/// The home directory whose `.ssh` ops reads: `$HOME`.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SshConfigFile {
        let home = Path::new("/home/u");
        let config = ConfigFile::parse(text, &home.join(".ssh"), home).unwrap();
        SshConfigFile {
            config,
            home: PathBuf::from("/home/u"),
        }
    }

    #[test]
    fn alias_with_everything() {
        let file = parse(
            "Host build\n  HostName 10.0.0.4\n  User ops\n  Port 2222\n  IdentityFile ~/.ssh/k1\n  \
             UserKnownHostsFile ~/.ssh/kh_%h\n  ProxyJump a@j1:22,j2\n  StrictHostKeyChecking accept-new\n\
             Host *\n  IdentityFile ~/.ssh/k2\n",
        );
        assert!(file.has_alias("build"));
        assert!(!file.has_alias("other"));
        let host = file.resolve("build", None, None);
        assert_eq!(host.hostname, "10.0.0.4");
        assert_eq!(host.user, "ops");
        assert_eq!(host.port, 2222);
        assert_eq!(
            host.identity_files,
            vec![
                PathBuf::from("/home/u/.ssh/k1"),
                PathBuf::from("/home/u/.ssh/k2")
            ]
        );
        assert_eq!(
            host.user_known_hosts,
            vec![PathBuf::from("/home/u/.ssh/kh_10.0.0.4")]
        );
        assert_eq!(host.proxy_jump, vec!["a@j1:22", "j2"]);
        assert!(host.accept_new);
        let overridden = file.resolve("build", Some("root"), Some(22));
        assert_eq!((overridden.user.as_str(), overridden.port), ("root", 22));
    }

    #[test]
    fn unknown_host_gets_defaults() {
        let host = parse("").resolve("example.org", Some("me"), None);
        assert_eq!(host.hostname, "example.org");
        assert_eq!(host.port, 22);
        assert!(host.proxy_jump.is_empty());
        assert_eq!(
            host.user_known_hosts[0],
            PathBuf::from("/home/u/.ssh/known_hosts")
        );
    }
}
