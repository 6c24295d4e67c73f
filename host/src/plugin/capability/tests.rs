//! Grants, declarations and the check between them.

use super::*;

#[test]
fn parses_grants() {
    assert_eq!(Grant::parse("remote-exec"), Ok(Grant::RemoteExec));
    assert_eq!(
        Grant::parse("local-exec:rsync"),
        Ok(Grant::LocalExec(Some("rsync".into())))
    );
    assert_eq!(Grant::parse("env"), Ok(Grant::Env(None)));
    assert!(Grant::parse("network").is_err());
    assert!(Grant::parse("env:").is_err());
}

#[test]
fn installed_gets_the_intersection() {
    let declared = [
        Capability::RemoteExec,
        Capability::LocalExec(vec!["rsync".into()]),
    ];
    let g = Grants::installed(
        "p",
        &declared,
        &[
            Grant::LocalExec(Some("rsync".into())),
            Grant::RemoteFiles,
            Grant::LocalExec(Some("sh".into())),
        ],
    );
    assert!(g.check(Need::LocalExec("rsync")).is_ok());
    let sh = g.check(Need::LocalExec("sh")).unwrap_err();
    assert!(sh.contains("did not declare"), "{sh}");
    let remote = g.check(Need::RemoteExec).unwrap_err();
    assert!(
        remote.contains("grant = [\"remote-exec\"] under [plugins.p]"),
        "{remote}"
    );
    assert!(g
        .check(Need::RemoteFiles)
        .unwrap_err()
        .contains("did not declare"));
}

#[test]
fn ungranted_lists_each_missing_item() {
    let declared = [
        Capability::RemoteExec,
        Capability::LocalExec(vec!["touch".into(), "env".into()]),
        Capability::Env(vec!["A".into()]),
    ];
    let g = Grants::installed(
        "p",
        &declared,
        &[Grant::RemoteExec, Grant::LocalExec(Some("touch".into()))],
    );
    assert_eq!(g.ungranted(&declared), ["local-exec:env", "env:A"]);
    let all = Grants::installed(
        "p",
        &declared,
        &[Grant::RemoteExec, Grant::LocalExec(None), Grant::Env(None)],
    );
    assert!(all.ungranted(&declared).is_empty());
    assert!(Grants::builtin("git", &declared)
        .ungranted(&declared)
        .is_empty());
    assert_eq!(
        grant_items(&declared),
        ["remote-exec", "local-exec:touch", "local-exec:env", "env:A"]
    );
}

#[test]
fn builtin_gets_what_it_declares() {
    let g = Grants::builtin(
        "git",
        &[Capability::RemoteExec, Capability::Env(vec!["HOME".into()])],
    );
    assert!(g.check(Need::RemoteExec).is_ok());
    assert!(g.check(Need::Env("HOME")).is_ok());
    assert!(g.check(Need::Env("PATH")).is_err());
    assert!(g.check(Need::LocalRead).is_err());
}

#[test]
fn http_is_granted_per_host() {
    let declared = [Capability::Http(vec![
        "Auth.Example.com".into(),
        "other.example.com".into(),
    ])];
    let g = Grants::installed(
        "tok",
        &declared,
        &[Grant::parse("http:auth.example.com").unwrap()],
    );
    assert!(g.check(https("auth.example.com", 443)).is_ok());
    let other = g.check(https("other.example.com", 443)).unwrap_err();
    assert!(
        other.contains("grant = [\"http:other.example.com\"] under [plugins.tok]"),
        "{other}"
    );
    let evil = g.check(https("evil.example.com", 443)).unwrap_err();
    assert!(evil.contains("did not declare"), "{evil}");
    let all = Grants::installed("tok", &declared, &[Grant::Http(None)]);
    assert!(all.check(https("other.example.com", 443)).is_ok());
}

fn https(host: &str, port: u16) -> Need<'_> {
    Need::Http {
        host,
        port,
        default_port: port == 443,
    }
}

#[test]
fn an_http_grant_names_its_port() {
    let declared = [Capability::Http(vec![
        "auth.example.com".into(),
        "[::1]".into(),
    ])];
    let g = Grants::installed(
        "tok",
        &declared,
        &[
            Grant::parse("http:auth.example.com").unwrap(),
            Grant::parse("http:[::1]:8080").unwrap(),
        ],
    );
    assert!(g.ungranted(&declared).is_empty());
    assert!(g.check(https("auth.example.com", 443)).is_ok());
    let other = g.check(https("auth.example.com", 8443)).unwrap_err();
    assert!(
        other.contains("grant = [\"http:auth.example.com:8443\"] under [plugins.tok]"),
        "{other}"
    );
    assert!(g.check(https("::1", 8080)).is_ok());
    assert!(g.check(https("::1", 443)).is_err());
    let port = Grants::installed(
        "tok",
        &declared,
        &[Grant::parse("http:Auth.Example.com:8443").unwrap()],
    );
    assert!(port.check(https("auth.example.com", 8443)).is_ok());
    assert!(port.check(https("auth.example.com", 443)).is_err());
}
