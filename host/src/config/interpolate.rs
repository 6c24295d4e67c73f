//! `$NAME` and `${NAME}` in config strings, read from the environment.
//!
//! `$$` stands for a literal `$`, so a value can still carry a dollar sign
//! (for example a shell variable meant for the build node).

use crate::text::is_identifier;

/// A string after interpolation, with the values that came from the
/// environment (they are treated as secrets) and the variables they came
/// from (kept out of local hooks' environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub secrets: Vec<String>,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// A variable that is not set (or not valid Unicode).
    Missing(String),
    /// `$` not followed by a name, `{`, or `$`; or an unclosed `${`.
    Malformed(String),
}

/// Expands every `$NAME`/`${NAME}` in `input` using `lookup`.
pub fn interpolate(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolateError> {
    let mut text = String::with_capacity(input.len());
    let mut secrets = Vec::new();
    let mut names = Vec::new();
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(stripped) = after.strip_prefix('$') {
            text.push('$');
            rest = stripped;
            continue;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or_else(|| {
                InterpolateError::Malformed(format!("unclosed `${{` in {input:?}"))
            })?;
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if !is_identifier(name) {
            return Err(InterpolateError::Malformed(format!(
                "`$` must be followed by a variable name (write `$$` for a literal `$`) in {input:?}"
            )));
        }
        let value = lookup(name).ok_or_else(|| InterpolateError::Missing(name.to_owned()))?;
        text.push_str(&value);
        secrets.push(value);
        names.push(name.to_owned());
        rest = &after[consumed..];
    }
    text.push_str(rest);
    Ok(Interpolated {
        text,
        secrets,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_both_forms_and_collects_secrets() {
        let out = interpolate("a-$TOKEN-${TOKEN}x", env).unwrap();
        assert_eq!(out.text, "a-s3cret-s3cretx");
        assert_eq!(out.secrets, vec!["s3cret", "s3cret"]);
        assert_eq!(out.names, vec!["TOKEN", "TOKEN"]);
    }

    #[test]
    fn plain_text_is_untouched() {
        let out = interpolate("cargo build --release", env).unwrap();
        assert_eq!(out.text, "cargo build --release");
        assert!(out.secrets.is_empty());
    }

    #[test]
    fn double_dollar_is_literal() {
        let out = interpolate("echo $$HOME", env).unwrap();
        assert_eq!(out.text, "echo $HOME");
    }

    #[test]
    fn missing_and_malformed() {
        assert_eq!(
            interpolate("$NOPE", env),
            Err(InterpolateError::Missing("NOPE".into()))
        );
        assert!(matches!(
            interpolate("${TOKEN", env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("cost: $5", env),
            Err(InterpolateError::Malformed(_))
        ));
    }
}
