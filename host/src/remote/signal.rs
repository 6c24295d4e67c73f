//! Signal names and numbers: one table for what SSH reports (RFC 4254
//! section 6.10, names without `SIG`), what local children die of, and the
//! shell's 128+N convention.

/// Linux numbers of the signals SSH names.
const SIGNALS: [(&str, i32); 13] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("ABRT", 6),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
];

/// The number of a signal named without `SIG` (`KILL` is 9).
pub fn signal_number(name: &str) -> Option<i32> {
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number)
}

/// The name (without `SIG`) of signal `number`, or the number itself for
/// one outside the table.
pub fn signal_name(number: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == number)
        .map(|(name, _)| (*name).to_owned())
        .unwrap_or_else(|| number.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for (name, number) in SIGNALS {
            assert_eq!(signal_number(name), Some(number));
            assert_eq!(signal_name(number), name);
        }
        assert_eq!(signal_number("WINCH"), None);
        assert_eq!(signal_name(28), "28");
    }
}
