//! The forms a secret takes on its way out of ops: what ops or its plugins
//! produce from a secret (a Basic `Authorization` header, Docker's
//! `config.json`, a URL, a JSON document, a hex dump) must be masked as
//! surely as the secret itself.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What RFC 3986 leaves unescaped; everything else is `%XX`.
const URL_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Every form of `secret` that is masked: the secret, its JSON string
/// escaping, URL percent-encoding (upper and lower case hex), hex (both
/// cases), and base64 (standard and URL-safe alphabets, with and without
/// padding), including the part of it that stays the same wherever the
/// secret sits inside a longer base64 text.
pub(super) fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut forms = vec![secret.to_owned()];
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json[1..json.len() - 1].to_owned());
    }
    let percent = utf8_percent_encode(secret, URL_UNRESERVED).to_string();
    forms.push(lower_escapes(&percent));
    forms.push(percent);
    let hex = hex::encode(bytes);
    forms.push(hex.to_uppercase());
    forms.push(hex);
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        forms.push(engine.encode(bytes));
    }
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for offset in 0..3 {
            forms.push(embedded_base64(&engine, bytes, offset));
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The base64 characters that encode only `secret`'s own bits when it
/// follows `offset` (mod 3) other bytes in a longer text: whatever comes
/// before or after it, these characters are the same.
fn embedded_base64(engine: &impl Engine, secret: &[u8], offset: usize) -> String {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(secret);
    let text = engine.encode(&shifted);
    // A character holds 6 bits: skip those that mix in the bytes before,
    // stop before the one that mixes in the bytes after.
    let first = (8 * offset).div_ceil(6);
    let last = (8 * shifted.len()) / 6;
    text.get(first..last).unwrap_or_default().to_owned()
}

fn lower_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut hex_left = 0;
    for c in percent.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_in(secret: &str, text: &str) -> bool {
        encodings(secret).iter().any(|f| text.contains(f.as_str()))
    }

    #[test]
    fn base64_inside_a_longer_text_at_every_alignment() {
        let secret = "tok-3f9a:b/c+d";
        for prefix in ["", "a", "ab", "abc", "user:"] {
            for suffix in ["", "x", "xy", "\n"] {
                let whole = format!("{prefix}{secret}{suffix}");
                for engine in [STANDARD, URL_SAFE_NO_PAD] {
                    let text = engine.encode(whole.as_bytes());
                    assert!(masked_in(secret, &text), "{prefix:?}+{suffix:?}: {text}");
                }
            }
        }
    }

    #[test]
    fn url_json_and_hex_forms() {
        let secret = "p@ss w/\"q\"\\é";
        assert!(masked_in(
            secret,
            "https://u:p%40ss%20w%2F%22q%22%5C%C3%A9@h/"
        ));
        assert!(masked_in(secret, "x=p%40ss%20w%2f%22q%22%5c%c3%a9"));
        assert!(masked_in(secret, r#"{"k":"p@ss w/\"q\"\\é"}"#));
        assert!(masked_in(secret, &hex::encode(secret)));
        assert!(masked_in(secret, &hex::encode_upper(secret)));
    }

    #[test]
    fn embedded_base64_skips_the_mixed_characters() {
        // "abc" at offset 1 is "\0abc" = AGFiYw: "AG" mixes the zero byte,
        // "w" the byte after.
        assert_eq!(embedded_base64(&STANDARD_NO_PAD, b"abc", 1), "FiY");
        assert_eq!(embedded_base64(&STANDARD_NO_PAD, b"abc", 0), "YWJj");
    }
}
