//! The paths of `build.artifacts`, checked twice: each pattern as written
//! in ops.toml (a config error at its column), and each path the node
//! reports back, which is trusted no more than the node is: only a plain
//! relative path, with no `..` and no leading `/`, may name a file under
//! the artifacts directory.

use std::path::{Component, Path, PathBuf};

use crate::config::{ConfigError, Located};

/// A pattern of `build.artifacts`: a path or a shell glob relative to
/// `build.path`, that cannot leave it as written.
pub(super) fn check_pattern(pattern: &Located<String>) -> Result<String, ConfigError> {
    let text = pattern.as_str();
    let invalid =
        |message: String| ConfigError::invalid(pattern.at.clone(), "build.artifacts", message);
    if text.trim().is_empty() {
        return Err(invalid("an entry must not be empty".into()));
    }
    if text.contains(['\n', '\r', '\0']) {
        return Err(invalid(format!("{text:?} must be a single line")));
    }
    if text.starts_with('/') || text.starts_with('~') {
        return Err(invalid(format!(
            "{text:?} must be relative to build.path (not absolute, not in ~)"
        )));
    }
    if text.split('/').any(|part| part == "..") {
        return Err(invalid(format!(
            "{text:?} must not contain `..`: artifacts come only from under build.path"
        )));
    }
    Ok(text.to_owned())
}

/// Why a path the node reported is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the node reported the artifact path {0:?}, which is not a plain path under build.path")]
pub(super) struct UnsafePath(pub String);

/// `reported`, a path the node says it found, as a path under the
/// artifacts directory: relative, no `..`, at least one name; `.`
/// components are dropped.
pub(super) fn local_relative(reported: &str) -> Result<PathBuf, UnsafePath> {
    let refuse = || UnsafePath(reported.to_owned());
    if reported.is_empty() || reported.contains('\0') {
        return Err(refuse());
    }
    let mut out = PathBuf::new();
    for component in Path::new(reported).components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(refuse())
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(refuse());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Location;

    fn located(text: &str) -> Located<String> {
        Located {
            value: text.to_owned(),
            at: Location {
                file: "ops.toml".into(),
                line: 1,
                column: 1,
            },
        }
    }

    #[test]
    fn patterns_under_the_build_path_pass() {
        for ok in [
            "target/release/api",
            "dist/*.tar.gz",
            "./out/a",
            "a..b",
            "**/x",
        ] {
            assert_eq!(check_pattern(&located(ok)).unwrap(), ok);
        }
    }

    #[test]
    fn patterns_that_leave_the_build_path_are_refused() {
        for bad in [
            "/etc/passwd",
            "~/.ssh/id_ed25519",
            "../x",
            "a/../../b",
            "a/..",
            "",
            " ",
            "a\nb",
        ] {
            let e = check_pattern(&located(bad)).unwrap_err().to_string();
            assert!(e.contains("build.artifacts"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn reported_paths_stay_under_the_artifacts_dir() {
        assert_eq!(local_relative("a/b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(local_relative("./a/./b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(local_relative("a//b").unwrap(), PathBuf::from("a/b"));
        for bad in [
            "",
            ".",
            "./",
            "/etc/x",
            "../x",
            "a/../../x",
            "a/..",
            "a\0b",
            "//x",
        ] {
            assert_eq!(
                local_relative(bad),
                Err(UnsafePath(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}
