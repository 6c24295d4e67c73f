//! `forward_agent = true`: git on the node clones over SSH with the key in
//! the user's ssh-agent, and nothing but the sync can reach that agent.

use std::fs;

use crate::support::agent::SshAgent;
use crate::support::build::BuildFixture;

#[test]
fn git_clones_through_the_forwarded_agent_and_the_build_cannot_reach_it() {
    let mut fx = BuildFixture::new();
    let ssh = fx.origin.over_ssh();
    // The deploy key is only in the agent: a clone that works used it.
    let agent = SshAgent::start();
    agent.add(ssh.key().private_key_path());
    fx.config.repo = ssh.url().to_owned();
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);
    fx.config.image = None;
    let probe = fx.dir().join("agent-probe");
    // The build command sees no agent variable, and the socket sshd made
    // for the sync's agent (OpenSSH keeps it for the whole connection) is
    // refused by ops when tried from outside the sync.
    fx.config.command = format!(
        "r=unreachable; if [ -n \"$SSH_AUTH_SOCK\" ] || ssh-add -l >/dev/null 2>&1; then \
         r=reachable; fi; for s in /tmp/ssh-*/agent.*; do [ -S \"$s\" ] && \
         SSH_AUTH_SOCK=\"$s\" ssh-add -l >/dev/null 2>&1 && r=\"reachable through $s\"; \
         done; echo \"$r\" > '{}'",
        probe.display()
    );

    // Without forwarding, git on the node has no way in.
    fx.write_config();
    let out = fx
        .ops()
        .env("SSH_AUTH_SOCK", agent.socket())
        .arg("build")
        .run();
    out.expect_code(4);

    fx.config.forward_agent = Some(true);
    fx.write_config();
    let out = fx
        .ops()
        .env("SSH_AUTH_SOCK", agent.socket())
        .arg("build")
        .run();
    out.expect_success();
    assert!(ssh.sshd().logins() >= 1, "{}", ssh.sshd().log());
    assert!(fx.build_path().join(".git").exists());
    assert_eq!(
        fs::read_to_string(&probe).unwrap().trim(),
        "unreachable",
        "the build command could reach the agent"
    );
}

#[test]
fn forward_agent_with_an_ssh_key_is_a_config_error() {
    let mut fx = BuildFixture::new();
    fx.config.forward_agent = Some(true);
    fx.config.ssh_key = Some("~/keys/deploy_key".into());
    fx.config.repo = "git@git.example:org/repo".into();
    let out = fx.build(&[]);
    out.expect_code(2);
    out.expect_stderr_contains("forward_agent");
    out.expect_stderr_contains("keep one");
}
