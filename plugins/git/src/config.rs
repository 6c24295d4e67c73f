//! `[build.git]`: what the keys may hold, checked before anything remote
//! happens.

use ops_plugin_sdk::unknown_key_message;

use crate::ops::plugin::types::{Config, ConfigError, ConfigValue};

const SECTION: &str = "build.git";
const KEYS: &[&str] = &["repo", "ssh_key", "token", "known_hosts", "forward_agent"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// `ssh://...` or scp-like `user@host:path`.
    Ssh,
    /// `https://...` (or plain `http://`, where a token is refused unless
    /// the host is a loopback address).
    Https,
    /// A path or `file://` URL on the node itself.
    Local,
}

pub struct GitConfig {
    pub repo: String,
    pub kind: UrlKind,
    pub ssh_key: Option<String>,
    pub token: Option<String>,
    /// known_hosts lines for the git server.
    pub known_hosts: Option<String>,
}

impl GitConfig {
    /// Reads every key, then checks that the credentials fit the repo URL;
    /// all problems are reported together.
    pub fn parse(config: &Config) -> Result<GitConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        for entry in config {
            if !KEYS.contains(&entry.key.as_str()) {
                errors.push(error(
                    &entry.key,
                    unknown_key_message(&entry.key, SECTION, KEYS),
                ));
            }
        }
        let repo = string(config, "repo", &mut errors);
        let ssh_key = string(config, "ssh_key", &mut errors);
        let token = string(config, "token", &mut errors);
        let known_hosts = known_hosts(config, &mut errors);
        check_forward_agent(config, ssh_key.is_some(), &mut errors);

        let kind = repo_kind(repo.as_deref(), &mut errors);
        // Whether a credential fits the URL is only known with a URL.
        let url = repo.as_deref().map(|repo| (repo, kind));
        if let Some(key) = &ssh_key {
            check_ssh_key(key, url, &mut errors);
        }
        if let Some(token) = &token {
            check_token(token, url, &mut errors);
        }
        if known_hosts.is_some() && url.is_some_and(|(_, kind)| kind != UrlKind::Ssh) {
            errors.push(error(
                "known_hosts",
                "`known_hosts` is only used with an SSH repo URL".into(),
            ));
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(GitConfig {
            repo: repo.unwrap_or_default(),
            kind,
            ssh_key,
            token,
            known_hosts,
        })
    }
}

/// `known_hosts`: one string, or a list of known_hosts lines.
fn known_hosts(config: &Config, errors: &mut Vec<ConfigError>) -> Option<String> {
    match config
        .iter()
        .find(|e| e.key == "known_hosts")
        .map(|e| &e.value)
    {
        None => None,
        Some(ConfigValue::Text(s)) | Some(ConfigValue::Secret(s)) => Some(s.clone()),
        Some(ConfigValue::TextList(lines)) => Some(lines.join("\n")),
        Some(_) => {
            errors.push(error(
                "known_hosts",
                "`known_hosts` must be a string or a list of strings (known_hosts lines for the git server)".into(),
            ));
            None
        }
    }
}

/// The host forwards the agent to this plugin's commands; here only
/// whether the value makes sense.
fn check_forward_agent(config: &Config, has_ssh_key: bool, errors: &mut Vec<ConfigError>) {
    match config
        .iter()
        .find(|e| e.key == "forward_agent")
        .map(|e| &e.value)
    {
        None | Some(ConfigValue::Boolean(false)) => {}
        Some(ConfigValue::Boolean(true)) if has_ssh_key => errors.push(error(
            "forward_agent",
            "`forward_agent = true` and `ssh_key` both say how git logs in; keep one".into(),
        )),
        Some(ConfigValue::Boolean(true)) => {}
        Some(_) => errors.push(error(
            "forward_agent",
            "`forward_agent` must be true or false".into(),
        )),
    }
}

/// The kind of a usable `repo`; a missing or unusable one is an error
/// (and `Local`, which no credential check depends on).
fn repo_kind(repo: Option<&str>, errors: &mut Vec<ConfigError>) -> UrlKind {
    match repo {
        None => {
            if !errors.iter().any(|e| e.key == "repo") {
                errors.push(error(
                    "repo",
                    format!("missing `repo` in [{SECTION}]: the repository to clone, e.g. repo = \"git@github.com:org/repo\""),
                ));
            }
            UrlKind::Local
        }
        Some(repo) if repo.trim().is_empty() => {
            errors.push(error("repo", "`repo` is empty".into()));
            UrlKind::Local
        }
        Some(repo) if repo.starts_with('-') => {
            errors.push(error(
                "repo",
                format!("`repo` must not start with `-`: {repo:?}"),
            ));
            UrlKind::Local
        }
        Some(repo) => url_kind(repo),
    }
}

/// `ssh_key` logs in to SSH URLs only.
fn check_ssh_key(key: &str, url: Option<(&str, UrlKind)>, errors: &mut Vec<ConfigError>) {
    if key.trim().is_empty() {
        errors.push(error("ssh_key", "`ssh_key` is empty".into()));
        return;
    }
    let message = match url {
        Some((_, UrlKind::Https)) => "`ssh_key` only works with an SSH repo URL (git@host:org/repo or ssh://...); this repo is HTTPS, use `token` instead",
        Some((_, UrlKind::Local)) => "`ssh_key` only works with an SSH repo URL (git@host:org/repo or ssh://...); this repo is a path on the node and needs no key",
        Some((_, UrlKind::Ssh)) | None => return,
    };
    errors.push(error("ssh_key", message.into()));
}

/// `token` authenticates HTTPS only, and never travels in clear text to
/// another host.
fn check_token(token: &str, url: Option<(&str, UrlKind)>, errors: &mut Vec<ConfigError>) {
    if token.is_empty() {
        errors.push(error(
            "token",
            "`token` is empty (is its environment variable set to an empty value?)".into(),
        ));
        return;
    }
    match url {
        Some((_, UrlKind::Ssh)) => errors.push(error(
            "token",
            "`token` authenticates HTTPS only; this repo is an SSH URL, use `ssh_key` instead (or an https:// repo URL)".into(),
        )),
        Some((_, UrlKind::Local)) => errors.push(error(
            "token",
            "`token` authenticates HTTPS only; this repo is a path on the node and needs no token".into(),
        )),
        Some((repo, UrlKind::Https)) => {
            if let Some(host) = cleartext_remote_host(repo) {
                errors.push(error(
                    "token",
                    format!(
                        "`token` would travel in clear text: `repo` is http:// to `{host}`; \
                         use an https:// URL (plain http:// takes a token only for a loopback \
                         host: 127.0.0.0/8, ::1 or localhost)"
                    ),
                ));
            }
        }
        None => {}
    }
}

/// Classifies a URL the way git does: `scheme://` first, then scp-like
/// syntax (a colon before any slash), else a local path.
pub fn url_kind(repo: &str) -> UrlKind {
    let lower = repo.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return UrlKind::Https;
    }
    if lower.starts_with("ssh://")
        || lower.starts_with("git+ssh://")
        || lower.starts_with("ssh+git://")
    {
        return UrlKind::Ssh;
    }
    if lower.contains("://") {
        return UrlKind::Local;
    }
    match (repo.find(':'), repo.find('/')) {
        (Some(colon), Some(slash)) if colon < slash => UrlKind::Ssh,
        (Some(_), None) => UrlKind::Ssh,
        _ => UrlKind::Local,
    }
}

/// The host of a plain `http://` URL unless it is a loopback address
/// (127.0.0.0/8, ::1, localhost), where nothing crosses the network.
/// `None` for every other URL.
pub fn cleartext_remote_host(repo: &str) -> Option<&str> {
    const SCHEME: &str = "http://";
    let head = repo.get(..SCHEME.len())?;
    if !head.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &repo[SCHEME.len()..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // Credentials in the URL come before the last `@`.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(bracketed),
        None => host_port.split(':').next().unwrap_or(host_port),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then_some(host_port)
}

/// `scheme://host[:port]` of an HTTPS URL, to scope the auth header to it.
pub fn https_origin(repo: &str) -> Option<&str> {
    let rest_at = repo.find("://")? + 3;
    let end = repo[rest_at..]
        .find('/')
        .map(|i| rest_at + i)
        .unwrap_or(repo.len());
    Some(&repo[..end])
}

fn string(config: &Config, key: &str, errors: &mut Vec<ConfigError>) -> Option<String> {
    match config.iter().find(|e| e.key == key).map(|e| &e.value) {
        None => None,
        Some(ConfigValue::Text(s)) | Some(ConfigValue::Secret(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(error(key, format!("`{key}` must be a string")));
            None
        }
    }
}

fn error(key: &str, message: String) -> ConfigError {
    ConfigError {
        key: key.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_kinds() {
        assert_eq!(url_kind("git@github.com:org/repo"), UrlKind::Ssh);
        assert_eq!(url_kind("ssh://git@host:2222/org/repo.git"), UrlKind::Ssh);
        assert_eq!(url_kind("https://github.com/org/repo"), UrlKind::Https);
        assert_eq!(url_kind("/srv/git/repo.git"), UrlKind::Local);
        assert_eq!(url_kind("./a:b"), UrlKind::Local);
        assert_eq!(url_kind("file:///srv/git/repo.git"), UrlKind::Local);
    }

    fn config(entries: &[(&str, &str)]) -> Config {
        entries
            .iter()
            .map(|(key, value)| crate::ops::plugin::types::ConfigEntry {
                key: (*key).into(),
                value: ConfigValue::Text((*value).into()),
            })
            .collect()
    }

    fn errors(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        match GitConfig::parse(&config(entries)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
        }
    }

    #[test]
    fn forward_agent_is_a_boolean_and_excludes_ssh_key() {
        let entry = |key: &str, value: ConfigValue| crate::ops::plugin::types::ConfigEntry {
            key: key.into(),
            value,
        };
        let repo = || entry("repo", ConfigValue::Text("git@host:org/repo".into()));
        let parse = |c: Config| GitConfig::parse(&c).err().unwrap_or_default();
        assert!(parse(vec![
            repo(),
            entry("forward_agent", ConfigValue::Boolean(true))
        ])
        .is_empty());
        let wrong = parse(vec![
            repo(),
            entry("forward_agent", ConfigValue::Text("yes".into())),
        ]);
        assert!(
            wrong[0].message.contains("must be true or false"),
            "{}",
            wrong[0].message
        );
        let both = parse(vec![
            repo(),
            entry("forward_agent", ConfigValue::Boolean(true)),
            entry("ssh_key", ConfigValue::Text("~/.ssh/deploy".into())),
        ]);
        assert!(both[0].message.contains("keep one"), "{}", both[0].message);
    }

    #[test]
    fn token_over_plain_http_only_to_loopback() {
        for repo in [
            "http://127.0.0.1:8080/hello.git",
            "http://127.1.2.3/hello.git",
            "HTTP://LOCALHOST:3000/org/repo",
            "http://localhost/repo",
            "http://[::1]:8080/hello.git",
            "http://user@127.0.0.1/repo",
            "https://github.com/org/repo",
            "https://10.0.0.5/repo",
        ] {
            assert_eq!(
                errors(&[("repo", repo), ("token", "t0k3n")]),
                Vec::new(),
                "{repo}"
            );
        }
        for (repo, host) in [
            ("http://github.com/org/repo", "github.com"),
            ("http://10.0.0.5:8080/repo.git", "10.0.0.5:8080"),
            ("Http://git.example.com", "git.example.com"),
            (
                "http://127.0.0.1.evil.example/repo",
                "127.0.0.1.evil.example",
            ),
            (
                "http://localhost.evil.example/repo",
                "localhost.evil.example",
            ),
            ("http://127.0.0.1@evil.example/repo", "evil.example"),
            ("http://[::2]/repo", "[::2]"),
            ("http://0.0.0.0/repo", "0.0.0.0"),
        ] {
            let found = errors(&[("repo", repo), ("token", "t0k3n")]);
            assert_eq!(found.len(), 1, "{repo}: {found:?}");
            let (key, message) = &found[0];
            assert_eq!(key, "token", "{repo}");
            assert!(message.contains("clear text"), "{repo}: {message}");
            assert!(message.contains(&format!("`{host}`")), "{repo}: {message}");
            assert!(!message.contains("t0k3n"), "{message}");
        }
        // Without a token nothing secret travels, so http:// stays allowed.
        assert_eq!(
            errors(&[("repo", "http://github.com/org/repo")]),
            Vec::new()
        );
    }

    #[test]
    fn origin_of_https_urls() {
        assert_eq!(
            https_origin("https://github.com/org/repo"),
            Some("https://github.com")
        );
        assert_eq!(https_origin("https://h:8443"), Some("https://h:8443"));
    }
}
