//! The plugin API version this host implements, and which plugins it can
//! run: semver, with a 0.x minor counting as a breaking change.

use semver::Version;

/// The `ops:plugin` package version in `wit/`, which this host implements.
pub const API_VERSION: &str = "0.1.0";

const PACKAGE: &str = "ops:plugin/";

pub fn host_api() -> Version {
    // A literal checked by the `host_version_parses` test.
    Version::parse(API_VERSION).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// Can a host implementing `host` run a plugin built against `target`?
/// Same major; for 0.x also the same minor; and never a newer minor than
/// the host's (the plugin might call what the host lacks).
pub fn compatible(host: &Version, target: &Version) -> bool {
    if host.major != target.major {
        return false;
    }
    if host.major == 0 {
        return host.minor == target.minor;
    }
    target.minor <= host.minor
}

/// The API version a component was built against, from the versions of the
/// `ops:plugin/...@X.Y.Z` interfaces it imports and exports.
pub fn target_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Version, String> {
    let mut found: Option<Version> = None;
    for name in names {
        let Some(rest) = name.strip_prefix(PACKAGE) else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(format!("interface {name} has no version"));
        };
        let version =
            Version::parse(version).map_err(|e| format!("interface {name}: bad version: {e}"))?;
        match &found {
            Some(v) if *v != version => {
                return Err(format!("it mixes plugin API versions {v} and {version}"))
            }
            _ => found = Some(version),
        }
    }
    found.ok_or_else(|| "it imports and exports no ops:plugin interface; not an ops plugin".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn host_version_parses() {
        assert_eq!(Version::parse(API_VERSION).unwrap(), host_api());
    }

    #[test]
    fn zero_minor_is_breaking() {
        assert!(compatible(&v("0.1.0"), &v("0.1.0")));
        assert!(compatible(&v("0.1.3"), &v("0.1.0")));
        assert!(compatible(&v("0.1.0"), &v("0.1.2")));
        assert!(!compatible(&v("0.1.0"), &v("0.2.0")));
        assert!(!compatible(&v("0.2.0"), &v("0.1.0")));
        assert!(!compatible(&v("0.1.0"), &v("1.0.0")));
        assert!(compatible(&v("1.2.0"), &v("1.1.0")));
        assert!(!compatible(&v("1.2.0"), &v("1.3.0")));
        assert!(!compatible(&v("2.0.0"), &v("1.0.0")));
    }

    #[test]
    fn target_from_interface_names() {
        let names = [
            "ops:plugin/log@0.1.0",
            "wasi:io/streams@0.2.0",
            "ops:plugin/plugin@0.1.0",
        ];
        assert_eq!(target_of(names).unwrap(), v("0.1.0"));
        assert!(target_of(["ops:plugin/log@0.1.0", "ops:plugin/plugin@0.2.0"]).is_err());
        assert!(target_of(["wasi:io/streams@0.2.0"]).is_err());
    }
}
