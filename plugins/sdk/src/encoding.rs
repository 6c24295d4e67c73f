//! Encodings the plugins need: base64 for HTTP basic credentials, POSIX
//! shell quoting where a value must pass through a shell by design.

/// Standard base64 with padding (RFC 4648), for HTTP basic credentials.
pub fn base64_encode(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Quotes `s` for a POSIX shell, leaving it bare when it needs no quoting.
/// Needed only where a value must go through a shell by design (git runs
/// `GIT_SSH_COMMAND` with `sh -c`; rsync hands `--rsync-path` to the remote
/// shell).
///
/// Single quotes where they can hold the value, double quotes around a
/// `'` (with `\`, `"` escaped, and never around `$`, `` ` `` or `!`), so
/// the word means itself to any POSIX shell. A NUL byte passes through
/// as it is: no shell word can hold one, and the program that receives the
/// command line refuses it.
pub fn sh_quote(s: &str) -> String {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(s)
        // NUL bytes are allowed above, and they are the only error.
        .expect("quoting with NUL bytes allowed cannot fail")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::{base64_encode, sh_quote};

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
        assert_eq!(sh_quote("it's"), r#""it's""#);
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
        // `!` only ever inside single quotes, where no shell expands history.
        assert_eq!(sh_quote("a!b"), "'a!b'");
    }

    /// Each hostile word comes back from `sh` as it went in.
    #[test]
    fn the_shell_reads_back_what_was_quoted() {
        for word in [
            "a b",
            "it's",
            "$(id)",
            "`id`",
            "a!b",
            "\\",
            "\"$HOME\"",
            "x\ny",
            "~",
            "*",
            "é ü",
            "'\"'",
            "it's \"$x\" \\ !",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", sh_quote(word)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }
}
