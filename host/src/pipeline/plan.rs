//! What one `ops build` will do, decided before anything remote happens.
//!
//! Everything that can be checked locally is checked here, so that bad
//! input fails with exit code 2 and leaves the node untouched.

use std::fmt;

/// The image part of a plan: which services, under which references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub service: String,
    /// `{prefix}/{service}:{tag}`
    pub reference: String,
}

/// Why the command line or config cannot make a plan. Each names the value
/// and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "--service {given:?} is not one of build.image.services: {}{}",
        valid.join(", "),
        match suggestion { Some(s) => format!(" (did you mean `{s}`?)"), None => String::new() }
    )]
    UnknownService {
        given: String,
        valid: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("--service {0:?} given, but ops.toml has no [build.image] section")]
    ServiceWithoutImages(String),
    #[error(
        "--tag {0:?} is not a valid Docker tag (up to 128 letters, digits, '_', '.' and '-', \
         not starting with '.' or '-')"
    )]
    InvalidTag(String),
    #[error("-j/--jobs must be at least 1")]
    ZeroJobs,
    #[error(
        "--ref {0:?} is not a valid git ref (it must not be empty, start with '-', or contain \
         whitespace, control characters, '..', '~', '^', ':', '?', '*', '[' or '\\')"
    )]
    InvalidRef(String),
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), PlanError> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(PlanError::InvalidTag(tag.to_owned()))
    }
}

/// The parts of git's ref-name rules that matter for safety and clear
/// errors; git itself has the last word on whether the ref exists. A
/// leading '-' would be read as an option by git on the node.
pub fn validate_ref(git_ref: &str) -> Result<(), PlanError> {
    let bad_char = |c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    };
    if git_ref.is_empty()
        || git_ref.starts_with('-')
        || git_ref.contains("..")
        || git_ref.contains("@{")
        || git_ref.ends_with('.')
        || git_ref.ends_with(".lock")
        || git_ref.chars().any(bad_char)
    {
        return Err(PlanError::InvalidRef(git_ref.to_owned()));
    }
    Ok(())
}

/// A path component of an image name, as the registry grammar allows:
/// lowercase letters and digits, separated by single '.', '_', '__' or '-'s.
pub fn is_valid_image_component(name: &str) -> bool {
    if name.is_empty() || name.len() > 128 {
        return false;
    }
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        // A separator: '.', '_', '__', or a run of '-'.
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

/// An image prefix such as `ghcr.io/org/project` or `127.0.0.1:5000/demo`:
/// an optional registry host (with port) and name components.
pub fn is_valid_image_prefix(prefix: &str) -> bool {
    let mut parts = prefix.split('/').peekable();
    let Some(first) = parts.peek().copied() else {
        return false;
    };
    let first_is_host = prefix.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if first_is_host {
        parts.next();
        let host_ok = !first.is_empty()
            && first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return false;
        }
    }
    let mut any = false;
    for part in parts {
        if !is_valid_image_component(part) {
            return false;
        }
        any = true;
    }
    any
}

/// The registry an image prefix lives in, read as docker reads a reference:
/// the first component when it looks like a host (has a '.' or ':', or is
/// `localhost`), else Docker Hub.
pub fn registry_of(prefix: &str) -> &str {
    match prefix.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// Picks the images to build: all services, or the one `--service` names.
pub fn plan_images(
    prefix: &str,
    services: &[String],
    only: Option<&str>,
    tag: &str,
) -> Result<Vec<ImagePlan>, PlanError> {
    validate_tag(tag)?;
    let selected: Vec<&String> = match only {
        Some(name) => match services.iter().find(|s| *s == name) {
            Some(s) => vec![s],
            None => {
                let known: Vec<&str> = services.iter().map(String::as_str).collect();
                return Err(PlanError::UnknownService {
                    given: name.to_owned(),
                    valid: services.to_vec(),
                    suggestion: crate::config::closest(name, &known).map(String::from),
                });
            }
        },
        None => services.iter().collect(),
    };
    let prefix = prefix.trim_end_matches('/');
    Ok(selected
        .into_iter()
        .map(|service| ImagePlan {
            service: service.clone(),
            reference: format!("{prefix}/{service}:{tag}"),
        })
        .collect())
}

impl fmt::Display for ImagePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.service, self.reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        ["api", "worker", "web"].map(String::from).to_vec()
    }

    #[test]
    fn all_services_by_default() {
        let plan = plan_images("ghcr.io/org/project", &services(), None, "latest").unwrap();
        let refs: Vec<_> = plan.iter().map(|p| p.reference.as_str()).collect();
        assert_eq!(
            refs,
            [
                "ghcr.io/org/project/api:latest",
                "ghcr.io/org/project/worker:latest",
                "ghcr.io/org/project/web:latest"
            ]
        );
    }

    #[test]
    fn one_service_with_custom_tag() {
        let plan = plan_images("r/p/", &services(), Some("api"), "abc123").unwrap();
        assert_eq!(
            plan,
            vec![ImagePlan {
                service: "api".into(),
                reference: "r/p/api:abc123".into()
            }]
        );
    }

    #[test]
    fn unknown_service_suggests_the_closest() {
        let err = plan_images("r/p", &services(), Some("wrker"), "latest").unwrap_err();
        assert!(
            err.to_string().ends_with("(did you mean `worker`?)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_service_names_the_valid_ones() {
        let err = plan_images("r/p", &services(), Some("db"), "latest").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--service \"db\" is not one of build.image.services: api, worker, web"
        );
    }

    #[test]
    fn tags() {
        for ok in [
            "latest",
            "abc123",
            "v1.2.0",
            "_x",
            "a-b_c.d",
            &"a".repeat(128),
        ] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a b",
            "a;rm -rf /",
            "$(id)",
            "a:b",
            &"a".repeat(129),
        ] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refs() {
        for ok in ["main", "v1.2.0", "feature/x", "0123abcd", "refs/heads/main"] {
            assert!(validate_ref(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "--upload-pack=evil",
            "a b",
            "a..b",
            "a~1",
            "x:y",
            "a.lock",
            "$(id)\n",
        ] {
            assert!(validate_ref(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registry_hosts_of_prefixes() {
        assert_eq!(registry_of("ghcr.io/org/project"), "ghcr.io");
        assert_eq!(registry_of("127.0.0.1:5000/demo"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(registry_of("org/project"), "docker.io");
        assert_eq!(registry_of("project"), "docker.io");
    }

    #[test]
    fn image_components_and_prefixes() {
        for ok in ["api", "my-api", "a.b", "a__b", "a--b", "x1"] {
            assert!(is_valid_image_component(ok), "{ok}");
        }
        for bad in [
            "Api", "-api", "api-", "a..b", "a___b", "a b", "a;b", "$(id)", "",
        ] {
            assert!(!is_valid_image_component(bad), "{bad}");
        }
        for ok in [
            "ghcr.io/org/project",
            "127.0.0.1:5000/demo",
            "localhost/x",
            "org/project",
        ] {
            assert!(is_valid_image_prefix(ok), "{ok}");
        }
        for bad in ["", "ghcr.io/", "ghcr.io/Org", "a b/c", "x/$(id)"] {
            assert!(!is_valid_image_prefix(bad), "{bad}");
        }
    }
}
