//! Where `ops plugin build` has cargo build, and where the component lands.
//!
//! Every plugin crate of a user shares one cargo target folder, so that the
//! standard library (`-Zbuild-std`, where the toolchain has no prebuilt wasm
//! std) and the common dependencies (the SDK, wit-bindgen, serde) are
//! compiled once, not once per crate folder. The toolchain keeps that
//! folder out of the output (it is remapped to `/target`), so the component's
//! bytes do not depend on where the folder is.

use std::path::{Path, PathBuf};

use super::error::{io, AuthorError};

/// The folders of one `ops plugin build`.
#[derive(Debug, Clone)]
pub struct BuildDirs {
    /// cargo's target folder.
    pub cargo_target: PathBuf,
    /// Where `<name>.wasm` is written.
    pub components: PathBuf,
}

impl BuildDirs {
    /// `$CARGO_TARGET_DIR` when set (relative to where `ops` runs, as cargo
    /// reads it), with the component in its `ops/`; else the user's shared
    /// folder (`plugin-target/` in ops's cache folder, made 0700), with the
    /// component in the crate's own `target/ops/`. Without a cache folder
    /// (no HOME): the crate's `target/`, as cargo would.
    pub fn for_crate(crate_dir: &Path) -> Result<BuildDirs, AuthorError> {
        BuildDirs::choose(
            crate_dir,
            std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()),
            crate::plugin::cache_base_from_env(),
        )
    }

    fn choose(
        crate_dir: &Path,
        cargo_target_dir: Option<std::ffi::OsString>,
        cache_base: Option<PathBuf>,
    ) -> Result<BuildDirs, AuthorError> {
        if let Some(dir) = cargo_target_dir {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map_err(io("."))?.join(dir)
            };
            return Ok(BuildDirs {
                components: dir.join("ops"),
                cargo_target: dir,
            });
        }
        let components = crate_dir.join("target").join("ops");
        let Some(base) = cache_base else {
            return Ok(BuildDirs {
                cargo_target: crate_dir.join("target"),
                components,
            });
        };
        let shared = base.join("plugin-target");
        // Private: a build script of any crate built there runs as this user
        // anyway, but another user must not plant artifacts in it.
        crate::plugin::create_private_dir(&shared).map_err(io(&shared))?;
        Ok(BuildDirs {
            cargo_target: shared,
            components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_target_dir_wins_and_holds_the_component() {
        let dirs = BuildDirs::choose(
            Path::new("/src/acme"),
            Some("/t/shared".into()),
            Some("/c/ops".into()),
        )
        .unwrap();
        assert_eq!(dirs.cargo_target, Path::new("/t/shared"));
        assert_eq!(dirs.components, Path::new("/t/shared/ops"));
    }

    #[test]
    fn crates_share_the_users_folder_and_keep_their_component() {
        let cache = tempfile::tempdir().unwrap();
        let dirs =
            BuildDirs::choose(Path::new("/src/acme"), None, Some(cache.path().into())).unwrap();
        let shared = cache.path().join("plugin-target");
        assert_eq!(dirs.cargo_target, shared);
        assert_eq!(dirs.components, Path::new("/src/acme/target/ops"));
        let other =
            BuildDirs::choose(Path::new("/src/other"), None, Some(cache.path().into())).unwrap();
        assert_eq!(other.cargo_target, shared);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn without_a_cache_folder_the_crate_builds_in_its_own_target() {
        let dirs = BuildDirs::choose(Path::new("/src/acme"), None, None).unwrap();
        assert_eq!(dirs.cargo_target, Path::new("/src/acme/target"));
        assert_eq!(dirs.components, Path::new("/src/acme/target/ops"));
    }
}
