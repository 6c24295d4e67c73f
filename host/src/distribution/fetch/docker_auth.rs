//! Registry credentials as `docker login` leaves them:
//! `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, with
//! `credHelpers.<host>` first, then `auths.<host>.auth` (base64
//! `user:password`), then `credsStore`. A helper is run as
//! `docker-credential-<name> get` with the server on stdin and answers with
//! JSON on stdout, so secrets never appear in argv.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::FetchError;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of every debug print and log.
        write!(f, "Credentials {{ username: {:?}, .. }}", self.username)
    }
}

/// The parts of Docker's `config.json` that hold credentials.
#[derive(Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

/// Where the credentials for a registry are to be found.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// `auths.<host>.auth`, decoded.
    Inline(Credentials),
    /// `docker-credential-<name>`, from `credHelpers` or `credsStore`.
    Helper(String),
    None,
}

/// The config file Docker reads, whether or not it exists.
pub fn config_path() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("DOCKER_CONFIG")
        .map(|d| PathBuf::from(d).join("config.json"))
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")))
}

/// `registry` without a scheme or path: the form `docker login HOST`
/// records (older versions wrote `https://HOST/v1/`).
fn normalise(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

impl DockerConfig {
    pub fn parse(text: &str, path: &str) -> Result<DockerConfig, FetchError> {
        serde_json::from_str(text).map_err(|e| FetchError::DockerConfig {
            config_path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads the user's config; a missing file is an empty config.
    pub fn load() -> Result<(DockerConfig, String), FetchError> {
        let Some(path) = config_path() else {
            return Ok((DockerConfig::default(), "~/.docker/config.json".into()));
        };
        let shown = path.display().to_string();
        match crate::local_file::read_local_text(&path, crate::local_file::MAX_TEXT_FILE) {
            Ok(text) => Ok((DockerConfig::parse(&text, &shown)?, shown)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((DockerConfig::default(), shown))
            }
            Err(e) => Err(FetchError::DockerConfig {
                config_path: shown,
                message: e.to_string(),
            }),
        }
    }

    /// Where this config keeps the credentials for `registry`
    /// (`host[:port]`).
    pub fn source_for(&self, registry: &str, path: &str) -> Result<Source, FetchError> {
        let same = |key: &String| normalise(key) == registry;
        if let Some((_, helper)) = self.cred_helpers.iter().find(|(k, _)| same(k)) {
            return Ok(Source::Helper(helper.clone()));
        }
        let inline = self
            .auths
            .iter()
            .find(|(k, _)| same(k))
            .and_then(|(_, entry)| entry.auth.as_deref())
            .filter(|auth| !auth.is_empty());
        if let Some(auth) = inline {
            return decode_auth(auth).map(Source::Inline).map_err(|message| {
                FetchError::DockerConfig {
                    config_path: path.to_owned(),
                    message: format!("auths.\"{registry}\".auth: {message}"),
                }
            });
        }
        match &self.creds_store {
            Some(store) if !store.is_empty() => Ok(Source::Helper(store.clone())),
            _ => Ok(Source::None),
        }
    }
}

fn decode_auth(auth: &str) -> Result<Credentials, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| "not base64".to_owned())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 once decoded".to_owned())?;
    let (username, secret) = text
        .split_once(':')
        .ok_or_else(|| "not `user:password` once decoded".to_owned())?;
    Ok(Credentials {
        username: username.to_owned(),
        secret: secret.to_owned(),
    })
}

/// The credentials for `registry` from the user's Docker config, if any.
pub fn credentials(registry: &str) -> Result<(Option<Credentials>, String), FetchError> {
    let (config, path) = DockerConfig::load()?;
    let found = match config.source_for(registry, &path)? {
        Source::Inline(credentials) => Some(credentials),
        Source::Helper(helper) => run_helper(&helper, registry)?,
        Source::None => None,
    };
    Ok((found, path))
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-<helper> get` with `server` on stdin; `None` when the
/// helper has nothing for it.
pub fn run_helper(helper: &str, server: &str) -> Result<Option<Credentials>, FetchError> {
    let program = format!("docker-credential-{helper}");
    let failed = |message: String| FetchError::Helper {
        program: program.clone(),
        message,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| failed(format!("cannot write the server to its stdin: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("cannot wait for it: {e}")))?;
    if !out.status.success() {
        // Helpers say "credentials not found" on stdout, with a failure.
        let said = String::from_utf8_lossy(&out.stdout).to_lowercase()
            + &String::from_utf8_lossy(&out.stderr).to_lowercase();
        if said.contains("not found") {
            return Ok(None);
        }
        return Err(failed(format!(
            "it failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout).map_err(|e| {
        failed(format!(
            "it answered with something other than its JSON: {e}"
        ))
    })?;
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: answer.username,
        secret: answer.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(json: &str, registry: &str) -> Source {
        DockerConfig::parse(json, "config.json")
            .unwrap()
            .source_for(registry, "config.json")
            .unwrap()
    }

    #[test]
    fn inline_auth_is_decoded() {
        // base64("ops:s3cret:with:colons")
        let auth = base64::engine::general_purpose::STANDARD.encode("ops:s3cret:with:colons");
        let json = format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}}}}}"#);
        assert_eq!(
            source(&json, "127.0.0.1:5000"),
            Source::Inline(Credentials {
                username: "ops".into(),
                secret: "s3cret:with:colons".into()
            })
        );
        assert_eq!(source(&json, "127.0.0.1:5001"), Source::None);
    }

    #[test]
    fn old_style_keys_with_scheme_and_path_match() {
        let auth = base64::engine::general_purpose::STANDARD.encode("u:p");
        let json =
            format!(r#"{{"auths": {{"https://reg.example.com/v1/": {{"auth": "{auth}"}}}}}}"#);
        assert!(matches!(
            source(&json, "reg.example.com"),
            Source::Inline(_)
        ));
    }

    #[test]
    fn cred_helpers_win_over_auths_and_the_store() {
        let json = r#"{
            "auths": {"reg.example.com": {"auth": "dTpw"}},
            "credHelpers": {"reg.example.com": "ecr-login"},
            "credsStore": "desktop"
        }"#;
        assert_eq!(
            source(json, "reg.example.com"),
            Source::Helper("ecr-login".into())
        );
        // Another registry falls back to the store.
        assert_eq!(
            source(json, "other.example.com"),
            Source::Helper("desktop".into())
        );
    }

    #[test]
    fn an_empty_marker_entry_defers_to_the_store() {
        let json = r#"{"auths": {"reg.example.com": {}}, "credsStore": "pass"}"#;
        assert_eq!(
            source(json, "reg.example.com"),
            Source::Helper("pass".into())
        );
    }

    #[test]
    fn bad_auth_names_the_key_and_file() {
        let json = r#"{"auths": {"reg.example.com": {"auth": "!!!"}}}"#;
        let err = DockerConfig::parse(json, "/h/.docker/config.json")
            .unwrap()
            .source_for("reg.example.com", "/h/.docker/config.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/h/.docker/config.json"), "{err}");
        assert!(err.contains("auths.\"reg.example.com\".auth"), "{err}");
    }

    #[test]
    fn credentials_never_debug_print_the_secret() {
        let c = Credentials {
            username: "u".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn invalid_json_names_the_file() {
        let err = DockerConfig::parse("{", "/x/config.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/x/config.json"), "{err}");
    }
}
