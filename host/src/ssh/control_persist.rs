//! `ControlMaster` with `ControlPersist` in ssh_config: the user asking
//! OpenSSH to keep the connection between commands, which ops takes as
//! asking it to keep its own (docs/ssh.md, "Keeping the connection").

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long ssh_config asks a connection to be kept after its last use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlPersist {
    /// `ControlPersist no`: a master, but not kept.
    No,
    /// `ControlPersist 10m`: kept this long after the last use.
    Idle(Duration),
    /// `ControlPersist yes` or `0`: kept until stopped.
    Forever,
}

/// What `ControlMaster` and `ControlPersist` (their first values) ask
/// for; `None` unless both are there and a master is allowed.
pub(super) fn asked(master: Option<&str>, persist: Option<&str>) -> Option<ControlPersist> {
    let master = master?.to_ascii_lowercase();
    if !matches!(master.as_str(), "yes" | "auto" | "ask" | "autoask") {
        return None;
    }
    let persist = persist?.to_ascii_lowercase();
    match persist.as_str() {
        "yes" | "0" => Some(ControlPersist::Forever),
        "no" => Some(ControlPersist::No),
        time => parse_time(time).map(ControlPersist::Idle),
    }
}

/// OpenSSH's time format (`sshd_config(5)`, TIME FORMATS): a number with an
/// optional unit (`s`, `m`, `h`, `d`, `w`), several summed (`1h30m`); a
/// bare number is seconds.
pub fn parse_time(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let value: u64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        total = total.checked_add(number.parse().ok()?)?;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_with_a_persist_time_asks_to_keep() {
        let minutes = |m: u64| Some(ControlPersist::Idle(Duration::from_secs(60 * m)));
        assert_eq!(asked(Some("auto"), Some("10m")), minutes(10));
        assert_eq!(asked(Some("Yes"), Some("1h30m")), minutes(90));
        assert_eq!(asked(Some("autoask"), Some("600")), minutes(10));
        assert_eq!(
            asked(Some("yes"), Some("yes")),
            Some(ControlPersist::Forever)
        );
        assert_eq!(asked(Some("yes"), Some("0")), Some(ControlPersist::Forever));
        assert_eq!(asked(Some("yes"), Some("no")), Some(ControlPersist::No));
    }

    #[test]
    fn without_both_nothing_is_asked() {
        assert_eq!(asked(Some("no"), Some("10m")), None);
        assert_eq!(asked(None, Some("10m")), None);
        assert_eq!(asked(Some("auto"), None), None);
        assert_eq!(asked(Some("auto"), Some("10x")), None);
    }
}
