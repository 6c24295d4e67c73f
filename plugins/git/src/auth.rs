//! Credentials for git on the node, as environment only.

use ops_plugin_common::{base64_encode, sh_quote};

use crate::config::{https_origin, GitConfig, UrlKind};
use crate::ops::plugin::{local, node};

/// Environment for every git command that talks to the remote.
pub fn environment(config: &GitConfig) -> Result<Vec<(String, String)>, String> {
    let mut env = vec![("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned())];
    match config.kind {
        UrlKind::Ssh => env.push(("GIT_SSH_COMMAND".to_owned(), ssh_command(config)?)),
        UrlKind::Https => {
            if let Some(token) = &config.token {
                let origin = https_origin(&config.repo).unwrap_or(&config.repo);
                let basic = base64_encode(format!("x-access-token:{token}").as_bytes());
                // Environment-only config (git >= 2.31): never in argv, never
                // in the repository's .git/config. Scoped to the repo's
                // origin so that submodules elsewhere do not receive it.
                env.push(("GIT_CONFIG_COUNT".to_owned(), "1".to_owned()));
                env.push((
                    "GIT_CONFIG_KEY_0".to_owned(),
                    format!("http.{origin}/.extraHeader"),
                ));
                env.push((
                    "GIT_CONFIG_VALUE_0".to_owned(),
                    format!("Authorization: Basic {basic}"),
                ));
            }
        }
        UrlKind::Local => {}
    }
    Ok(env)
}

/// `ssh` as git should run it: batch mode (no prompts), strict host key
/// checking always, and the deploy key from the run's scratch directory.
fn ssh_command(config: &GitConfig) -> Result<String, String> {
    let mut cmd = String::from("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes");
    if config.ssh_key.is_none() && config.known_hosts.is_none() {
        return Ok(cmd);
    }
    let dir = node::scratch_dir("git-ssh")?;
    if let Some(key_path) = &config.ssh_key {
        let mut key = local::read_file(key_path).map_err(|e| format!("ssh_key: {e}"))?;
        // OpenSSH rejects a private key without its final newline.
        if key.last() != Some(&b'\n') {
            key.push(b'\n');
        }
        let remote = format!("{dir}/deploy_key");
        node::write_file(&remote, &key, 0o600)?;
        cmd.push_str(&format!(" -o IdentitiesOnly=yes -i {}", sh_quote(&remote)));
    }
    if let Some(lines) = &config.known_hosts {
        let remote = format!("{dir}/known_hosts");
        let mut contents = lines.clone().into_bytes();
        contents.push(b'\n');
        node::write_file(&remote, &contents, 0o600)?;
        cmd.push_str(&format!(" -o UserKnownHostsFile={}", sh_quote(&remote)));
    }
    Ok(cmd)
}
