/// The known key closest to `unknown`, when it is close enough to be a typo.
pub fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(unknown, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
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

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
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
