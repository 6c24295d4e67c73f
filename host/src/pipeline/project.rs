//! The local project root: the config file's folder, or its git top level.

use std::path::{Path, PathBuf};

/// The git top level above `config_dir` (the nearest ancestor holding
/// `.git`), else `config_dir` itself; absolute when it can be.
pub fn root(config_dir: &Path) -> PathBuf {
    let dir = config_dir
        .canonicalize()
        .unwrap_or_else(|_| config_dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

/// The project's name: `project` in ops.toml, else the name of its root
/// folder. Hooks see it as `OPS_PROJECT`, and every image ops builds
/// carries it as the label `ops.project`.
pub fn name(config: &crate::config::Config) -> String {
    match &config.project {
        Some(name) => name.value.clone(),
        None => root(config.dir())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_git_top_level_or_keeps_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().canonicalize().unwrap();
        let sub = top.join("deploy/prod");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(root(&sub), sub);
        std::fs::create_dir(top.join(".git")).unwrap();
        assert_eq!(root(&sub), top);
    }
}
