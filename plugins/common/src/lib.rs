//! Helpers shared by the built-in plugins. Plain functions over strings, so
//! that they do not depend on any one world's generated bindings.

mod keys;

pub use keys::{suggest, unknown_key_message};

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

/// Standard base64 with padding (RFC 4648), for HTTP basic credentials.
pub fn base64_encode(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Quotes `s` for a POSIX shell, leaving it bare when it needs no quoting.
/// Needed only where a value must go through a shell by design (git runs
/// `GIT_SSH_COMMAND` with `sh -c`; rsync hands `--rsync-path` to the remote
/// shell).
pub fn sh_quote(s: &str) -> String {
    shell_escape::unix::escape(s.into()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{base64_encode, package_version, sh_quote};

    #[test]
    fn package_version_reads_the_package_line() {
        assert_eq!(
            package_version("// x\npackage ops:plugin@0.1.0;\n"),
            "0.1.0"
        );
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), expected);
        }
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(sh_quote("/tmp/a-b"), "/tmp/a-b");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
        // `!` is taken out of the quotes, where no shell expands history.
        assert_eq!(sh_quote("a!b"), r"'a'\!'b'");
    }
}
