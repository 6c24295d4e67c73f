use std::sync::{Arc, RwLock};

use super::encodings::encodings;

/// Replaces every known secret, in every form ops or its plugins produce
/// from it (see [`encodings`]), with `***`.
///
/// Secrets are registered as they are read (from `$NAME` config values, from
/// credentials a registry-auth plugin returns). Clones share the same set.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

pub const MASK: &str = "***";

/// Shorter values are not masked: masking every "1" in the output would
/// hide more than it protects.
const MIN_LEN: usize = 4;

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Registers a secret and its encodings. A secret of several lines is
    /// also registered line by line, since output is masked a line at a
    /// time.
    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_LEN {
            return;
        }
        let mut forms = encodings(secret);
        if secret.contains(['\n', '\r']) {
            for line in secret.lines().map(str::trim).filter(|l| l.len() >= MIN_LEN) {
                forms.extend(encodings(line));
            }
        }
        self.insert(forms);
    }

    /// Registers a registry secret together with the `username:secret`
    /// pair that Basic authentication and Docker's `config.json` carry in
    /// base64.
    pub fn add_login(&self, username: &str, secret: &str) {
        self.add(secret);
        if secret.len() >= MIN_LEN {
            self.insert(encodings(&format!("{username}:{secret}")));
        }
    }

    fn insert(&self, forms: Vec<String>) {
        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        for form in forms {
            if form.len() >= MIN_LEN && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // Longest first, so a form that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The length of the longest form registered: text cut into pieces
    /// must keep this much beyond a cut to mask a secret the cut splits.
    pub fn longest(&self) -> usize {
        let secrets = self.secrets.read().unwrap_or_else(|p| p.into_inner());
        secrets.first().map_or(0, String::len)
    }

    /// Masks a piece of a stream that is passed on before its end:
    /// returns what can be passed on now, and the tail to keep and put in
    /// front of what comes next. The tail is short enough to hold only the
    /// start of a secret that may end in text yet to come, so no secret is
    /// passed on split in two.
    pub fn redact_prefix(&self, text: &str) -> (String, String) {
        let masked = self.redact(text);
        let mut at = masked
            .len()
            .saturating_sub(self.longest().saturating_sub(1));
        while !masked.is_char_boundary(at) {
            at -= 1;
        }
        let rest = masked[at..].to_owned();
        let mut now = masked;
        now.truncate(at);
        (now, rest)
    }

    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_owned();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = Redactor::new();
        r.add("hunter2");
        r.add("hunter2hunter2-long");
        assert_eq!(
            r.redact("a hunter2hunter2-long b hunter2 c"),
            "a *** b *** c"
        );
    }

    #[test]
    fn ignores_tiny_values() {
        let r = Redactor::new();
        r.add("1");
        assert_eq!(r.redact("121"), "121");
    }

    #[test]
    fn clones_share_secrets() {
        let r = Redactor::new();
        let c = r.clone();
        c.add("s3cr3t-token");
        assert_eq!(r.redact("x s3cr3t-token"), "x ***");
    }

    #[test]
    fn masks_a_docker_config_and_a_basic_header() {
        let r = Redactor::new();
        r.add_login("ci-bot", "s3cr3t-token");
        let auth = base64::engine::general_purpose::STANDARD.encode("ci-bot:s3cr3t-token");
        let config = format!(r#"{{"auths":{{"reg:5000":{{"auth":"{auth}"}}}}}}"#);
        assert_eq!(
            r.redact(&config),
            r#"{"auths":{"reg:5000":{"auth":"***"}}}"#
        );
        assert_eq!(
            r.redact(&format!("Authorization: Basic {auth}")),
            "Authorization: Basic ***"
        );
    }

    #[test]
    fn a_stream_cut_in_pieces_never_splits_a_secret() {
        let r = Redactor::new();
        r.add("s3cr3t-token");
        let text = format!("{}s3cr3t-token tail", "a".repeat(40));
        for cut in 0..text.len() {
            let (now, rest) = r.redact_prefix(&text[..cut]);
            let whole = format!("{now}{}", r.redact(&format!("{rest}{}", &text[cut..])));
            assert!(!now.contains("s3cr"), "{cut}: {now}");
            assert_eq!(whole, format!("{}*** tail", "a".repeat(40)), "{cut}");
        }
    }

    #[test]
    fn masks_each_line_of_a_key() {
        let r = Redactor::new();
        r.add("-----BEGIN KEY-----\nAAAAB3NzaC1yc2E\n-----END KEY-----\n");
        assert_eq!(r.redact("line: AAAAB3NzaC1yc2E"), "line: ***");
    }
}
