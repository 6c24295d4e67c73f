//! Capabilities: what a plugin declared in its metadata, what the user
//! granted, and the check every host call makes against both.
//!
//! Built-in plugins are granted what they declare. An installed plugin gets
//! only what its `[plugins.<name>] grant = [...]` lists *and* its metadata
//! declares; a grant for something undeclared is ignored, and a host call
//! for something undeclared is refused even if granted.

use std::collections::BTreeSet;
use std::fmt;

use super::bindings::types::Capability as WitCapability;

/// One capability, as declared by a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    RemoteExec,
    RemoteFiles,
    LocalExec(Vec<String>),
    LocalRead,
    Env(Vec<String>),
    /// Hosts the plugin may reach through the host's `http.fetch`.
    Http(Vec<String>),
}

impl From<WitCapability> for Capability {
    fn from(c: WitCapability) -> Self {
        match c {
            WitCapability::RemoteExec => Capability::RemoteExec,
            WitCapability::RemoteFiles => Capability::RemoteFiles,
            WitCapability::LocalExec(programs) => Capability::LocalExec(programs),
            WitCapability::LocalRead => Capability::LocalRead,
            WitCapability::Env(names) => Capability::Env(names),
            WitCapability::Http(hosts) => Capability::Http(hosts),
        }
    }
}

impl fmt::Display for Capability {
    /// The grant syntax: `remote-exec`, `local-exec:rsync,ssh`, `env:HOME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::RemoteExec => f.write_str("remote-exec"),
            Capability::RemoteFiles => f.write_str("remote-files"),
            Capability::LocalRead => f.write_str("local-read"),
            Capability::LocalExec(p) => write!(f, "local-exec:{}", p.join(",")),
            Capability::Env(n) => write!(f, "env:{}", n.join(",")),
            Capability::Http(h) => write!(f, "http:{}", h.join(",")),
        }
    }
}

/// `caps` as grant items, one per program, variable or host
/// (`local-exec:rsync`, `local-exec:ssh`): the form ops.lock records and a
/// `grant = [...]` line lists.
pub fn grant_items(caps: &[Capability]) -> Vec<String> {
    let mut out = Vec::new();
    for cap in caps {
        match cap {
            Capability::RemoteExec | Capability::RemoteFiles | Capability::LocalRead => {
                out.push(cap.to_string())
            }
            Capability::LocalExec(p) => out.extend(p.iter().map(|p| format!("local-exec:{p}"))),
            Capability::Env(n) => out.extend(n.iter().map(|n| format!("env:{n}"))),
            Capability::Http(h) => out.extend(h.iter().map(|h| format!("http:{}", http_item(h)))),
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|item| seen.insert(item.clone()));
    out
}

/// One entry of `grant = [...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    RemoteExec,
    RemoteFiles,
    LocalRead,
    /// `local-exec` alone grants every program the plugin declares.
    LocalExec(Option<String>),
    /// `env` alone grants every variable the plugin declares.
    Env(Option<String>),
    /// `http` alone grants every host the plugin declares. `http:HOST`
    /// allows the default port of the request's scheme (443 for https, 80
    /// for http), `http:HOST:PORT` that port only.
    Http(Option<String>),
}

impl Grant {
    /// Parses `remote-exec`, `remote-files`, `local-read`, `local-exec`,
    /// `local-exec:PROGRAM`, `env`, `env:NAME`, `http`, `http:HOST`,
    /// `http:HOST:PORT`.
    pub fn parse(text: &str) -> Result<Grant, String> {
        let (kind, arg) = match text.split_once(':') {
            Some((k, a)) if !a.is_empty() => (k, Some(a.to_owned())),
            Some(_) => return Err(format!("grant `{text}` names nothing after `:`")),
            None => (text, None),
        };
        match (kind, arg) {
            ("remote-exec", None) => Ok(Grant::RemoteExec),
            ("remote-files", None) => Ok(Grant::RemoteFiles),
            ("local-read", None) => Ok(Grant::LocalRead),
            ("local-exec", arg) => Ok(Grant::LocalExec(arg)),
            ("env", arg) => Ok(Grant::Env(arg)),
            ("http", arg) => Ok(Grant::Http(arg.map(|h| http_item(&h)))),
            _ => Err(format!(
                "unknown grant `{text}`; grants are remote-exec, remote-files, local-read, \
                 local-exec[:PROGRAM], env[:NAME], http[:HOST[:PORT]]"
            )),
        }
    }
}

/// The effective permissions of one plugin, and the memory of what it
/// declared, for precise refusals.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    plugin: String,
    builtin: bool,
    declared: Declared,
    granted: Declared,
}

#[derive(Debug, Clone, Default)]
struct Declared {
    remote_exec: bool,
    remote_files: bool,
    local_read: bool,
    local_exec: BTreeSet<String>,
    env: BTreeSet<String>,
    http: BTreeSet<String>,
}

impl Declared {
    fn from_capabilities(caps: &[Capability]) -> Declared {
        let mut d = Declared::default();
        for cap in caps {
            match cap {
                Capability::RemoteExec => d.remote_exec = true,
                Capability::RemoteFiles => d.remote_files = true,
                Capability::LocalRead => d.local_read = true,
                Capability::LocalExec(p) => d.local_exec.extend(p.iter().cloned()),
                Capability::Env(n) => d.env.extend(n.iter().cloned()),
                Capability::Http(h) => d.http.extend(h.iter().map(|h| http_item(h))),
            }
        }
        d
    }
}

/// What a host call needs.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    RemoteExec,
    RemoteFiles,
    LocalRead,
    LocalExec(&'a str),
    Env(&'a str),
    /// A request to `host` (lowercase, no brackets) at `port`;
    /// `default_port` when that is the scheme's own.
    Http {
        host: &'a str,
        port: u16,
        default_port: bool,
    },
}

impl fmt::Display for Need<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::RemoteExec => f.write_str("remote-exec"),
            Need::RemoteFiles => f.write_str("remote-files"),
            Need::LocalRead => f.write_str("local-read"),
            Need::LocalExec(p) => write!(f, "local-exec:{p}"),
            Need::Env(n) => write!(f, "env:{n}"),
            Need::Http {
                host,
                default_port: true,
                ..
            } => write!(f, "http:{host}"),
            Need::Http { host, port, .. } => write!(f, "http:{}", http_key(host, Some(*port))),
        }
    }
}

impl Grants {
    /// A built-in plugin: granted everything it declares.
    pub fn builtin(plugin: &str, declared: &[Capability]) -> Grants {
        let declared = Declared::from_capabilities(declared);
        Grants {
            plugin: plugin.to_owned(),
            builtin: true,
            granted: declared.clone(),
            declared,
        }
    }

    /// An installed plugin: what the user granted, within what it declared.
    pub fn installed(plugin: &str, declared: &[Capability], grants: &[Grant]) -> Grants {
        let declared = Declared::from_capabilities(declared);
        let mut granted = Declared::default();
        for grant in grants {
            match grant {
                Grant::RemoteExec => granted.remote_exec = declared.remote_exec,
                Grant::RemoteFiles => granted.remote_files = declared.remote_files,
                Grant::LocalRead => granted.local_read = declared.local_read,
                Grant::LocalExec(None) => granted
                    .local_exec
                    .extend(declared.local_exec.iter().cloned()),
                Grant::LocalExec(Some(p)) => {
                    if declared.local_exec.contains(p) {
                        granted.local_exec.insert(p.clone());
                    }
                }
                Grant::Env(None) => granted.env.extend(declared.env.iter().cloned()),
                Grant::Env(Some(n)) => {
                    if declared.env.contains(n) {
                        granted.env.insert(n.clone());
                    }
                }
                Grant::Http(None) => granted.http.extend(declared.http.iter().cloned()),
                Grant::Http(Some(h)) => {
                    if http_declared(&declared.http, h) {
                        granted.http.insert(h.clone());
                    }
                }
            }
        }
        Grants {
            plugin: plugin.to_owned(),
            builtin: false,
            declared,
            granted,
        }
    }

    /// Every capability of `declared` (the plugin's metadata) the user
    /// did not grant, one item each in grant syntax (`local-exec:rsync`,
    /// `env:HOME`), in the order declared: what stops a third-party plugin
    /// before it runs.
    pub fn ungranted(&self, declared: &[Capability]) -> Vec<String> {
        let g = &self.granted;
        let granted = |item: &str| match item.split_once(':') {
            None => match item {
                "remote-exec" => g.remote_exec,
                "remote-files" => g.remote_files,
                "local-read" => g.local_read,
                _ => false,
            },
            Some(("local-exec", program)) => g.local_exec.contains(program),
            Some(("env", name)) => g.env.contains(name),
            Some(("http", item)) => http_granted_for(&g.http, item),
            Some(_) => false,
        };
        grant_items(declared)
            .into_iter()
            .filter(|item| !granted(item))
            .collect()
    }

    /// Whether environment variable `name` may reach the plugin (and the
    /// local programs it runs).
    pub fn env_granted(&self, name: &str) -> bool {
        self.granted.env.contains(name)
    }

    /// Checked by every host call that needs a capability. The message is
    /// what the plugin (and, through its error, the user) sees.
    pub fn check(&self, need: Need<'_>) -> Result<(), String> {
        let (declared, granted) = match need {
            Need::RemoteExec => (self.declared.remote_exec, self.granted.remote_exec),
            Need::RemoteFiles => (self.declared.remote_files, self.granted.remote_files),
            Need::LocalRead => (self.declared.local_read, self.granted.local_read),
            Need::LocalExec(p) => (
                self.declared.local_exec.contains(p),
                self.granted.local_exec.contains(p),
            ),
            Need::Env(n) => (self.declared.env.contains(n), self.granted.env.contains(n)),
            Need::Http {
                host,
                port,
                default_port,
            } => {
                let exact = http_key(host, Some(port));
                (
                    self.declared.http.contains(host) || self.declared.http.contains(&exact),
                    self.granted.http.contains(&exact)
                        || (default_port && self.granted.http.contains(host)),
                )
            }
        };
        let plugin = &self.plugin;
        match (declared, granted) {
            (_, true) => Ok(()),
            (false, _) => Err(format!(
                "capability {need} refused: plugin {plugin} did not declare it in its metadata"
            )),
            (true, false) if self.builtin => Err(format!(
                "capability {need} refused: not granted to built-in plugin {plugin}"
            )),
            (true, false) => Err(format!(
                "capability {need} refused: not granted to plugin {plugin}; to allow it add \
                 grant = [\"{need}\"] under [plugins.{plugin}] in ops.toml{}",
                allows(need)
            )),
        }
    }
}

/// What granting `need` really gives, where that is more than its name
/// says.
fn allows(need: Need<'_>) -> String {
    match need {
        Need::LocalExec(program) => format!(
            " (it lets the plugin run {program} with any arguments: whatever {program} can do)"
        ),
        _ => String::new(),
    }
}

/// An `http` item split into host and port: `host`, `host:port`,
/// `[v6]`, `[v6]:port`; a bare IPv6 address has no port.
fn split_http(item: &str) -> (&str, Option<u16>) {
    if let Some((host, tail)) = item.strip_prefix('[').and_then(|r| r.split_once(']')) {
        return (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match item.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (item, None),
        },
        _ => (item, None),
    }
}

/// The form an `http` item is kept and compared in.
fn http_key(host: &str, port: Option<u16>) -> String {
    match port {
        None => host.to_owned(),
        Some(port) if host.contains(':') => format!("[{host}]:{port}"),
        Some(port) => format!("{host}:{port}"),
    }
}

fn http_item(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let (host, port) = split_http(&lower);
    http_key(host, port)
}

/// Whether a plugin that declared `declared` may be granted `item`: a
/// declared host without a port is the plugin's claim to that host at any
/// port; what the user grants says which.
fn http_declared(declared: &BTreeSet<String>, item: &str) -> bool {
    declared.contains(item) || declared.contains(split_http(item).0)
}

/// Whether the declared `item` was granted: exactly, or, for a declared
/// host without a port, at some port of it.
fn http_granted_for(granted: &BTreeSet<String>, item: &str) -> bool {
    let (host, port) = split_http(item);
    granted.contains(item) || (port.is_none() && granted.iter().any(|g| split_http(g).0 == host))
}

#[cfg(test)]
mod tests;
