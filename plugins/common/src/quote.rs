/// Quotes `s` for a POSIX shell. Needed only where a value must go through a
/// shell by design (git runs `GIT_SSH_COMMAND` with `sh -c`).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:@,+".contains(&b))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(sh_quote("/tmp/a-b"), "/tmp/a-b");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
    }
}
