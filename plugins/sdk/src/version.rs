//! The plugin API version, read from the WIT package line at compile time
//! so that the number is written once, in `wit/`.

/// The plugin API version this SDK targets.
pub const API_VERSION: &str = package_version(include_str!("../../../wit/v0.3.0/plugin.wit"));

/// The `X.Y.Z` of a WIT file's `package ops:plugin@X.Y.Z;` line, at
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
            return match core::str::from_utf8(version) {
                Ok(v) => v,
                Err(_) => panic!("the WIT package version is not UTF-8"),
            };
        }
        start += 1;
    }
    panic!("no `package ops:plugin@X.Y.Z;` line in the WIT file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_the_wit_package_version() {
        assert_eq!(API_VERSION, "0.3.0");
        assert_eq!(
            package_version("// x\npackage ops:plugin@0.1.0;\n"),
            "0.1.0"
        );
    }
}
