//! `[plugins.<name>] version = "^1.4"`: a semver requirement (Cargo's
//! rules) that picks a release among an OCI repository's tags. It needs an
//! `oci` source naming the repository alone: a tag or a digest there would
//! already pick one release, and a path or URL has no releases to pick
//! from.

use toml::de::DeTable;

use super::error::ConfigError;
use super::located::Located;
use super::reader::Reader;
use super::schema::DeclSource;
use crate::domain::ImageRef;

/// The requirement as written (checked), with where it is written.
pub(super) fn plugin_version(
    r: &mut Reader,
    table: &DeTable,
    prefix: &str,
    source: &DeclSource,
) -> Result<Option<Located<String>>, ConfigError> {
    let Some(text) = r.located_string(table, prefix, "version")? else {
        return Ok(None);
    };
    let key = format!("{prefix}.version");
    if let Err(e) = semver::VersionReq::parse(&text.value) {
        return Err(ConfigError::invalid(
            text.at,
            key,
            format!(
                "{:?} is not a version requirement ({e}); write one as Cargo does, e.g. \
                 \"^1.4\", \"~1.4.2\", \"=1.4.2\" or \">=1.2, <2\"",
                text.value
            ),
        ));
    }
    let why = match source {
        DeclSource::Oci(reference) => match pinned_part(reference) {
            None => return Ok(Some(text)),
            Some(part) => format!(
                "{reference:?} already names {part}; with `version`, give the repository \
                 alone (oci://host/repo) and ops picks the newest tag that satisfies {:?}",
                text.value
            ),
        },
        _ => format!(
            "{:?} picks a release among an OCI repository's tags, so it needs \
             `oci = \"oci://host/repo\"` (without a tag); a `path` or `url` plugin, or an \
             installed one, has exactly one version",
            text.value
        ),
    };
    Err(ConfigError::invalid(text.at, key, why))
}

/// "a tag" or "a digest" when the reference names one.
fn pinned_part(reference: &str) -> Option<&'static str> {
    let (host, path) = reference.strip_prefix("oci://")?.split_once('/')?;
    let parsed = ImageRef::in_registry(host, path).ok()?;
    match (&parsed.tag, &parsed.digest) {
        (_, Some(_)) => Some("a digest"),
        (Some(_), None) => Some("a tag"),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        let env = |_: &str| None;
        Config::parse(std::path::Path::new("/p/ops.toml"), text, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn a_range_on_a_bare_repository() {
        let c = parse("[plugins.a]\noci = \"oci://127.0.0.1:5000/acme/a\"\nversion = \"^1.4\"\n")
            .unwrap();
        let v = c.plugins[0].version.as_ref().unwrap();
        assert_eq!(v.value, "^1.4");
        assert_eq!(v.at.line, 3);
    }

    #[test]
    fn errors_name_file_line_key_and_value() {
        let e = parse("[plugins.a]\noci = \"oci://h/a\"\nversion = \"one\"\n").unwrap_err();
        assert!(e.contains("ops.toml:3"), "{e}");
        assert!(e.contains("plugins.a.version"), "{e}");
        assert!(e.contains("\"one\" is not a version requirement"), "{e}");

        let e = parse("[plugins.a]\noci = \"oci://h/a:1.2.0\"\nversion = \"^1\"\n").unwrap_err();
        assert!(e.contains("ops.toml:3"), "{e}");
        assert!(e.contains("already names a tag"), "{e}");

        let e = parse("[plugins.a]\npath = \"a.wasm\"\nversion = \"^1\"\n").unwrap_err();
        assert!(e.contains("plugins.a.version"), "{e}");
        assert!(e.contains("needs `oci = "), "{e}");

        let e = parse("[plugins.a]\nversion = \"^1\"\n").unwrap_err();
        assert!(e.contains("needs `oci = "), "{e}");
    }
}
