//! Host certificates checked as OpenSSH's `sshconnect.c` (`check_host_cert`)
//! and `sshkey.c` (`sshkey_cert_check_authority`) check them: signed by the
//! CA the known_hosts line names, with a signature algorithm OpenSSH's
//! default `CASignatureAlgorithms` accepts, of type host, inside its
//! validity window, listing the host among its principals (patterns
//! allowed), and with no critical options.

use std::time::{SystemTime, UNIX_EPOCH};

use russh::keys::{Algorithm, Certificate, HashAlg, PublicKey};

use super::pattern;

/// Why a certificate does not vouch for `name`, in OpenSSH's words where
/// OpenSSH has them.
pub fn check(cert: &Certificate, ca: &PublicKey, name: &str) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    check_at(cert, ca, name, now)
}

pub fn check_at(cert: &Certificate, ca: &PublicKey, name: &str, now: u64) -> Result<(), String> {
    if cert.signature_key() != ca.key_data() {
        return Err("it is not signed by this certificate authority".into());
    }
    // OpenSSH 8.2 dropped SHA-1 RSA signatures from the default
    // CASignatureAlgorithms; a CA still signing that way is refused there.
    if cert.signature().algorithm() == (Algorithm::Rsa { hash: None }) {
        return Err("its CA signature uses ssh-rsa (SHA-1), which OpenSSH refuses".into());
    }
    if !cert.cert_type().is_host() {
        return Err("Certificate invalid: not a host certificate".into());
    }
    if now < cert.valid_after() {
        return Err("Certificate invalid: not yet valid".into());
    }
    if now >= cert.valid_before() {
        return Err("Certificate invalid: expired".into());
    }
    // An empty principal list is valid for any host: OpenSSH calls
    // sshkey_cert_check_authority with require_principal = 0 for hosts.
    let principals = cert.valid_principals();
    if !principals.is_empty() && !principals.iter().any(|p| pattern::matches(name, p)) {
        return Err(format!(
            "Certificate invalid: name is not a listed principal ({name} is not in {})",
            principals.join(",")
        ));
    }
    if !cert.critical_options().0.is_empty() {
        return Err(format!(
            "Certificate for {name} contains unsupported critical options(s)"
        ));
    }
    // Last, because it is the expensive part; the CA's fingerprint was
    // compared above as the whole key, this checks the signature over the
    // certificate body.
    let ca_fingerprint = ca.fingerprint(HashAlg::Sha256);
    cert.validate_at(now, [&ca_fingerprint])
        .map_err(|_| "its CA signature does not verify".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -s ca -I ID [-h] [-n PRINCIPALS] [-O OPTION]
    // -V 20200101000000Z:20300101000000Z host.pub`: OK lists
    // `build.corp,*.nodes.corp`, USER lacks -h, ANY lists no principal,
    // CRIT has `-O force-command=true`.
    const CA: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdyLQt3wmgql3BKRT4O0KdqXBWrOaJs3fT+qQB+A9k7";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGQGOiUTTwG13m4e0D0im/PBSavitztYZQGqnUih3rxv";
    const OK: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIG/bhhMNnI15mv2sm826jQpReJ380OdQWH/yPgTlld6WAAAAINuLdfmG6ZX4pz3zwKbAjwztkFfixJr1PN4rtQ5c++i/AAAAAAAAAAAAAAACAAAAAm9rAAAAHgAAAApidWlsZC5jb3JwAAAADCoubm9kZXMuY29ycAAAAABeC+EAAAAAAHDb2IAAAAAAAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIFdyLQt3wmgql3BKRT4O0KdqXBWrOaJs3fT+qQB+A9k7AAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBayWONchhG8WikT48pSzHAGbzsUBhudmTGFTQ35X5INaC/h6oItvM5Rv4IYqnDutEKzsjgcdMghHxDhT3H5pgG";
    const USER: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIG/PdP6xSoioukyc1gxhgjzY/5ElZeE45RdK5zyBCDCDAAAAINuLdfmG6ZX4pz3zwKbAjwztkFfixJr1PN4rtQ5c++i/AAAAAAAAAAAAAAABAAAABHVzZXIAAAAOAAAACmJ1aWxkLmNvcnAAAAAAXgvhAAAAAABw29iAAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgV3ItC3fCaCqXcEpFPg7Qp2pcFas5omzd9P6pAH4D2TsAAABTAAAAC3NzaC1lZDI1NTE5AAAAQN2IlrES406xkDbaUFP5tnOXYRUg+TupBT0Zn6uTXzPX30ayBNH8mhtk6LLIjv7RaaP6VrFiD1sywDTIC+jaFQg=";
    const ANY: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIDaGOna//jAbZVoOMhK1UAsijzJrrJhuF+cNhknM3JRTAAAAINuLdfmG6ZX4pz3zwKbAjwztkFfixJr1PN4rtQ5c++i/AAAAAAAAAAAAAAACAAAAA2FueQAAAAAAAAAAXgvhAAAAAABw29iAAAAAAAAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACBXci0Ld8JoKpdwSkU+DtCnalwVqzmibN30/qkAfgPZOwAAAFMAAAALc3NoLWVkMjU1MTkAAABAA7FD3ugTTtUggs9JkymnjzoFC7e6VmGw2Za+/4cfyYhWkBBBplIf2fKyaL0IRe2AkkaxYG36YICltaYVFVFqAw==";
    const CRIT: &str = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIHkZ7/OLU0Pb2rUQnLxGa5J8uHDOGEKflVv+OvhqCpliAAAAINuLdfmG6ZX4pz3zwKbAjwztkFfixJr1PN4rtQ5c++i/AAAAAAAAAAAAAAACAAAABGNyaXQAAAAOAAAACmJ1aWxkLmNvcnAAAAAAXgvhAAAAAABw29iAAAAAHQAAAA1mb3JjZS1jb21tYW5kAAAACAAAAAR0cnVlAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIFdyLQt3wmgql3BKRT4O0KdqXBWrOaJs3fT+qQB+A9k7AAAAUwAAAAtzc2gtZWQyNTUxOQAAAEApugzqCGm12Me/jdne+GENRv5Bup3yQtDe09KS3M9rD/Ql3RR5HFN9OSVe9x5nfJO2dtrixnIImvEDbs/MT+wD";

    const AFTER: u64 = 1_577_836_800;
    const BEFORE: u64 = 1_893_456_000;
    const NOW: u64 = AFTER + 1000;

    fn cert(text: &str) -> Certificate {
        Certificate::from_openssh(text).unwrap()
    }

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    #[test]
    fn checks_like_sshkey_cert_check_authority() {
        let ca = key(CA);
        let ok = cert(OK);
        assert_eq!(check_at(&ok, &ca, "build.corp", NOW), Ok(()));
        assert_eq!(check_at(&ok, &ca, "n1.nodes.corp", NOW), Ok(()));
        assert_eq!(check_at(&ok, &ca, "build.corp", AFTER), Ok(()));
        let err = |c: &str, ca: &PublicKey, name: &str, now: u64| {
            check_at(&cert(c), ca, name, now).unwrap_err()
        };
        assert!(err(OK, &ca, "other.corp", NOW).contains("not a listed principal"));
        assert!(err(OK, &ca, "nodes.corp", NOW).contains("not a listed principal"));
        assert!(err(OK, &ca, "build.corp", AFTER - 1).contains("not yet valid"));
        assert!(err(OK, &ca, "build.corp", BEFORE).contains("expired"));
        assert!(err(OK, &key(OTHER), "build.corp", NOW).contains("not signed by"));
        assert!(err(USER, &ca, "build.corp", NOW).contains("not a host certificate"));
        assert!(err(CRIT, &ca, "build.corp", NOW).contains("critical option"));
        assert_eq!(check_at(&cert(ANY), &ca, "whatever", NOW), Ok(()));
    }

    #[test]
    fn a_tampered_certificate_does_not_verify() {
        let ca = key(CA);
        let mut bytes = cert(OK).to_bytes().unwrap();
        // Flip a bit inside the principals, so that the body no longer
        // matches the CA's signature but still parses.
        let at = bytes.windows(10).position(|w| w == b"build.corp").unwrap();
        bytes[at] ^= 0x01;
        let tampered = Certificate::from_bytes(&bytes).unwrap();
        assert_eq!(
            check_at(&tampered, &ca, "cuild.corp", NOW),
            Err("its CA signature does not verify".to_owned())
        );
    }
}
