//! The small POSIX sh program that every remote command runs through.
//!
//! SSH carries one command string to the login shell, so arguments are
//! single-quoted here and reach the program literally. Environment values
//! may be secrets and must not appear in argv (visible in `ps` on the node),
//! so the wrapper reads them from stdin, one line each, before the user's
//! stdin starts. It first reports its pid on stderr: sshd makes every
//! session its own process-group leader, and the wrapper `exec`s the
//! program, so that pid names the group to kill on cancellation.

use crate::remote::is_identifier;
use crate::remote::{RemoteCommand, RemoteError};

/// Starts the first stderr line, which the client strips.
pub const PGID_MARKER: &str = "__ops_pgid=";

/// `s` as one shell word, quoted by the same rule the built-in plugins use.
pub fn quote(s: &str) -> String {
    shell_escape::unix::escape(s.into()).into_owned()
}

/// The command string for `command`, and the bytes to send on stdin before
/// the command's own stdin (the env values). `prologue` is shell that runs
/// first (the reaper's registration). With a `gate`, the program waits
/// until that file exists (after the pid is reported, so that a run that
/// gives up on the gate can stop it).
pub fn script(
    command: &RemoteCommand,
    prologue: &str,
    gate: Option<&str>,
) -> Result<(String, Vec<u8>), RemoteError> {
    let invalid = |m: String| Err(RemoteError::InvalidRequest(m));
    if command.program.is_empty() {
        return invalid("empty program name".into());
    }
    for word in std::iter::once(&command.program)
        .chain(&command.args)
        .chain(command.cwd.iter())
    {
        if word.contains('\0') {
            return invalid(format!("{word:?} contains a NUL byte"));
        }
    }
    let mut script = format!("{prologue}printf '{PGID_MARKER}%s\\n' \"$$\" >&2 || exit 125; ");
    if let Some(marker) = gate {
        script.push_str(&gate_wait(marker));
    }
    let mut preamble = Vec::new();
    for (name, value) in &command.env {
        if !is_identifier(name) {
            return invalid(format!("{name:?} is not a valid environment variable name"));
        }
        if value.contains('\n') || value.contains('\0') {
            return invalid(format!(
                "the value of {name} contains a newline or NUL byte"
            ));
        }
        script.push_str(&format!("IFS= read -r {name} || exit 125; export {name}; "));
        preamble.extend_from_slice(value.as_bytes());
        preamble.push(b'\n');
    }
    if let Some(cwd) = &command.cwd {
        script.push_str(&format!("cd -- {} || exit 126; ", quote(cwd)));
    }
    script.push_str("exec");
    for word in std::iter::once(&command.program).chain(&command.args) {
        script.push(' ');
        script.push_str(&quote(word));
    }
    Ok((script, preamble))
}

/// Waits for `marker`: every 10 ms for the first two seconds (a lock that
/// is free is taken within milliseconds), then every 200 ms, so that a long
/// wait for a busy lock costs the node little.
fn gate_wait(marker: &str) -> String {
    format!(
        "__ops_m={marker}; __ops_n=0; while [ ! -e \"$__ops_m\" ]; do \
         if [ $__ops_n -lt 200 ]; then __ops_n=$((__ops_n+1)); sleep 0.01 2>/dev/null || sleep 1; \
         else sleep 0.2 2>/dev/null || sleep 1; fi; done; unset __ops_m __ops_n; "
    )
}

/// Kills the process groups `pgids`: TERM, up to `grace_tenths`/10 s for
/// them to go, then KILL.
pub fn kill_script(pgids: &[u32], grace_tenths: u32) -> String {
    let groups: Vec<String> = pgids.iter().map(|p| format!("-{p}")).collect();
    let groups = groups.join(" ");
    let plain: Vec<String> = pgids.iter().map(u32::to_string).collect();
    format!(
        "kill -s TERM -- {groups} 2>/dev/null; n=0; for g in {plain}; do \
         while [ $n -lt {grace_tenths} ] && kill -s 0 -- -$g 2>/dev/null; do sleep 0.1; n=$((n+1)); done; \
         done; kill -s KILL -- {groups} 2>/dev/null; exit 0",
        plain = plain.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_words() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn env_values_stay_out_of_the_command() {
        let cmd = RemoteCommand::new("env").env("TOKEN", "hunter2-secret");
        let (script, stdin) = script(&cmd, "", None).unwrap();
        assert!(!script.contains("hunter2"));
        assert_eq!(stdin, b"hunter2-secret\n");
        assert!(script.contains("IFS= read -r TOKEN"));
    }

    #[test]
    fn rejects_unsafe_env() {
        let bad_name = RemoteCommand::new("true").env("A;B", "x");
        assert!(matches!(
            script(&bad_name, "", None),
            Err(RemoteError::InvalidRequest(_))
        ));
        let bad_value = RemoteCommand::new("true").env("A", "x\ny");
        assert!(matches!(
            script(&bad_value, "", None),
            Err(RemoteError::InvalidRequest(_))
        ));
    }

    #[test]
    fn a_gated_command_runs_once_the_marker_exists() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("locked");
        let out = dir.path().join("ran");
        let cmd = RemoteCommand::new("touch").args([out.display().to_string()]);
        let gated = script(&cmd, "", Some(&quote(&marker.display().to_string())))
            .unwrap()
            .0;
        let mut child = std::process::Command::new("sh")
            .args(["-c", &gated])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!out.exists(), "it ran before the gate opened");
        assert!(child.try_wait().unwrap().is_none());
        std::fs::write(&marker, "").unwrap();
        assert!(child.wait().unwrap().success());
        assert!(out.exists());
        // Without a gate it does not wait at all.
        let (plain, _) = script(&cmd, "", None).unwrap();
        assert!(!plain.contains("__ops_m"));
    }
}
