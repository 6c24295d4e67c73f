//! A content digest.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// `sha256:<64 lowercase hex digits>`, the only algorithm registries and
/// plugin pins use here.
///
/// Upper case is refused by [`FromStr`]: OCI's grammar is `[a-f0-9]`, and a
/// registry or a builder that answers in upper case is not answering what
/// was asked for. A pin a person writes in `ops.toml` goes through
/// [`Digest::from_pin`], which also takes the bare hex `sha256sum` prints
/// and any case, and keeps the canonical lowercase form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("only sha256:<64 hex digits> digests are supported")]
    NotSha256,
    #[error("expected 64 hex digits (lowercase) after sha256:")]
    BadHex,
}

const PREFIX: &str = "sha256:";

fn is_hex64(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(format!("{PREFIX}{}", hex::encode(Sha256::digest(bytes))))
    }

    /// A pin as a person writes it: `sha256:HEX` or bare `HEX`, any case.
    pub fn from_pin(text: &str) -> Result<Digest, DigestError> {
        let lower = text.to_ascii_lowercase();
        let hex = lower.strip_prefix(PREFIX).unwrap_or(&lower);
        if is_hex64(hex) {
            Ok(Digest(format!("{PREFIX}{hex}")))
        } else {
            Err(DigestError::BadHex)
        }
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Digest, DigestError> {
        let hex = text.strip_prefix(PREFIX).ok_or(DigestError::NotSha256)?;
        if is_hex64(hex) {
            Ok(Digest(text.to_owned()))
        } else {
            Err(DigestError::BadHex)
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digests() {
        let upper = format!("sha256:{}", HEX.to_ascii_uppercase());
        let table: &[(String, Result<(), DigestError>)] = &[
            (format!("sha256:{HEX}"), Ok(())),
            (upper.clone(), Err(DigestError::BadHex)),
            (HEX.to_owned(), Err(DigestError::NotSha256)),
            (format!("md5:{HEX}"), Err(DigestError::NotSha256)),
            (format!("SHA256:{HEX}"), Err(DigestError::NotSha256)),
            ("sha256:abc".to_owned(), Err(DigestError::BadHex)),
            (format!("sha256:{HEX}0"), Err(DigestError::BadHex)),
            (format!("sha256:{}g", &HEX[1..]), Err(DigestError::BadHex)),
            ("".to_owned(), Err(DigestError::NotSha256)),
        ];
        for (text, want) in table {
            assert_eq!(text.parse::<Digest>().map(|_| ()), *want, "{text:?}");
        }
    }

    #[test]
    fn pins_take_bare_hex_and_any_case_and_keep_lowercase() {
        let canonical = format!("sha256:{HEX}");
        for pin in [
            HEX.to_owned(),
            HEX.to_ascii_uppercase(),
            canonical.clone(),
            canonical.to_ascii_uppercase(),
        ] {
            let digest = Digest::from_pin(&pin).unwrap();
            assert_eq!(digest.as_str(), canonical, "{pin}");
            assert_eq!(digest.hex(), HEX);
        }
        for bad in ["", "abc", "sha256:", &format!("{HEX}00")] {
            assert!(Digest::from_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_of_bytes() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
