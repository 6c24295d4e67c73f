//! An image tag.

use std::fmt;
use std::str::FromStr;

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. Upper case is
/// allowed (tags, unlike repository names, are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tag is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`")]
pub struct TagError;

impl Tag {
    /// The tag Docker uses when a reference names none.
    pub const LATEST: &str = "latest";

    pub fn latest() -> Tag {
        Tag(Tag::LATEST.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Tag {
    type Err = TagError;

    fn from_str(tag: &str) -> Result<Tag, TagError> {
        let mut chars = tag.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if first_ok && rest_ok && tag.len() <= 128 {
            Ok(Tag(tag.to_owned()))
        } else {
            Err(TagError)
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let longest = "a".repeat(128);
        let too_long = "a".repeat(129);
        let table: &[(&str, bool)] = &[
            ("latest", true),
            ("abc123", true),
            ("v1.2.0", true),
            ("V1-RC", true),
            ("_x", true),
            ("__", true),
            ("a-b_c.d", true),
            (&longest, true),
            ("", false),
            ("-x", false),
            (".x", false),
            ("a b", false),
            ("a;rm -rf /", false),
            ("$(id)", false),
            ("a:b", false),
            ("a@b", false),
            ("é", false),
            (&too_long, false),
        ];
        for (text, valid) in table {
            assert_eq!(text.parse::<Tag>().is_ok(), *valid, "{text:?}");
        }
        assert_eq!(Tag::latest().as_str(), "latest");
    }
}
