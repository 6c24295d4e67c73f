/// The known key most similar to `unknown`, if any is close enough to be a
/// plausible typo. The same rule as the host's own config keys: the best
/// Jaro-Winkler similarity of at least 0.75 (the last of equals wins).
pub fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(unknown, k), *k))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// "unknown key `reop` in [build.git]; did you mean `repo`?" or, with no
/// close match, the list of valid keys.
pub fn unknown_key_message(key: &str, section: &str, known: &[&str]) -> String {
    match suggest(key, known) {
        Some(k) => format!("unknown key `{key}` in [{section}]; did you mean `{k}`?"),
        None => format!(
            "unknown key `{key}` in [{section}]; valid keys: {}",
            known.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let known = ["repo", "ssh_key", "token", "known_hosts"];
        assert_eq!(suggest("reop", &known), Some("repo"));
        assert_eq!(suggest("ssh-key", &known), Some("ssh_key"));
        assert_eq!(suggest("colour", &known), None);
    }

    #[test]
    fn message_lists_keys_without_a_match() {
        let msg = unknown_key_message("zzz", "build.git", &["repo", "token"]);
        assert_eq!(
            msg,
            "unknown key `zzz` in [build.git]; valid keys: repo, token"
        );
    }
}
