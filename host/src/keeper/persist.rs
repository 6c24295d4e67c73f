//! Whether a run keeps its connection for later runs, and for how long.
//! The first of these that says something decides:
//!
//! 1. `CI` set: never (no process of ops outlives a CI job's run);
//! 2. `OPS_PERSIST=DURATION` (`0`, `off`, `no`, `false`: not at all);
//! 3. `[connection] persist` in `$XDG_CONFIG_HOME/ops/config.toml`
//!    (else `~/.config/ops/config.toml`);
//! 4. the node's ssh_config asking for `ControlMaster` with
//!    `ControlPersist`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::PersistError;
use crate::ssh::{parse_time, ControlPersist, Resolved};

/// How long a kept connection stays after the last run using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Idle(Duration),
    /// Until `ops connection stop`, or until the connection dies.
    Forever,
}

impl Keep {
    /// The idle limit in seconds, `None` for ever (as the keeper is told).
    pub fn seconds(self) -> Option<u64> {
        match self {
            Keep::Idle(d) => Some(d.as_secs().max(1)),
            Keep::Forever => None,
        }
    }
}

/// What decides, read from the environment and the user's files.
pub struct Sources {
    pub ci: Option<String>,
    pub ops_persist: Option<String>,
    /// The user config file, when there is one.
    pub user_config: Option<PathBuf>,
}

impl Sources {
    pub fn from_env() -> Sources {
        let var = |name: &str| std::env::var(name).ok();
        let config_home = var("XDG_CONFIG_HOME")
            .filter(|d| Path::new(d).is_absolute())
            .map(PathBuf::from)
            .or_else(|| crate::ssh::home_dir().map(|h| h.join(".config")));
        Sources {
            ci: var("CI"),
            ops_persist: var("OPS_PERSIST"),
            user_config: config_home
                .map(|d| d.join("ops").join("config.toml"))
                .filter(|p| p.exists()),
        }
    }
}

/// Whether `resolved`'s connection is kept, and how long.
pub fn decide(sources: &Sources, resolved: &Resolved) -> Result<Option<Keep>, PersistError> {
    if sources.ci.as_deref().is_some_and(|v| !v.is_empty()) {
        return Ok(None);
    }
    if let Some(value) = sources.ops_persist.as_deref().filter(|v| !v.is_empty()) {
        return parse(value).map_err(|message| PersistError {
            origin: format!("OPS_PERSIST={value:?}"),
            message,
        });
    }
    if let Some(file) = &sources.user_config {
        if let Some(value) = read_user_config(file)? {
            return parse(&value).map_err(|message| PersistError {
                origin: format!("{}: [connection] persist = {value:?}", file.display()),
                message,
            });
        }
    }
    Ok(match resolved.control_persist() {
        Some(ControlPersist::Idle(d)) if !d.is_zero() => Some(Keep::Idle(d)),
        Some(ControlPersist::Idle(_)) | Some(ControlPersist::Forever) => Some(Keep::Forever),
        Some(ControlPersist::No) | None => None,
    })
}

/// `10m`, `90s`, `1h30m`, a number of seconds; `0`, `off`, `no`, `false`.
fn parse(value: &str) -> Result<Option<Keep>, String> {
    let value = value.trim();
    if ["off", "no", "false"]
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w))
    {
        return Ok(None);
    }
    match parse_time(value) {
        Some(d) if d.is_zero() => Ok(None),
        Some(d) => Ok(Some(Keep::Idle(d))),
        None => Err(
            "not a duration: write 10m, 90s or 1h30m (a bare number is seconds), or 0 or off \
             to keep nothing"
                .into(),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserConfig {
    connection: Option<Connection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connection {
    persist: Option<String>,
}

/// `[connection] persist` of the user config file.
fn read_user_config(file: &Path) -> Result<Option<String>, PersistError> {
    let origin = || file.display().to_string();
    let text = crate::local_file::read_local_text(file, crate::local_file::MAX_TEXT_FILE).map_err(
        |e| PersistError {
            origin: origin(),
            message: e.to_string(),
        },
    )?;
    let config: UserConfig = toml::from_str(&text).map_err(|e| PersistError {
        origin: origin(),
        message: e.to_string(),
    })?;
    Ok(config.connection.and_then(|c| c.persist))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(persist: Option<ControlPersist>) -> Resolved {
        let host = crate::ssh::SshConfigFile::default().resolve("n", Some("u"), Some(22));
        let mut r = Resolved {
            hops: Vec::new(),
            host,
            pin: None,
            accept_new_host_key: false,
            home: PathBuf::from("/h"),
            agent_socket: None,
        };
        r.host.control_persist = persist;
        r
    }

    fn sources(ci: Option<&str>, env: Option<&str>) -> Sources {
        Sources {
            ci: ci.map(Into::into),
            ops_persist: env.map(Into::into),
            user_config: None,
        }
    }

    #[test]
    fn ci_wins_over_everything() {
        let asked = resolved(Some(ControlPersist::Forever));
        assert_eq!(
            decide(&sources(Some("true"), Some("10m")), &asked).unwrap(),
            None
        );
        assert_eq!(decide(&sources(Some("1"), None), &asked).unwrap(), None);
    }

    #[test]
    fn the_environment_then_ssh_config() {
        let ten = Some(Keep::Idle(Duration::from_secs(600)));
        let plain = resolved(None);
        assert_eq!(decide(&sources(None, Some("10m")), &plain).unwrap(), ten);
        assert_eq!(decide(&sources(None, Some("600")), &plain).unwrap(), ten);
        assert_eq!(decide(&sources(None, None), &plain).unwrap(), None);
        let asked = resolved(Some(ControlPersist::Idle(Duration::from_secs(600))));
        assert_eq!(decide(&sources(None, None), &asked).unwrap(), ten);
        for off in ["0", "off", "No", "false"] {
            assert_eq!(decide(&sources(None, Some(off)), &asked).unwrap(), None);
        }
        let forever = resolved(Some(ControlPersist::Forever));
        assert_eq!(
            decide(&sources(None, None), &forever).unwrap(),
            Some(Keep::Forever)
        );
        assert!(decide(&sources(None, Some("ten minutes")), &plain).is_err());
    }

    #[test]
    fn the_user_config_says_persist_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let with = |text: &str| {
            std::fs::write(&file, text).unwrap();
            let s = Sources {
                ci: None,
                ops_persist: None,
                user_config: Some(file.clone()),
            };
            decide(&s, &resolved(Some(ControlPersist::Forever)))
        };
        assert_eq!(
            with("[connection]\npersist = \"90s\"\n").unwrap(),
            Some(Keep::Idle(Duration::from_secs(90)))
        );
        assert_eq!(with("[connection]\npersist = \"off\"\n").unwrap(), None);
        // Silent on persistence: ssh_config decides.
        assert_eq!(with("").unwrap(), Some(Keep::Forever));
        let err = with("[connection]\npersits = \"10m\"\n").unwrap_err();
        assert!(err.to_string().contains("persits"), "{err}");
    }
}
