//! User certificates against real sshd trusting a user CA
//! (`TrustedUserCAKeys`) and listing no authorized key: `<identity>-cert.pub`
//! beside the key, `CertificateFile`, and a certificate held by ssh-agent.

use crate::support::agent::SshAgent;
use crate::support::home::{current_user, generate_key, TestHome};
use crate::support::sshd::{sign_key, Sshd};

/// An sshd trusting a fresh user CA and nothing else, with the home's host
/// key trust in place; returns the CA's private key path too.
fn sshd_with_user_ca(home: &TestHome) -> (Sshd, std::path::PathBuf) {
    let ca = home.path().join("ca").join("user_ca");
    std::fs::create_dir_all(ca.parent().unwrap()).unwrap();
    generate_key(&ca, "user-ca");
    let sshd = Sshd::builder()
        .config_line(&format!(
            "TrustedUserCAKeys {}",
            ca.with_extension("pub").display()
        ))
        .start();
    home.trust(&sshd);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    (sshd, ca)
}

fn reaches_with_certificate(home: &TestHome, sshd: &Sshd, agent: Option<&SshAgent>) {
    let mut ops = home.ops();
    if let Some(agent) = agent {
        ops = ops.env("SSH_AUTH_SOCK", agent.socket());
    }
    let out = ops.args(["exec", "--", "echo", "certified"]).run();
    out.expect_success();
    assert_eq!(out.stdout, "certified\n");
    assert!(
        sshd.log().contains("Accepted certificate ID \"ops-user\""),
        "{}",
        sshd.log()
    );
}

#[test]
fn certificate_beside_the_default_key_logs_in() {
    let home = TestHome::new();
    let (sshd, ca) = sshd_with_user_ca(&home);
    // Without a certificate the key alone is not authorized.
    home.ops().args(["exec", "--", "true"]).run().expect_code(3);
    sign_key(
        &ca,
        &home.user_key_path().with_extension("pub"),
        "ops-user",
        &current_user(),
        false,
    );
    reaches_with_certificate(&home, &sshd, None);
}

#[test]
fn certificate_file_from_ssh_config_logs_in() {
    let home = TestHome::with_key_elsewhere();
    let (sshd, ca) = sshd_with_user_ca(&home);
    let signed = sign_key(
        &ca,
        &home.user_key_path().with_extension("pub"),
        "ops-user",
        &current_user(),
        false,
    );
    // Moved away from the key, so that only CertificateFile finds it.
    let elsewhere = home.path().join("certs").join("mine.pub");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::rename(&signed, &elsewhere).unwrap();
    home.write_ssh_config(&format!(
        "Host *\n  IdentityFile {}\n  CertificateFile {}\n",
        home.user_key_path().display(),
        elsewhere.display()
    ));
    reaches_with_certificate(&home, &sshd, None);
}

#[test]
fn certificate_in_the_agent_logs_in() {
    let home = TestHome::with_key_elsewhere();
    let (sshd, ca) = sshd_with_user_ca(&home);
    sign_key(
        &ca,
        &home.user_key_path().with_extension("pub"),
        "ops-user",
        &current_user(),
        false,
    );
    let agent = SshAgent::start();
    // ssh-add loads the -cert.pub beside the key as well.
    agent.add(home.user_key_path());
    reaches_with_certificate(&home, &sshd, Some(&agent));
}

#[test]
fn certificate_for_another_principal_is_not_enough() {
    let home = TestHome::new();
    let (sshd, ca) = sshd_with_user_ca(&home);
    sign_key(
        &ca,
        &home.user_key_path().with_extension("pub"),
        "ops-user",
        "someone-else",
        false,
    );
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3).expect_stderr_contains("certificate");
    assert_eq!(sshd.logins(), 0);
}
