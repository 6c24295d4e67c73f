//! `ops plugin new`: a plugin crate that builds, does something real for
//! its kind and tests natively, with the SDK and WIT from this binary.

use std::path::{Path, PathBuf};

use super::embedded::{LOCK_FILE, PLUGINS_MANIFEST, SDK_FILES};
use super::error::{io, AuthorError};

/// The kinds `ops plugin new --kind` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewKind {
    Sync,
    RegistryAuth,
    ImageBuilder,
}

impl NewKind {
    /// (src/lib.rs, the `ops.toml` lines that use it, a few words).
    fn templates(self) -> (&'static str, &'static str, &'static str) {
        match self {
            NewKind::Sync => (
                include_str!("templates/sync.rs.tmpl"),
                include_str!("templates/sync.toml.tmpl"),
                "sync strategy",
            ),
            NewKind::RegistryAuth => (
                include_str!("templates/registry_auth.rs.tmpl"),
                include_str!("templates/registry_auth.toml.tmpl"),
                "registry auth",
            ),
            NewKind::ImageBuilder => (
                include_str!("templates/image_builder.rs.tmpl"),
                include_str!("templates/image_builder.toml.tmpl"),
                "image builder",
            ),
        }
    }

    pub fn text(self) -> &'static str {
        self.templates().2
    }
}

/// Names that pass the store's check but that cargo or rustc refuse as a
/// crate name.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "gen",
    "alloc",
    "core",
    "std",
    "test",
    "proc-macro",
];

pub fn check_name(name: &str) -> Result<(), AuthorError> {
    crate::distribution::store::check_name(name)
        .map_err(|_| AuthorError::BadName(name.to_owned()))?;
    if RESERVED.contains(&name) {
        return Err(AuthorError::ReservedName(name.to_owned()));
    }
    Ok(())
}

/// Writes the crate for `name` into `dir` (created if missing, refused if
/// it has anything in it) and returns the files written.
pub fn write(name: &str, kind: NewKind, dir: &Path) -> Result<Vec<PathBuf>, AuthorError> {
    check_name(name)?;
    check_dir(dir)?;
    let mut written = Vec::new();
    for (rel, contents) in files(name, kind) {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, contents).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// A folder that exists must be an empty folder: nothing of the user's is
/// ever overwritten or mixed with the new crate.
fn check_dir(dir: &Path) -> Result<(), AuthorError> {
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(AuthorError::NotEmpty(dir.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() => Err(AuthorError::NotEmpty(dir.to_owned())),
        Err(source) => Err(AuthorError::Io {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Every file of the new crate, relative to its folder.
pub fn files(name: &str, kind: NewKind) -> Vec<(String, String)> {
    let (lib, usage, text) = kind.templates();
    let render = |template: &str| {
        template
            .replace("@USAGE@", usage.trim_end())
            .replace("@PROFILE@", release_profile())
            .replace("@KIND_TEXT@", text)
            .replace("@API@", crate::plugin::API_VERSION)
            .replace("@ENV@", &token_env(name))
            .replace("@NAME@", name)
    };
    let mut files = vec![
        (
            "Cargo.toml".to_owned(),
            render(include_str!("templates/Cargo.toml.tmpl")),
        ),
        ("Cargo.lock".to_owned(), LOCK_FILE.to_owned()),
        (
            ".gitignore".to_owned(),
            include_str!("templates/gitignore.tmpl").to_owned(),
        ),
        (
            "README.md".to_owned(),
            render(include_str!("templates/README.md.tmpl")),
        ),
        ("src/lib.rs".to_owned(), render(lib)),
    ];
    files.extend(
        SDK_FILES
            .iter()
            .map(|(path, contents)| (path.to_string(), contents.to_string())),
    );
    files
}

/// `ACME_AUTH_TOKEN` for `acme-auth`: the variable a registry auth reads.
fn token_env(name: &str) -> String {
    format!("{}_TOKEN", name.to_ascii_uppercase().replace('-', "_"))
}

/// The `[profile.release]` table of the plugins workspace, so that a new
/// plugin is built like the built-ins.
fn release_profile() -> &'static str {
    let start = PLUGINS_MANIFEST.find("[profile.release]").unwrap_or(0);
    let rest = &PLUGINS_MANIFEST[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    rest[..end].trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [NewKind; 3] = [NewKind::Sync, NewKind::RegistryAuth, NewKind::ImageBuilder];

    #[test]
    fn names_are_checked() {
        for good in ["acme-sync", "a", "s3-auth"] {
            check_name(good).unwrap();
        }
        for bad in ["", "Acme", "3d", "-a", "a_b", "a.b", "a/b", &"a".repeat(65)] {
            let err = check_name(bad).unwrap_err();
            assert!(matches!(err, AuthorError::BadName(_)), "{bad}: {err}");
        }
        for reserved in ["fn", "std", "test"] {
            assert!(matches!(
                check_name(reserved),
                Err(AuthorError::ReservedName(_))
            ));
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for kind in KINDS {
            for (path, contents) in files("acme-x", kind) {
                if path.starts_with("vendor/") || path.starts_with("wit/") {
                    continue;
                }
                for placeholder in ["@NAME@", "@ENV@", "@API@", "@USAGE@", "@PROFILE@"] {
                    assert!(!contents.contains(placeholder), "{path}: {placeholder}");
                }
            }
        }
    }

    #[test]
    fn the_manifest_is_a_workspace_of_its_own_built_like_the_builtins() {
        let (_, manifest) = files("acme-x", NewKind::Sync).swap_remove(0);
        let table: toml::Table = toml::from_str(&manifest).unwrap();
        assert_eq!(table["package"]["name"].as_str(), Some("acme-x"));
        assert!(table.contains_key("workspace"));
        let types = table["lib"]["crate-type"].as_array().unwrap();
        assert_eq!(types.len(), 2);
        let ours = &table["profile"]["release"];
        let builtins: toml::Table = toml::from_str(PLUGINS_MANIFEST).unwrap();
        assert_eq!(ours, &builtins["profile"]["release"]);
        assert_eq!(ours["panic"].as_str(), Some("abort"));
    }

    #[test]
    fn each_kind_exports_its_kind_and_names_itself() {
        let exports = [
            "export_sync_strategy!",
            "export_registry_auth!",
            "export_image_builder!",
        ];
        for (kind, export) in KINDS.into_iter().zip(exports) {
            let lib = &files("acme-x", kind)[4].1;
            assert!(lib.contains(export), "{kind:?}");
            assert!(lib.contains("name: \"acme-x\""), "{kind:?}");
            assert!(lib.contains("#[cfg(test)]"), "{kind:?}");
        }
        assert!(files("acme-x", NewKind::RegistryAuth)[4]
            .1
            .contains("&[\"ACME_X_TOKEN\"]"));
    }

    #[test]
    fn only_a_missing_or_empty_folder_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("acme-sync");
        let written = write("acme-sync", NewKind::Sync, &dir).unwrap();
        assert!(written.contains(&dir.join("vendor/ops-plugin-sdk/src/lib.rs")));
        assert!(dir.join("wit/v0.3.0/plugin.wit").is_file());
        let err = write("acme-sync", NewKind::Sync, &dir).unwrap_err();
        assert!(matches!(err, AuthorError::NotEmpty(_)), "{err}");
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            write("acme-sync", NewKind::Sync, &file),
            Err(AuthorError::NotEmpty(_))
        ));
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        write("acme-sync", NewKind::Sync, &empty).unwrap();
    }
}
