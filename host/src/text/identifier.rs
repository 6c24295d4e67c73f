//! Names that are safe as environment variables and shell identifiers.

/// A valid environment variable (and shell identifier) name: what may be
/// exported on the node, and what `$NAME` may name in `ops.toml`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
