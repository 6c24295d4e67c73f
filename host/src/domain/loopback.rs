//! Whether a host is this machine.

use std::net::IpAddr;

/// `localhost` (any case), 127.0.0.0/8 or `::1`, IPv6 with or without
/// brackets. Plain HTTP is allowed to these hosts only: nothing on the way
/// can read or rewrite it.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        let table = [
            ("localhost", true),
            ("LocalHost", true),
            ("127.0.0.1", true),
            ("127.8.9.10", true),
            ("::1", true),
            ("[::1]", true),
            ("", false),
            ("localhost.example.com", false),
            ("10.0.0.1", false),
            ("128.0.0.1", false),
            ("::2", false),
            ("ghcr.io", false),
        ];
        for (host, want) in table {
            assert_eq!(is_loopback(host), want, "{host}");
        }
    }
}
