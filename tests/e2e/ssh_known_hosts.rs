//! known_hosts as OpenSSH reads it, against real sshd: wildcard and
//! negated host patterns, host certificates trusted through
//! `@cert-authority`, and `@revoked` keys refused whatever vouches for them.

use crate::support::home::{generate_key, TestHome};
use crate::support::sshd::Sshd;

fn target(home: &TestHome, sshd: &Sshd) {
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
}

fn reaches(home: &TestHome, sshd: &Sshd) {
    let before = sshd.logins();
    let out = home.ops().args(["exec", "--", "echo", "reached"]).run();
    out.expect_success();
    assert_eq!(out.stdout, "reached\n");
    assert_eq!(sshd.logins(), before + 1);
}

fn refused(home: &TestHome, sshd: &Sshd) -> String {
    let marker = sshd.dir().join("ran");
    let out = home.ops().args(["exec", "--", "touch"]).arg(&marker).run();
    out.expect_code(3);
    assert!(!marker.exists(), "the command ran");
    assert_eq!(sshd.logins(), 0, "{}", sshd.log());
    out.stderr
}

/// A CA key pair in the home (outside `.ssh`), returning the private key
/// path and the public key line.
fn company_ca(home: &TestHome, name: &str) -> (std::path::PathBuf, String) {
    let path = home.path().join("ca").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let public = generate_key(&path, name);
    (path, public)
}

#[test]
fn wildcard_entry_is_honoured_and_negation_excludes() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    target(&home, &sshd);
    let key = sshd.host_public_key();
    home.append_known_hosts(&format!("[127.0.0.*]:{},[10.*]:* {key}", sshd.port()));
    reaches(&home, &sshd);

    // The same entry with this host negated vouches for nothing.
    std::fs::write(
        home.known_hosts_path(),
        format!("[127.0.0.?]:*,![127.0.0.1]:{} {key}\n", sshd.port()),
    )
    .unwrap();
    let before = sshd.logins();
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3);
    assert!(out.stderr.contains("is not known"), "{}", out.stderr);
    assert_eq!(sshd.logins(), before);
}

#[test]
fn host_certificate_from_a_listed_ca_is_accepted() {
    let home = TestHome::new();
    let (ca, ca_public) = company_ca(&home, "host_ca");
    let sshd = Sshd::builder()
        .authorize(home.user_public_key())
        .host_certificate(&ca, "127.0.0.1,node.corp.example")
        .start();
    target(&home, &sshd);
    // Only the CA is listed and the plain host key is known nowhere, so
    // reaching the node proves the certificate was offered and verified.
    home.append_known_hosts(&format!("@cert-authority [127.0.0.*]:* {ca_public}"));
    reaches(&home, &sshd);
    assert_eq!(home.known_hosts().lines().count(), 1, "nothing is learned");
}

#[test]
fn host_certificate_for_another_name_is_refused() {
    // Principal checked against the host name, as `ssh` does.
    let home = TestHome::new();
    let (ca, ca_public) = company_ca(&home, "host_ca");
    let sshd = Sshd::builder()
        .authorize(home.user_public_key())
        .host_certificate(&ca, "node.corp.example")
        .start();
    target(&home, &sshd);
    home.append_known_hosts(&format!("@cert-authority * {ca_public}"));
    let stderr = refused(&home, &sshd);
    assert!(stderr.contains("not a listed principal"), "{stderr}");
}

#[test]
fn expired_host_certificate_is_refused_even_with_accept_new() {
    let home = TestHome::new();
    let (ca, ca_public) = company_ca(&home, "host_ca");
    let sshd = Sshd::builder()
        .authorize(home.user_public_key())
        .host_certificate_valid(&ca, "127.0.0.1", "20200101:20210101")
        .start();
    target(&home, &sshd);
    home.append_known_hosts(&format!("@cert-authority * {ca_public}"));
    let marker = sshd.dir().join("ran");
    let out = home
        .ops()
        .args(["exec", "--accept-new-host-key", "--", "touch"])
        .arg(&marker)
        .run();
    out.expect_code(3);
    assert!(
        out.stderr.contains("Certificate invalid: expired"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists());
    assert_eq!(
        home.known_hosts().lines().count(),
        1,
        "nothing is learned: {}\n{}",
        home.known_hosts(),
        out.stderr
    );
    // With the plain key recorded too, the node is reachable: like ssh,
    // ops falls back to the key inside an invalid certificate.
    home.trust(&sshd);
    reaches(&home, &sshd);
}

#[test]
fn revoked_host_key_is_refused_even_with_a_valid_certificate() {
    let home = TestHome::new();
    let (ca, ca_public) = company_ca(&home, "host_ca");
    let sshd = Sshd::builder()
        .authorize(home.user_public_key())
        .host_certificate(&ca, "127.0.0.1")
        .start();
    target(&home, &sshd);
    home.append_known_hosts(&format!("@cert-authority * {ca_public}"));
    // Also recorded as a plain key: revocation still wins.
    home.trust(&sshd);
    home.append_known_hosts(&format!("@revoked * {}", sshd.host_public_key()));
    let stderr = refused(&home, &sshd);
    assert!(stderr.contains("REVOKED HOST KEY"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn revoked_ca_is_refused() {
    let home = TestHome::new();
    let (ca, ca_public) = company_ca(&home, "host_ca");
    let sshd = Sshd::builder()
        .authorize(home.user_public_key())
        .host_certificate(&ca, "127.0.0.1")
        .start();
    target(&home, &sshd);
    home.append_known_hosts(&format!("@cert-authority * {ca_public}"));
    home.append_known_hosts(&format!("@revoked [127.0.0.1]:* {ca_public}"));
    let stderr = refused(&home, &sshd);
    assert!(stderr.contains("REVOKED HOST KEY"), "{stderr}");
    assert!(stderr.contains("certificate authority"), "{stderr}");
}
