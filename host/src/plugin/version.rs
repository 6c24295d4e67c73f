//! The plugin API versions this host implements, and which plugins it can
//! run: semver, with a 0.x minor counting as a breaking change.
//!
//! Each version is read from its WIT package line at compile time, so the
//! number is written once, in `wit/`.

use semver::Version;

/// The latest `ops:plugin` package version in `wit/`: what the built-ins
/// and new plugins target.
pub const API_VERSION: &str = package_version(include_str!("../../../wit/v0.3.0/plugin.wit"));

/// The frozen APIs that older plugins were built against.
pub const API_V0_2: &str = package_version(include_str!("../../../wit/v0.2.0/plugin.wit"));
pub const API_V0_1: &str = package_version(include_str!("../../../wit/v0.1.0/plugin.wit"));

/// Every API version this host loads plugins for, latest first.
pub const SUPPORTED: &[&str] = &[API_VERSION, API_V0_2, API_V0_1];

const PACKAGE: &str = "ops:plugin/";

/// The `X.Y.Z` of the `package ops:plugin@X.Y.Z;` line. Evaluated at
/// compile time: a WIT file without that line fails the build.
pub const fn package_version(wit: &'static str) -> &'static str {
    const LINE: &[u8] = b"package ops:plugin@";
    let bytes = wit.as_bytes();
    let mut start = 0;
    while start + LINE.len() <= bytes.len() {
        let mut i = 0;
        while i < LINE.len() && bytes[start + i] == LINE[i] {
            i += 1;
        }
        if i == LINE.len() {
            let (_, rest) = bytes.split_at(start + LINE.len());
            let mut end = 0;
            while end < rest.len() && rest[end] != b';' {
                end += 1;
            }
            let (version, _) = rest.split_at(end);
            return match std::str::from_utf8(version) {
                Ok(v) => v,
                Err(_) => panic!("the WIT package version is not UTF-8"),
            };
        }
        start += 1;
    }
    panic!("no `package ops:plugin@X.Y.Z;` line in the WIT file")
}

pub fn host_api() -> Version {
    parse_supported(API_VERSION)
}

pub fn v0_2() -> Version {
    parse_supported(API_V0_2)
}

pub fn v0_1() -> Version {
    parse_supported(API_V0_1)
}

/// The supported versions as semver, latest first.
pub fn supported() -> Vec<Version> {
    SUPPORTED.iter().map(|v| parse_supported(v)).collect()
}

fn parse_supported(version: &str) -> Version {
    // WIT package versions, checked by the `supported_versions_parse` test.
    Version::parse(version).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// The supported version that runs a plugin built against `target`.
pub fn implementation_for(target: &Version) -> Option<Version> {
    supported()
        .into_iter()
        .find(|host| compatible(host, target))
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
    fn supported_versions_parse() {
        assert_eq!(Version::parse(API_VERSION).unwrap(), host_api());
        assert_eq!(API_VERSION, "0.3.0");
        assert_eq!(API_V0_2, "0.2.0");
        assert_eq!(API_V0_1, "0.1.0");
        assert_eq!(supported(), vec![v("0.3.0"), v("0.2.0"), v("0.1.0")]);
    }

    #[test]
    fn each_target_finds_its_implementation() {
        assert_eq!(implementation_for(&v("0.1.0")), Some(v("0.1.0")));
        assert_eq!(implementation_for(&v("0.2.0")), Some(v("0.2.0")));
        assert_eq!(implementation_for(&v("0.3.0")), Some(v("0.3.0")));
        assert_eq!(implementation_for(&v("0.4.0")), None);
        assert_eq!(implementation_for(&v("1.0.0")), None);
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
