//! What `ops plugin install`, `remove`, `info` and `push` share: the
//! per-user store ([`crate::distribution::store`]) on one side, files, URLs
//! and registries ([`crate::distribution::fetch`]) on the other.

use std::path::PathBuf;
use std::sync::Arc;

use crate::distribution::fetch::FetchError;
use crate::distribution::store::StoreError;
use crate::exit::{Exit, ExitStatusOf};
use crate::plugin::{Capability, Limits, Plugin, PluginSource, Runtime};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} is not a WebAssembly component: {message}")]
    NotAComponent { what: String, message: String },
    #[error("--sha256 {value:?} is not 64 hex digits")]
    BadDigest { value: String },
    #[error("{what} has sha256 {actual}, but --sha256 asks for {expected}; nothing was installed")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("`{name}` is a built-in plugin; it cannot be removed (a [plugins.{name}] entry in ops.toml replaces it)")]
    Builtin { name: String },
    #[error("no installed plugin named `{name}` ({installed}){hint}")]
    NotInstalled {
        name: String,
        installed: String,
        hint: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl ExitStatusOf for CommandError {
    fn exit(&self) -> Exit {
        match self {
            CommandError::Read { .. }
            | CommandError::NotAComponent { .. }
            | CommandError::BadDigest { .. }
            | CommandError::DigestMismatch { .. }
            | CommandError::Builtin { .. }
            | CommandError::NotInstalled { .. } => Exit::Usage,
            CommandError::Store(e) => e.exit(),
            CommandError::Fetch(e) => e.exit(),
        }
    }
}

impl ExitStatusOf for StoreError {
    fn exit(&self) -> Exit {
        match self {
            StoreError::NoHome | StoreError::BadName(_) | StoreError::Tampered { .. } => {
                Exit::Usage
            }
            StoreError::Io { .. } | StoreError::Corrupt { .. } => Exit::Internal,
        }
    }
}

/// The declared capabilities as `grant = [...]` entries, one per program,
/// variable or host, so that each can be granted or left out.
pub(crate) fn grant_list(capabilities: &[Capability]) -> Vec<String> {
    let each = |kind: &str, items: &[String]| -> Vec<String> {
        items.iter().map(|i| format!("{kind}:{i}")).collect()
    };
    capabilities
        .iter()
        .flat_map(|c| match c {
            Capability::LocalExec(programs) => each("local-exec", programs),
            Capability::Env(names) => each("env", names),
            Capability::Http(hosts) => each("http", hosts),
            other => vec![other.to_string()],
        })
        .collect()
}

/// `grant = ["a", "b"]`, as TOML.
pub(crate) fn grant_line(grants: &[String]) -> String {
    let quoted: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
    format!("grant = [{}]", quoted.join(", "))
}

/// Refuses anything that is not a WebAssembly component before wasmtime
/// sees it, so that a core module or a stray file gets a plain answer.
pub(crate) fn check_component(what: &str, bytes: &[u8]) -> Result<(), CommandError> {
    let fail = |message: &str| CommandError::NotAComponent {
        what: what.to_owned(),
        message: message.to_owned(),
    };
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(fail(
            "it is a core WebAssembly module; plugins are components \
             (build for wasm32-wasip2, or wrap it with `wasm-tools component new`)",
        )),
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', ..]) => Err(fail("unknown WebAssembly version")),
        _ => Err(fail("it does not start with the WebAssembly magic bytes")),
    }
}

/// Loads `wasm` as a plugin whose name its metadata gives: API version
/// checked before anything runs, compiled into the compile cache.
pub(crate) async fn load(
    runtime: &Runtime,
    what: &str,
    source: PluginSource,
    wasm: Arc<[u8]>,
) -> Result<Plugin, crate::exit::Failure> {
    check_component(what, &wasm)?;
    let plugin = runtime.load_unnamed(what, source, wasm).await?;
    crate::distribution::store::check_name(plugin.name())?;
    Ok(plugin)
}

pub(crate) fn runtime() -> Result<Runtime, crate::exit::Failure> {
    Ok(Runtime::new(Limits::from_env())?)
}

/// Reads a local file, naming it when that fails.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CommandError> {
    crate::local_file::read_local_file(path, crate::local_file::MAX_COMPONENT_FILE).map_err(
        |source| CommandError::Read {
            path: path.to_owned(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_one_per_item() {
        let caps = [
            Capability::RemoteExec,
            Capability::LocalExec(vec!["rsync".into(), "ssh".into()]),
            Capability::Http(vec!["auth.example.com".into()]),
        ];
        let grants = grant_list(&caps);
        assert_eq!(
            grants,
            [
                "remote-exec",
                "local-exec:rsync",
                "local-exec:ssh",
                "http:auth.example.com"
            ]
        );
        for grant in &grants {
            crate::plugin::Grant::parse(grant).unwrap();
        }
        assert_eq!(
            grant_line(&grants[..2]),
            r#"grant = ["remote-exec", "local-exec:rsync"]"#
        );
        assert_eq!(grant_line(&[]), "grant = []");
    }

    #[test]
    fn only_components_pass() {
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0, 9];
        assert!(check_component("x", &component).is_ok());
        let module = [0, b'a', b's', b'm', 1, 0, 0, 0];
        let err = check_component("m.wasm", &module).unwrap_err().to_string();
        assert!(
            err.contains("m.wasm") && err.contains("core WebAssembly module"),
            "{err}"
        );
        assert!(check_component("t", b"#!/bin/sh\necho").is_err());
        assert!(check_component("e", b"").is_err());
    }
}
