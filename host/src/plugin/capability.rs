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
            Capability::Http(h) => {
                out.extend(h.iter().map(|h| format!("http:{}", h.to_ascii_lowercase())))
            }
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
    /// `http` alone grants every host the plugin declares.
    Http(Option<String>),
}

impl Grant {
    /// Parses `remote-exec`, `remote-files`, `local-read`, `local-exec`,
    /// `local-exec:PROGRAM`, `env`, `env:NAME`, `http`, `http:HOST`.
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
            ("http", arg) => Ok(Grant::Http(arg.map(|h| h.to_ascii_lowercase()))),
            _ => Err(format!(
                "unknown grant `{text}`; grants are remote-exec, remote-files, local-read, \
                 local-exec[:PROGRAM], env[:NAME], http[:HOST]"
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
                Capability::Http(h) => d.http.extend(h.iter().map(|h| h.to_ascii_lowercase())),
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
    /// A request to this host (lowercase, no port).
    Http(&'a str),
}

impl fmt::Display for Need<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::RemoteExec => f.write_str("remote-exec"),
            Need::RemoteFiles => f.write_str("remote-files"),
            Need::LocalRead => f.write_str("local-read"),
            Need::LocalExec(p) => write!(f, "local-exec:{p}"),
            Need::Env(n) => write!(f, "env:{n}"),
            Need::Http(h) => write!(f, "http:{h}"),
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
                    if declared.http.contains(h) {
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
            Some(("http", host)) => g.http.contains(host),
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
            Need::Http(h) => (
                self.declared.http.contains(h),
                self.granted.http.contains(h),
            ),
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
                 grant = [\"{need}\"] under [plugins.{plugin}] in ops.toml"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grants() {
        assert_eq!(Grant::parse("remote-exec"), Ok(Grant::RemoteExec));
        assert_eq!(
            Grant::parse("local-exec:rsync"),
            Ok(Grant::LocalExec(Some("rsync".into())))
        );
        assert_eq!(Grant::parse("env"), Ok(Grant::Env(None)));
        assert!(Grant::parse("network").is_err());
        assert!(Grant::parse("env:").is_err());
    }

    #[test]
    fn installed_gets_the_intersection() {
        let declared = [
            Capability::RemoteExec,
            Capability::LocalExec(vec!["rsync".into()]),
        ];
        let g = Grants::installed(
            "p",
            &declared,
            &[
                Grant::LocalExec(Some("rsync".into())),
                Grant::RemoteFiles,
                Grant::LocalExec(Some("sh".into())),
            ],
        );
        assert!(g.check(Need::LocalExec("rsync")).is_ok());
        let sh = g.check(Need::LocalExec("sh")).unwrap_err();
        assert!(sh.contains("did not declare"), "{sh}");
        let remote = g.check(Need::RemoteExec).unwrap_err();
        assert!(
            remote.contains("grant = [\"remote-exec\"] under [plugins.p]"),
            "{remote}"
        );
        assert!(g
            .check(Need::RemoteFiles)
            .unwrap_err()
            .contains("did not declare"));
    }

    #[test]
    fn ungranted_lists_each_missing_item() {
        let declared = [
            Capability::RemoteExec,
            Capability::LocalExec(vec!["touch".into(), "env".into()]),
            Capability::Env(vec!["A".into()]),
        ];
        let g = Grants::installed(
            "p",
            &declared,
            &[Grant::RemoteExec, Grant::LocalExec(Some("touch".into()))],
        );
        assert_eq!(g.ungranted(&declared), ["local-exec:env", "env:A"]);
        let all = Grants::installed(
            "p",
            &declared,
            &[Grant::RemoteExec, Grant::LocalExec(None), Grant::Env(None)],
        );
        assert!(all.ungranted(&declared).is_empty());
        assert!(Grants::builtin("git", &declared)
            .ungranted(&declared)
            .is_empty());
        assert_eq!(
            grant_items(&declared),
            ["remote-exec", "local-exec:touch", "local-exec:env", "env:A"]
        );
    }

    #[test]
    fn builtin_gets_what_it_declares() {
        let g = Grants::builtin(
            "git",
            &[Capability::RemoteExec, Capability::Env(vec!["HOME".into()])],
        );
        assert!(g.check(Need::RemoteExec).is_ok());
        assert!(g.check(Need::Env("HOME")).is_ok());
        assert!(g.check(Need::Env("PATH")).is_err());
        assert!(g.check(Need::LocalRead).is_err());
    }

    #[test]
    fn http_is_granted_per_host() {
        let declared = [Capability::Http(vec![
            "Auth.Example.com".into(),
            "other.example.com".into(),
        ])];
        let g = Grants::installed(
            "tok",
            &declared,
            &[Grant::parse("http:auth.example.com").unwrap()],
        );
        assert!(g.check(Need::Http("auth.example.com")).is_ok());
        let other = g.check(Need::Http("other.example.com")).unwrap_err();
        assert!(
            other.contains("grant = [\"http:other.example.com\"] under [plugins.tok]"),
            "{other}"
        );
        let evil = g.check(Need::Http("evil.example.com")).unwrap_err();
        assert!(evil.contains("did not declare"), "{evil}");
        let all = Grants::installed("tok", &declared, &[Grant::Http(None)]);
        assert!(all.check(Need::Http("other.example.com")).is_ok());
    }
}
