//! The small POSIX sh program that every remote command runs through.
//!
//! SSH carries one command string to the login shell, so arguments are
//! single-quoted here and reach the program literally. Environment values
//! may be secrets and must not appear in argv (visible in `ps` on the node),
//! so the wrapper reads them from stdin, one line each, before the user's
//! stdin starts. It first reports its pid on stderr: sshd makes every
//! session its own process-group leader, so that pid names the group to
//! kill on cancellation.
//!
//! The program runs as the wrapper's child with [`TAG_VAR`] in its
//! environment, which every process it starts inherits, across `setsid`
//! and double forks. When the program ends, the wrapper stops whatever
//! still carries the command's tag (TERM, a short grace, KILL) before it
//! exits, so a command reported ended has nothing left running.

use crate::remote::{RemoteCommand, RemoteError};
use crate::text::is_identifier;

/// Starts the first stderr line, which the client strips.
pub const PGID_MARKER: &str = "__ops_pgid=";

/// The environment variable that tags every process a command starts:
/// `RUN.N`, the run's id and the command's number in the run.
pub const TAG_VAR: &str = "OPS_RUN_TAG";

/// How long what a finished program left running gets between TERM and
/// KILL, in tenths of a second: daemons get to shut down, briefly.
const LEFTOVER_GRACE_TENTHS: u32 = 10;

/// `__ops_stop PATTERN GRACE`: stops every process whose environment has a
/// line matching the extended regular expression PATTERN (only the node
/// user's own processes can be read), except the shell itself: TERM, then
/// KILL once GRACE tenths of a second have passed, rescanning every tenth
/// so that what they start meanwhile is found too. One `grep` when nothing
/// is left, which is the usual case. (grep's status says nothing here:
/// other users' environments are unreadable, which makes it 2.)
pub const STOP_TAGGED: &str = r#"__ops_stop() {
  __ops_n=0
  while :; do
    __ops_l=$(grep -slzxE -e "$1" /proc/[0-9]*/environ)
    __ops_p=
    for __ops_f in $__ops_l; do
      __ops_f=${__ops_f#/proc/}; __ops_f=${__ops_f%/environ}
      [ "$__ops_f" = "$$" ] || __ops_p="$__ops_p $__ops_f"
    done
    [ -n "$__ops_p" ] || return 0
    if [ $__ops_n -eq 0 ]; then kill -s TERM $__ops_p 2>/dev/null
    elif [ $__ops_n -ge $2 ]; then kill -s KILL $__ops_p 2>/dev/null; fi
    [ $__ops_n -ge $(($2 + 20)) ] && return 1
    sleep 0.1 2>/dev/null || sleep 1
    __ops_n=$((__ops_n + 1))
  done
}
"#;

/// After the program: stop what it left (its process group, which the
/// wrapper itself ignores TERM for, and everything with its tag), then end
/// as the program did, re-raising a signal that killed it (a core dump of
/// the shell is not wanted).
const AFTER_PROGRAM: &str = "__ops_s=$?; trap '' TERM; kill -s TERM -- -$$ 2>/dev/null; ";
const EXIT_AS_PROGRAM: &str = "trap - TERM; \
    if [ $__ops_s -gt 128 ] && [ $__ops_s -le 143 ]; then \
    ulimit -c 0 2>/dev/null; kill -$((__ops_s - 128)) $$; fi; exit $__ops_s";

/// `s` as one shell word, quoted by the same rule the built-in plugins use
/// (`sh_quote` in the plugin SDK): single quotes where they can hold it,
/// double quotes around a `'`, never around `$`, `` ` `` or `!`.
pub fn quote(s: &str) -> String {
    shlex::Quoter::new()
        // `script` refuses NUL bytes before anything is quoted; the rest
        // (tags, patterns) are ours and hold none.
        .allow_nul(true)
        .quote(s)
        .expect("quoting with NUL bytes allowed cannot fail")
        .into_owned()
}

/// The `grep -E` pattern for the environment line of tag `tag`.
pub fn tag_pattern(tag: &str) -> String {
    format!("{TAG_VAR}={}", tag.replace('.', "\\."))
}

/// The command string for `command`, and the bytes to send on stdin before
/// Shell that makes each of `dirs` (scratch directories under the run's
/// private root) unless it exists; a directory that cannot be made fails
/// the command before it runs.
pub(super) fn make_dirs(dirs: &[String]) -> String {
    dirs.iter()
        .map(|d| {
            let d = quote(d);
            format!("[ -d {d} ] || mkdir -m 700 -- {d} 2>/dev/null || [ -d {d} ] || exit 125; ")
        })
        .collect()
}

/// the command's own stdin (the gate's name, the env values). `prologue`
/// is shell that runs first (the reaper's registration); `tag` marks the
/// program's processes. With a `gate`, the program waits until the gate
/// opens (after the pid is reported, so that a run that gives up on the
/// gate can stop it).
pub fn script(
    command: &RemoteCommand,
    prologue: &str,
    gate: Option<&str>,
    tag: &str,
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
    let mut preamble = Vec::new();
    if let Some(name) = gate {
        if !is_gate_name(name) {
            return invalid(format!("{name:?} is not a gate name"));
        }
        script.push_str(GATE_WAIT);
        preamble.extend_from_slice(name.as_bytes());
        preamble.push(b'\n');
    }
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
    script.push_str(&format!("{TAG_VAR}={}", quote(tag)));
    for word in std::iter::once(&command.program).chain(&command.args) {
        script.push(' ');
        script.push_str(&quote(word));
    }
    script.push('\n');
    script.push_str(AFTER_PROGRAM);
    script.push_str(STOP_TAGGED);
    script.push_str(&format!(
        "__ops_stop {} {LEFTOVER_GRACE_TENTHS}; ",
        quote(&tag_pattern(tag))
    ));
    script.push_str(EXIT_AS_PROGRAM);
    Ok((script, preamble))
}

/// A gate's name becomes part of a path on the node.
fn is_gate_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads the gate's name from stdin (it is not in argv, so other users of
/// the node cannot learn it) and waits for `open` in the gate's directory
/// ([`RemoteNode::set_gate`](crate::remote::RemoteNode::set_gate)): every
/// 10 ms for the first two seconds (a lock that is free is taken within
/// milliseconds), then every 200 ms, so that a long wait for a busy lock
/// costs the node little. Once it is there, the directory must be this
/// user's own and reached without a symlink, or the command fails.
const GATE_WAIT: &str = "IFS= read -r __ops_g || exit 125; \
    __ops_d=\"${TMPDIR:-/tmp}/ops-gate-$__ops_g\"; __ops_n=0; \
    while [ ! -e \"$__ops_d/open\" ]; do \
    if [ $__ops_n -lt 200 ]; then __ops_n=$((__ops_n+1)); sleep 0.01 2>/dev/null || sleep 1; \
    else sleep 0.2 2>/dev/null || sleep 1; fi; done; \
    ( cd -P -- \"$__ops_d\" && [ -O . ] && __ops_t=$(cd -P -- \"${TMPDIR:-/tmp}\" && pwd -P) \
    && [ \"$(pwd -P)\" = \"${__ops_t%/}/ops-gate-$__ops_g\" ] ) || \
    { echo \"ops: $__ops_d is not this user's own directory; not running\" >&2; exit 125; }; \
    unset __ops_g __ops_d __ops_n; ";

/// Stops the process groups `pgids` and everything tagged with one of
/// `tags`: TERM, up to `grace_tenths`/10 s for them to go, then KILL.
pub fn kill_script(pgids: &[u32], tags: &[String], grace_tenths: u32) -> String {
    let groups: Vec<String> = pgids.iter().map(|p| format!("-{p}")).collect();
    let groups = groups.join(" ");
    let plain: Vec<String> = pgids.iter().map(u32::to_string).collect();
    let mut script = String::new();
    if !groups.is_empty() {
        script.push_str(&format!("kill -s TERM -- {groups} 2>/dev/null\n"));
    }
    if !tags.is_empty() {
        let patterns: Vec<String> = tags.iter().map(|t| tag_pattern(t.as_str())).collect();
        script.push_str(STOP_TAGGED);
        script.push_str(&format!(
            "__ops_stop {} {grace_tenths}\n",
            quote(&format!("({})", patterns.join("|")))
        ));
    }
    if !groups.is_empty() {
        script.push_str(&format!(
            "n=0; for g in {plain}; do \
             while [ $n -lt {grace_tenths} ] && kill -s 0 -- -$g 2>/dev/null; do sleep 0.1; n=$((n+1)); done; \
             done; kill -s KILL -- {groups} 2>/dev/null\n",
            plain = plain.join(" ")
        ));
    }
    script.push_str("exit 0");
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_words() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r#""it's""#);
        assert_eq!(quote("$(id)"), "'$(id)'");
    }

    /// What `sh` reads back is each word as it went in.
    #[test]
    fn the_shell_reads_back_what_was_quoted() {
        for word in [
            "a b",
            "it's",
            "$(id)",
            "`id`",
            "a!b",
            "\\",
            "\"$HOME\"",
            "x\ny",
            "~",
            "*",
            "é ü",
            "it's \"$x\" \\ !",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }

    #[test]
    fn env_values_stay_out_of_the_command() {
        let cmd = RemoteCommand::new("env").env("TOKEN", "hunter2-secret");
        let (script, stdin) = script(&cmd, "", None, "r.1").unwrap();
        assert!(!script.contains("hunter2"));
        assert_eq!(stdin, b"hunter2-secret\n");
        assert!(script.contains("IFS= read -r TOKEN"));
    }

    #[test]
    fn rejects_unsafe_env() {
        let bad_name = RemoteCommand::new("true").env("A;B", "x");
        assert!(matches!(
            script(&bad_name, "", None, "r.1"),
            Err(RemoteError::InvalidRequest(_))
        ));
        let bad_value = RemoteCommand::new("true").env("A", "x\ny");
        assert!(matches!(
            script(&bad_value, "", None, "r.1"),
            Err(RemoteError::InvalidRequest(_))
        ));
    }

    fn run_local(script: &str, stdin: &[u8], tmp: &std::path::Path) -> std::process::Child {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .args(["-c", script])
            .env("TMPDIR", tmp)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child
    }

    #[test]
    fn a_gated_command_runs_once_its_gate_opens() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ran");
        let cmd = RemoteCommand::new("touch").args([out.display().to_string()]);
        let (gated, stdin) = script(&cmd, "", Some("g1"), "r.1").unwrap();
        assert!(!gated.contains("g1"), "the gate's name is in argv");
        let mut child = run_local(&gated, &stdin, dir.path());
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!out.exists(), "it ran before the gate opened");
        assert!(child.try_wait().unwrap().is_none());
        std::fs::create_dir(dir.path().join("ops-gate-g1")).unwrap();
        std::fs::write(dir.path().join("ops-gate-g1/open"), "").unwrap();
        assert!(child.wait().unwrap().success());
        assert!(out.exists());
        // Without a gate it does not wait at all.
        let (plain, _) = script(&cmd, "", None, "r.1").unwrap();
        assert!(!plain.contains("__ops_g"));
    }

    #[test]
    fn a_gate_reached_through_a_symlink_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ran");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("open"), "").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("ops-gate-g2")).unwrap();
        let cmd = RemoteCommand::new("touch").args([out.display().to_string()]);
        let (gated, stdin) = script(&cmd, "", Some("g2"), "r.1").unwrap();
        let child = run_local(&gated, &stdin, dir.path());
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.code(), Some(125));
        assert!(!out.exists());
        assert!(String::from_utf8_lossy(&done.stderr).contains("not this user's own"));
    }

    #[test]
    fn what_the_program_leaves_running_is_stopped_before_the_wrapper_ends() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let tag = format!("t{}.7", std::process::id());
        let cmd = RemoteCommand::new("sh").args([
            "-c",
            &format!(
                "setsid sh -c 'echo $$ > {}; exec sleep 1000' >/dev/null 2>&1 & \
                 while [ ! -s {0} ]; do sleep 0.01; done; exit 3",
                pid_file.display()
            ),
        ]);
        let (wrapped, stdin) = script(&cmd, "", None, &tag).unwrap();
        let done = run_local(&wrapped, &stdin, dir.path()).wait().unwrap();
        assert_eq!(done.code(), Some(3), "the program's own exit code");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        let alive = stat.is_ok_and(|s| !s.contains(") Z"));
        assert!(!alive, "the daemon outlived its command");
    }

    #[test]
    fn a_program_killed_by_a_signal_is_reported_so() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = RemoteCommand::new("sh").args(["-c", "kill -s KILL $$"]);
        let (wrapped, stdin) = script(&cmd, "", None, "r.2").unwrap();
        let done = run_local(&wrapped, &stdin, dir.path()).wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(done.signal(), Some(9));
    }
}
