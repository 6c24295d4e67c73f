//! A git ref to build: `--ref` and `build.branch`.

use std::fmt;
use std::str::FromStr;

/// The parts of git's ref-name rules that matter for safety and clear
/// errors; git itself has the last word on whether the ref exists. A
/// leading `-` would be read as an option by git on the node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid git ref (it must not be empty, start with '-', or contain \
     whitespace, control characters, '..', '~', '^', ':', '?', '*', '[' or '\\')"
)]
pub struct GitRefError(pub String);

impl GitRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for GitRef {
    type Err = GitRefError;

    fn from_str(git_ref: &str) -> Result<GitRef, GitRefError> {
        let bad_char = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        };
        if git_ref.is_empty()
            || git_ref.starts_with('-')
            || git_ref.contains("..")
            || git_ref.contains("@{")
            || git_ref.ends_with('.')
            || git_ref.ends_with(".lock")
            || git_ref.chars().any(bad_char)
        {
            return Err(GitRefError(git_ref.to_owned()));
        }
        Ok(GitRef(git_ref.to_owned()))
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        let table = [
            ("main", true),
            ("v1.2.0", true),
            ("feature/x", true),
            ("0123abcd", true),
            ("refs/heads/main", true),
            ("", false),
            ("-x", false),
            ("--upload-pack=evil", false),
            ("a b", false),
            ("a..b", false),
            ("a~1", false),
            ("a^", false),
            ("x:y", false),
            ("a?", false),
            ("a*", false),
            ("a[", false),
            ("a\\b", false),
            ("a@{1}", false),
            ("a.", false),
            ("a.lock", false),
            ("$(id)\n", false),
            ("a\tb", false),
        ];
        for (text, valid) in table {
            assert_eq!(text.parse::<GitRef>().is_ok(), valid, "{text:?}");
        }
    }
}
