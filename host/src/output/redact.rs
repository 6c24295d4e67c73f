use std::sync::{Arc, RwLock};

/// Replaces every known secret with `***`.
///
/// Secrets are registered as they are read (from `$NAME` config values, from
/// credentials a registry-auth plugin returns). Clones share the same set.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

pub const MASK: &str = "***";

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Registers a secret. Very short values are ignored: masking every "1"
    /// in the output would hide more than it protects.
    pub fn add(&self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_owned());
            // Longest first, so a secret that contains another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
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
}
