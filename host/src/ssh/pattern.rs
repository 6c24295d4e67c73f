//! OpenSSH's pattern matching (`match.c`), shared by known_hosts host
//! fields, `Host`/`Match` lines in ssh_config and host certificate
//! principals, so that each means exactly what it means to `ssh`.

/// `match_pattern`: `*` matches any run of characters (also none), `?`
/// exactly one; everything else, `[` and `]` included, is literal.
pub fn matches(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    glob(&text, &pattern)
}

fn glob(text: &[char], pattern: &[char]) -> bool {
    // Iterative with one backtrack point: the last `*` seen. Linear enough
    // for hand-written patterns and immune to the exponential blowup of the
    // naive recursion on patterns like `*a*a*a*b`.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some('?') => {
                t += 1;
                p += 1;
            }
            Some(c) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// What a comma-separated pattern list says about a name
/// (`match_pattern_list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMatch {
    /// No pattern matched.
    No,
    /// A positive pattern matched and no negated one did.
    Yes,
    /// A `!pattern` matched: this wins over any positive match.
    Negated,
}

/// `match_pattern_list(text, list, lowercase)`: a negated match anywhere
/// in the list decides against the name, whatever else matches.
pub fn match_list(text: &str, list: &str, lowercase: bool) -> ListMatch {
    let mut positive = false;
    for item in list.split(',') {
        let (negated, pattern) = match item.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let hit = if lowercase {
            matches(text, &pattern.to_ascii_lowercase())
        } else {
            matches(text, pattern)
        };
        if hit {
            if negated {
                return ListMatch::Negated;
            }
            positive = true;
        }
    }
    if positive {
        ListMatch::Yes
    } else {
        ListMatch::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_like_match_c() {
        let cases = [
            ("build.corp.example", "*.corp.example", true),
            ("corp.example", "*.corp.example", false),
            ("a", "?", true),
            ("ab", "?", false),
            ("", "*", true),
            ("", "?", false),
            ("[10.0.0.4]:2222", "[10.0.0.*]:2222", true),
            ("[10.0.0.4]:22", "[10.0.0.*]:2222", false),
            ("10.0.0.4", "[10.0.0.*]:2222", false),
            ("aaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*b", true),
            ("aaaaaaaaaaaaaaaaaaaaaaaa", "*a*a*a*a*a*b", false),
            ("node1", "node?*", true),
            ("x.y", "x*y", true),
        ];
        for (text, pattern, want) in cases {
            assert_eq!(matches(text, pattern), want, "{text} vs {pattern}");
        }
    }

    #[test]
    fn lists_with_negation() {
        use ListMatch::*;
        assert_eq!(match_list("bastion", "*,!bastion", true), Negated);
        assert_eq!(match_list("node", "*,!bastion", true), Yes);
        // A negation alone never matches anything positively.
        assert_eq!(match_list("node", "!bastion", true), No);
        assert_eq!(match_list("a", "b,c", true), No);
        assert_eq!(match_list("host.corp", "HOST.CORP", true), Yes);
        assert_eq!(match_list("host.corp", "HOST.CORP", false), No);
        // No trimming: OpenSSH compares every byte between the commas.
        assert_eq!(match_list("a", "b, a", true), No);
    }
}
