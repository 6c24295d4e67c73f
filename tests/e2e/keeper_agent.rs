//! The agent over a kept connection: the node's requests to reach it go to
//! the run holding the lease, whose gate answers them only during its sync,
//! run after run; the build command reaches it in none of them.

use std::fs;

use crate::support::agent::SshAgent;
use crate::support::build::BuildFixture;
use crate::support::keeper::KeeperPlace;

#[test]
fn each_run_on_a_kept_connection_gets_the_agent_for_its_sync_only() {
    let mut fx = BuildFixture::new();
    let ssh = fx.origin.over_ssh();
    let agent = SshAgent::start();
    agent.add(ssh.key().private_key_path());
    fx.config.repo = ssh.url().to_owned();
    fx.config.known_hosts = Some(vec![ssh.known_hosts_line()]);
    fx.config.image = None;
    fx.config.forward_agent = Some(true);
    let probe = fx.dir().join("agent-probe");
    fx.config.command = format!(
        "r=unreachable; if [ -n \"$SSH_AUTH_SOCK\" ] || ssh-add -l >/dev/null 2>&1; then \
         r=reachable; fi; for s in /tmp/ssh-*/agent.*; do [ -S \"$s\" ] && \
         SSH_AUTH_SOCK=\"$s\" ssh-add -l >/dev/null 2>&1 && r=\"reachable through $s\"; \
         done; echo \"$r\" > '{}'",
        probe.display()
    );
    fx.write_config();
    let place = KeeperPlace::new();
    for run in 1..=2 {
        let _ = fs::remove_file(&probe);
        let out = place
            .persist(fx.ops(), "1m")
            .env("SSH_AUTH_SOCK", agent.socket())
            .arg("build")
            .run();
        out.expect_success();
        assert_eq!(
            fs::read_to_string(&probe).unwrap().trim(),
            "unreachable",
            "run {run}: the build command could reach the agent"
        );
    }
    assert_eq!(fx.node.logins(), 1, "both runs on one kept connection");
    assert!(
        ssh.sshd().logins() >= 2,
        "each sync reached the git server with the agent:\n{}",
        ssh.sshd().log()
    );
}
