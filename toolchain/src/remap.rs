//! The rustc wrapper that remaps a plugin's folder out of its output (see
//! [`crate::Toolchain::build_command`]).

use std::path::{Path, PathBuf};

use crate::Error;

/// The folder [`crate::Toolchain::build_command`]'s rustc wrapper remaps to `/ops`.
pub(crate) const FOLDER_REMAP_ENV: &str = "OPS_PLUGIN_PARENT_DIR";

/// The rustc the wrapper runs.
pub(crate) const REAL_RUSTC_ENV: &str = "OPS_PLUGIN_RUSTC";

/// A target folder outside the plugin's parent folder, which the wrapper
/// remaps to `/target` (unset when the target folder is inside it).
pub(crate) const TARGET_REMAP_ENV: &str = "OPS_PLUGIN_TARGET_DIR";

/// The wrapper puts the folder's remap first, so that the target folder's
/// and the rustflags' own remaps (cargo's home, the std sources) still win
/// where both match, as rustc lets the last matching remap apply.
const FOLDER_REMAP_SCRIPT: &str = "#!/bin/sh
# Written by ops: rustc with the plugin's folder remapped out of its output.
exec \"$OPS_PLUGIN_RUSTC\" \"--remap-path-prefix=$OPS_PLUGIN_PARENT_DIR=/ops\" \\
	${OPS_PLUGIN_TARGET_DIR:+\"--remap-path-prefix=$OPS_PLUGIN_TARGET_DIR=/target\"} \"$@\"
";

/// Writes the rustc wrapper into `target_dir` (only when its text changed,
/// so that cargo's fingerprints of the wrapper stay put) and returns its path.
pub(crate) fn install_folder_remap(target_dir: &Path) -> Result<PathBuf, Error> {
    use std::os::unix::fs::PermissionsExt;
    let path = target_dir.join("ops-rustc-folder-remap");
    let io = |e: std::io::Error| Error::Run {
        program: format!("writing {}", path.display()),
        message: e.to_string(),
    };
    if std::fs::read(&path).ok().as_deref() != Some(FOLDER_REMAP_SCRIPT.as_bytes()) {
        std::fs::create_dir_all(target_dir).map_err(io)?;
        // A fresh file, renamed over: a build running beside this one
        // never executes a half-written script.
        let fresh = target_dir.join(format!("ops-rustc-folder-remap.{}", std::process::id()));
        std::fs::write(&fresh, FOLDER_REMAP_SCRIPT).map_err(io)?;
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        std::fs::rename(&fresh, &path).map_err(io)?;
    }
    Ok(path)
}
