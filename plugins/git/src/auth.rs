//! Credentials for git on the node, as environment only.

use ops_plugin_sdk::{base64_encode, sh_quote};

use crate::config::{https_origin, GitConfig, UrlKind};
use crate::ops::plugin::node;

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

/// What git prints when an HTTPS server turns it away. With a token the
/// refusal ends in a credential prompt that may not run, so git's own
/// words ("could not read Username") do not say what went wrong.
const REFUSED: &[&str] = &[
    "could not read Username",
    "Authentication failed for",
    "returned error: 401",
    "returned error: 403",
];

/// A failed sync's message, led by the likely cause when the HTTPS server
/// refused the credentials (or asked for some and none were configured).
pub fn explain_refusal(config: &GitConfig, error: String) -> String {
    if config.kind != UrlKind::Https || !REFUSED.iter().any(|s| error.contains(s)) {
        return error;
    }
    let origin = https_origin(&config.repo).unwrap_or(&config.repo);
    match config.token {
        Some(_) => format!(
            "{origin} refused the `token` of [build.git]: check that it is valid and may read \
             the repository ({error})"
        ),
        None => format!(
            "{origin} asks for credentials: set `token` in [build.git] to an access token \
             that may read the repository ({error})"
        ),
    }
}

/// `ssh` as git should run it: batch mode (no prompts), strict host key
/// checking always. A deploy key (`ssh_key`) reaches ssh through the agent
/// the host serves on this plugin's channels (`SSH_AUTH_SOCK`), holding that
/// key only: it is never written on the node, so nothing else there can
/// read it.
fn ssh_command(config: &GitConfig) -> Result<String, String> {
    let mut cmd = String::from("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes");
    if let Some(lines) = &config.known_hosts {
        let dir = node::scratch_dir("git-ssh")?;
        let remote = format!("{dir}/known_hosts");
        let mut contents = lines.clone().into_bytes();
        contents.push(b'\n');
        node::write_file(&remote, &contents, 0o600)?;
        cmd.push_str(&format!(" -o UserKnownHostsFile={}", sh_quote(&remote)));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(repo: &str, token: Option<&str>) -> GitConfig {
        GitConfig {
            repo: repo.into(),
            kind: crate::config::url_kind(repo),
            ssh_key: None,
            token: token.map(String::from),
            known_hosts: None,
        }
    }

    const PROMPT: &str = "git clone failed (exit code 128): fatal: could not read Username \
                          for 'http://127.0.0.1:8080': terminal prompts disabled";

    #[test]
    fn a_refused_token_is_named_first() {
        let message = explain_refusal(
            &config("http://127.0.0.1:8080/hello.git", Some("t0k3n")),
            PROMPT.into(),
        );
        assert!(
            message.starts_with("http://127.0.0.1:8080 refused the `token` of [build.git]"),
            "{message}"
        );
        assert!(message.ends_with(&format!("({PROMPT})")), "{message}");
        assert!(!message.contains("t0k3n"), "{message}");

        let forbidden = "git fetch failed (exit code 128): fatal: unable to access \
                         'https://h/r/': The requested URL returned error: 403";
        let message = explain_refusal(&config("https://h/r", Some("x")), forbidden.into());
        assert!(message.starts_with("https://h refused"), "{message}");
    }

    #[test]
    fn missing_credentials_suggest_a_token() {
        let message = explain_refusal(&config("https://h:8443/r.git", None), PROMPT.into());
        assert!(
            message.starts_with("https://h:8443 asks for credentials: set `token`"),
            "{message}"
        );
    }

    #[test]
    fn other_failures_are_left_alone() {
        let other = "git clone failed (exit code 128): fatal: repository not found";
        for repo in ["https://h/r", "git@h:r", "/srv/r.git"] {
            let message = explain_refusal(&config(repo, Some("x")), other.into());
            assert_eq!(message, other);
        }
        // An SSH or path origin is not an HTTPS refusal whatever git says.
        let message = explain_refusal(&config("git@h:r", None), PROMPT.into());
        assert_eq!(message, PROMPT);
    }
}
