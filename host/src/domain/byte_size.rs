//! A size a person writes: `20GB`, `512MiB`, `1.5 TB`, `1000000`.

use std::fmt;
use std::str::FromStr;

/// Bytes. Decimal units are powers of 1000 (`KB`/`kB`, `MB`, `GB`, `TB`),
/// binary ones powers of 1024 (`KiB`, `MiB`, `GiB`, `TiB`), as `df -H`
/// and `df -h` print them; a bare number is bytes. Case is ignored in the
/// unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a size: write a number with an optional unit, such as 20GB, 512MiB or 1.5TB")]
pub struct ByteSizeError(String);

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(text: &str) -> Result<ByteSize, ByteSizeError> {
        let bad = || ByteSizeError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => return Err(bad()),
        };
        // Whole and fractional parts apart, so that `1.5TB` is exact.
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty()
            || number.ends_with('.')
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 9
        {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let scale = 10u64.pow(fraction.len() as u32);
        let fraction: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| bad())?
        };
        let bytes = whole
            .checked_mul(factor)
            .and_then(|w| w.checked_add(fraction.checked_mul(factor)? / scale))
            .ok_or_else(bad)?;
        Ok(ByteSize(bytes))
    }
}

impl fmt::Display for ByteSize {
    /// Decimal units with one decimal (`20.0 GB`), as people compare with
    /// `df -H`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (1_000_000_000_000, "TB"),
            (1_000_000_000, "GB"),
            (1_000_000, "MB"),
            (1_000, "kB"),
        ];
        for (size, unit) in UNITS {
            if self.0 >= size {
                return write!(f, "{:.1} {unit}", self.0 as f64 / size as f64);
            }
        }
        write!(f, "{} B", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn reads_what_people_write() {
        let size = |s: &str| s.parse::<ByteSize>().map(|b| b.0);
        assert_eq!(size("20GB"), Ok(20_000_000_000));
        assert_eq!(size("20 gb"), Ok(20_000_000_000));
        assert_eq!(size("512MiB"), Ok(512 << 20));
        assert_eq!(size("1.5TB"), Ok(1_500_000_000_000));
        assert_eq!(size("1000000"), Ok(1_000_000));
        assert_eq!(size("0"), Ok(0));
        for bad in [
            "",
            "GB",
            "-1GB",
            "1..5GB",
            "20 parsecs",
            "99999999999TB",
            "1.GB",
        ] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shows_decimal_units() {
        assert_eq!(ByteSize(20_000_000_000).to_string(), "20.0 GB");
        assert_eq!(ByteSize(1_234_567).to_string(), "1.2 MB");
        assert_eq!(ByteSize(999).to_string(), "999 B");
    }
}
