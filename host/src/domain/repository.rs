//! The path of an image name.

use std::fmt;
use std::str::FromStr;

/// `component[/component...]` after the registry: each component is
/// lowercase letters and digits separated by one `.`, one `_`, `__`, or a
/// run of `-` (Docker's `distribution/reference` grammar), and the whole
/// path is at most 255 characters. Upper case is refused, as Docker
/// refuses it ("repository name must be lowercase").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    #[error("it is empty")]
    Empty,
    #[error(
        "`{0}` is not a path component (lowercase letters and digits, separated by `.`, `_`, \
         `__` or `-`)"
    )]
    Component(String),
    #[error("it is longer than 255 characters")]
    TooLong,
}

impl Repository {
    /// One path component, as a service name must be to become one.
    pub fn is_component(name: &str) -> bool {
        let bytes = name.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        if !alnum(first) || !alnum(last) {
            return false;
        }
        let mut i = 0;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let sep = &name[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
            if !ok {
                return false;
            }
        }
        true
    }

    /// This path with `component` appended.
    pub fn join(&self, component: &str) -> Result<Repository, RepositoryError> {
        format!("{}/{component}", self.0).parse()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Repository {
    type Err = RepositoryError;

    fn from_str(path: &str) -> Result<Repository, RepositoryError> {
        if path.is_empty() {
            return Err(RepositoryError::Empty);
        }
        if let Some(bad) = path.split('/').find(|c| !Repository::is_component(c)) {
            return Err(RepositoryError::Component(bad.to_owned()));
        }
        if path.len() > 255 {
            return Err(RepositoryError::TooLong);
        }
        Ok(Repository(path.to_owned()))
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        let table = [
            ("api", true),
            ("my-api", true),
            ("a.b", true),
            ("a_b", true),
            ("a__b", true),
            ("a--b", true),
            ("a---b", true),
            ("x1", true),
            ("0", true),
            ("Api", false),
            ("-api", false),
            ("api-", false),
            ("_api", false),
            ("a..b", false),
            ("a___b", false),
            ("a._b", false),
            ("a-_b", false),
            ("a b", false),
            ("a;b", false),
            ("$(id)", false),
            ("", false),
        ];
        for (text, valid) in table {
            assert_eq!(Repository::is_component(text), valid, "{text}");
        }
    }

    #[test]
    fn paths() {
        use RepositoryError as E;
        let long = format!("{}/{}", "a".repeat(128), "b".repeat(126));
        let too_long = format!("{long}c");
        let table: &[(&str, Result<(), RepositoryError>)] = &[
            ("library/ubuntu", Ok(())),
            ("team/acme-sync", Ok(())),
            ("a/b/c/d", Ok(())),
            (&long, Ok(())),
            ("", Err(E::Empty)),
            ("Acme", Err(E::Component("Acme".into()))),
            ("a//b", Err(E::Component(String::new()))),
            ("a/", Err(E::Component(String::new()))),
            ("/a", Err(E::Component(String::new()))),
            ("a/b:c", Err(E::Component("b:c".into()))),
            (&too_long, Err(E::TooLong)),
        ];
        for (text, want) in table {
            assert_eq!(text.parse::<Repository>().map(|_| ()), *want, "{text}");
        }
        let joined = "org/project".parse::<Repository>().unwrap().join("api");
        assert_eq!(joined.unwrap().as_str(), "org/project/api");
    }
}
