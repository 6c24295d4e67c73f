//! `ops plugin build`: a plugin crate into a component, checked by loading
//! it in this host.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ops_wasm_toolchain::{Method, Toolchain};

use crate::plugin::{Limits, Metadata, PluginSource, Runtime};

use super::build_dirs::BuildDirs;
use super::componentize;
use super::error::{io, AuthorError};

/// Best first: what plugin authors usually have, then what needs a
/// componentising step, then the Debian toolchain.
const METHODS: &[Method] = &[
    Method::RustupWasip2,
    Method::RustupUnknown,
    Method::DebianBuildStd,
];

/// The crate being built, as its manifest describes it.
#[derive(Debug)]
pub struct PluginCrate {
    pub dir: PathBuf,
    /// The package name, which is also the plugin's name.
    pub name: String,
    /// The library's name as cargo writes its artifact.
    pub lib_name: String,
}

/// A component that was built and loads.
#[derive(Debug)]
pub struct Built {
    pub path: PathBuf,
    pub metadata: Metadata,
    pub size: usize,
    pub method: Method,
    pub elapsed: Duration,
}

pub async fn build(dir: &Path) -> Result<Built, AuthorError> {
    let started = Instant::now();
    let krate = read_crate(dir)?;
    let name = krate.name.clone();
    let dirs = BuildDirs::for_crate(&krate.dir)?;
    // cargo runs for minutes; the async workers stay free meanwhile.
    let (path, bytes, method) = tokio::task::spawn_blocking(move || compile(&krate, &dirs))
        .await
        .map_err(|e| AuthorError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let fail = |source| AuthorError::DoesNotLoad {
        name: name.clone(),
        source: Box::new(source),
    };
    let runtime = Runtime::new(Limits::from_env()).map_err(fail)?;
    let size = bytes.len();
    let plugin = runtime
        .load(
            &name,
            PluginSource::Path(path.clone()),
            Arc::from(bytes),
            Some(Vec::new()),
        )
        .await
        .map_err(fail)?;
    Ok(Built {
        path,
        metadata: plugin.metadata().clone(),
        size,
        method,
        elapsed: started.elapsed(),
    })
}

/// cargo, then wit-component where the target makes core modules; the
/// component lands in `<target>/ops/<name>.wasm`.
fn compile(
    krate: &PluginCrate,
    dirs: &BuildDirs,
) -> Result<(PathBuf, Vec<u8>, Method), AuthorError> {
    let target_dir = &dirs.cargo_target;
    let toolchain = Toolchain::detect(METHODS, &krate.dir).map_err(AuthorError::NoToolchain)?;
    let mut cargo = toolchain
        .build_cdylib_command(&krate.dir, target_dir)
        .map_err(AuthorError::NoToolchain)?;
    // stdout is for the component's path alone; cargo's output is progress.
    cargo.stdout(Stdio::from(std::io::stderr()));
    let status = cargo.status().map_err(io(&krate.dir))?;
    if !status.success() {
        return Err(AuthorError::BuildFailed {
            name: krate.name.clone(),
            status: status.to_string(),
        });
    }
    let artifact = toolchain.artifact(target_dir, &krate.lib_name);
    let wasm = std::fs::read(&artifact).map_err(io(&artifact))?;
    let component = if toolchain.method().needs_componentizing() {
        componentize::component(&wasm).map_err(|message| AuthorError::NotAModule {
            path: artifact.clone(),
            message,
        })?
    } else {
        wasm
    };
    let out_dir = &dirs.components;
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let out = out_dir.join(format!("{}.wasm", krate.name));
    write_atomic(&out, &component)?;
    Ok((out, component, toolchain.method()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AuthorError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    temp.write_all(bytes).map_err(io(path))?;
    temp.persist(path).map_err(|e| AuthorError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// The plugin crate in `dir`: a package with a `cdylib` library that
/// depends on the SDK.
pub fn read_crate(dir: &Path) -> Result<PluginCrate, AuthorError> {
    let not_a_plugin = |reason: &str| AuthorError::NotAPlugin {
        path: dir.to_owned(),
        reason: reason.to_owned(),
    };
    let manifest_path = dir.join("Cargo.toml");
    let text =
        match std::fs::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_a_plugin(
                "there is no Cargo.toml; `ops plugin new NAME --kind KIND` starts a plugin crate",
            )),
            Err(source) => {
                return Err(AuthorError::Io {
                    path: manifest_path,
                    source,
                })
            }
        };
    let manifest: toml::Table = toml::from_str(&text).map_err(|e| AuthorError::NotAPlugin {
        path: manifest_path.clone(),
        reason: format!("Cargo.toml does not parse: {e}"),
    })?;
    let name = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| not_a_plugin("Cargo.toml has no [package] name"))?
        .to_owned();
    let lib = manifest.get("lib");
    let cdylib = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(|t| t.as_array())
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
    if !cdylib {
        return Err(not_a_plugin(
            "its [lib] crate-type has no \"cdylib\", so cargo builds no wasm module",
        ));
    }
    let depends_on_sdk = manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .is_some_and(|d| d.contains_key("ops-plugin-sdk"));
    if !depends_on_sdk {
        return Err(not_a_plugin("it does not depend on ops-plugin-sdk"));
    }
    let lib_name = lib
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map_or_else(|| name.replace('-', "_"), str::to_owned);
    let dir = dir.canonicalize().map_err(io(dir))?;
    Ok(PluginCrate {
        dir,
        name,
        lib_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        dir
    }

    fn reason(dir: &Path) -> String {
        match read_crate(dir) {
            Err(AuthorError::NotAPlugin { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_plugin_crate_is_a_cdylib_on_the_sdk() {
        let dir = crate_with(
            "[package]\nname = \"acme-sync\"\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\
             [dependencies]\nops-plugin-sdk = { path = \"vendor/ops-plugin-sdk\" }\n",
        );
        let krate = read_crate(dir.path()).unwrap();
        assert_eq!(krate.name, "acme-sync");
        assert_eq!(krate.lib_name, "acme_sync");
        assert!(krate.dir.is_absolute());
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let empty = tempfile::tempdir().unwrap();
        assert!(reason(empty.path()).contains("no Cargo.toml"));
        let broken = crate_with("[package\n");
        assert!(reason(broken.path()).contains("does not parse"));
        let workspace = crate_with("[workspace]\nmembers = []\n");
        assert!(reason(workspace.path()).contains("no [package] name"));
        let rlib = crate_with("[package]\nname = \"a\"\n");
        assert!(reason(rlib.path()).contains("cdylib"));
        let no_sdk = crate_with("[package]\nname = \"a\"\n[lib]\ncrate-type = [\"cdylib\"]\n");
        assert!(reason(no_sdk.path()).contains("ops-plugin-sdk"));
        let err = read_crate(no_sdk.path()).unwrap_err();
        assert_eq!(
            crate::exit::ExitStatusOf::exit(&err),
            crate::exit::Exit::Usage
        );
    }
}
