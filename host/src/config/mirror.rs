//! `[plugins] mirror = "oci://host[:port][/prefix]"`: a registry that
//! serves copies of the project's `oci` plugins (`ops plugin mirror`), for
//! networks that cannot reach the vendors' registries.

use toml::de::DeTable;

use super::error::ConfigError;
use super::located::Located;
use super::reader::Reader;
use crate::domain::ImageRef;

/// The mirror as written, checked.
pub(super) fn mirror(
    r: &mut Reader,
    table: &DeTable,
) -> Result<Option<Located<String>>, ConfigError> {
    let Some(text) = r.located_string(table, "plugins", "mirror")? else {
        return Ok(None);
    };
    match check_mirror(&text.value) {
        Ok(()) => Ok(Some(text)),
        Err(message) => Err(ConfigError::invalid(text.at, "plugins.mirror", message)),
    }
}

/// `oci://host[:port]` with an optional repository prefix, and no tag or
/// digest: the plugins' own repository paths go under it.
pub fn check_mirror(text: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "{text:?} is not a mirror ({why}); expected oci://host[:port][/prefix], e.g. \
             \"oci://registry.internal:5000/mirror\""
        ))
    };
    let Some(rest) = text.strip_prefix("oci://") else {
        return bad("it does not start with oci://");
    };
    let rest = rest.trim_end_matches('/');
    let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    // A prefix is checked as a repository path under that host; a bare
    // host is checked with a placeholder repository.
    let path = if prefix.is_empty() { "x" } else { prefix };
    match ImageRef::in_registry(host, path) {
        Ok(r) if r.tag.is_none() && r.digest.is_none() => Ok(()),
        Ok(_) => bad("a mirror has no tag or digest"),
        Err(e) => bad(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::check_mirror;

    #[test]
    fn mirrors() {
        assert!(check_mirror("oci://127.0.0.1:5000").is_ok());
        assert!(check_mirror("oci://registry.internal/mirror/vendors").is_ok());
        assert!(check_mirror("https://x/y").unwrap_err().contains("oci://"));
        assert!(check_mirror("oci://h/p:1.0")
            .unwrap_err()
            .contains("no tag"));
        assert!(check_mirror("oci://h/Upper").is_err());
    }
}
