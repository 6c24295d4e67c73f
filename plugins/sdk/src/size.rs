//! Sizes as tools print them for people (`1.2GB`, `834.5 MB`, `0B`,
//! `3.68 KB`, `12KiB`), read back into bytes.

/// Bytes of a size printed with a decimal (`kB`, `MB`...: powers of 1000)
/// or binary (`KiB`, `MiB`...: powers of 1024) unit, with or without a
/// space before it; `None` for anything else. Case is ignored in the unit,
/// as tools disagree on `kB` and `KB`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "pb" => 1e15,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    // `as` saturates: a size past u64 (no disk holds one) reads as the most.
    (bytes.is_finite() && bytes >= 0.0).then(|| bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn reads_what_docker_and_buildah_print() {
        assert_eq!(parse_size("0B"), Some(0));
        assert_eq!(parse_size("1.2GB"), Some(1_200_000_000));
        assert_eq!(parse_size("834.5MB"), Some(834_500_000));
        assert_eq!(parse_size("3.68 KB"), Some(3_680));
        assert_eq!(parse_size("12.3kB"), Some(12_300));
        assert_eq!(parse_size("2GiB"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size(" 17 "), Some(17));
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for bad in ["", "GB", "1.2 parsecs", "-1B", "1.2.3MB", "NaN"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
