//! `ops lock status` and `ops lock release`: look at, and if need be break,
//! the build lock of `build.path` on the node.
//!
//! The lock is an flock, so it is held exactly as long as the process that
//! took it is alive: a lock whose holder died is already free. What needs a
//! command is a holder that is alive but should not be (its connection went
//! away and the node's sshd has not noticed yet, or a build hangs). Release
//! therefore refuses while a process holds the lock and, with `--force`,
//! stops the holder's whole run: its reaper (found through the holder's
//! `OPS_RUN_DIR`) stops every process group the run started, the build
//! command's included, and the holder itself gets TERM, then KILL. The lock
//! is checked to be free before release says so.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;

use crate::config::{Config, ConfigError};
use crate::exit::{Exit, Failure};
use crate::node::{connect, ReachSettings};
use crate::output::Printer;
use crate::remote::{RemoteCommand, RemoteNode};

/// What `ops lock` was asked to do.
#[derive(Debug, Clone)]
pub struct LockSettings {
    pub config_file: PathBuf,
    pub reach: ReachSettings,
    pub action: LockAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAction {
    Status,
    Release { force: bool },
}

/// Finds the lock file of `$1` (a leading `~` is the node user's home, as
/// for the build) and reports on it, one fact per line:
/// `free LINE` or `held LINE`, then `pid N` for each process holding it.
/// With `$2 = force`, a held lock's holders are stopped first and the lock
/// is then reported as it stands afterwards.
const SCRIPT: &str = r#"p=$1
case $p in "~") p=$HOME ;; "~/"*) p=$HOME/${p#"~/"} ;; esac
dir=$(dirname -- "$p") && name=$(basename -- "$p") || exit 1
f="$dir/.$name.ops-lock"
[ -e "$f" ] || { echo none; exit 0; }
command -v flock >/dev/null 2>&1 || { echo no-flock; exit 0; }
holders() {
  for l in /proc/[0-9]*/fd/*; do
    case $l in "/proc/$$/"*) continue ;; esac
    [ "$(readlink -- "$l" 2>/dev/null)" = "$f" ] || continue
    l=${l#/proc/}; echo "${l%%/*}"
  done | sort -u
}
exec 9<"$f" || exit 1
if [ "$2" = force ] && ! flock -n 9; then
  for pid in $(holders); do
    echo "stopped $pid"
    run=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^OPS_RUN_DIR=//p' | head -n 1)
    if [ -n "$run" ] && [ -O "$run/reaper" ] && reaper=$(cat -- "$run/reaper"); then
      echo "run $run"
      kill -TERM "$reaper" 2>/dev/null
    fi
    pgid=$(cut -d' ' -f5 "/proc/$pid/stat" 2>/dev/null) || continue
    kill -TERM -- "-$pgid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  flock -w 5 9 || for pid in $(holders); do
    pgid=$(cut -d' ' -f5 "/proc/$pid/stat" 2>/dev/null) || continue
    kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
  flock -w 2 9
fi
if flock -n 9; then
  printf 'free %s\n' "$(head -n 1 -- "$f")"
else
  printf 'held %s\n' "$(head -n 1 -- "$f")"
  for pid in $(holders); do echo "pid $pid"; done
fi"#;

/// The lock as the node reported it.
#[derive(Debug, Default, PartialEq, Eq)]
struct LockState {
    /// No lock file: no build of this path ever ran on the node.
    never_used: bool,
    no_flock: bool,
    held: bool,
    /// The holder line: of the live holder when held, else of the last one.
    holder: String,
    pids: Vec<String>,
    stopped: Vec<String>,
}

fn parse(report: &str) -> LockState {
    let mut state = LockState::default();
    for line in report.lines() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "none" => state.never_used = true,
            "no-flock" => state.no_flock = true,
            "free" => rest.clone_into(&mut state.holder),
            "held" => {
                state.held = true;
                rest.clone_into(&mut state.holder);
            }
            "pid" => state.pids.push(rest.to_owned()),
            "stopped" => state.stopped.push(rest.to_owned()),
            _ => {}
        }
    }
    state
}

pub async fn run(settings: LockSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let path = build_path(&config)?;
    let target = crate::node::resolve(&config).await?;
    let node = connect(&target, &settings.reach, &printer).await?;
    let force = settings.action == (LockAction::Release { force: true });
    let result = query(node.as_ref(), &path, force).await;
    node.close().await;
    let state = result?;
    report(&printer, &path, node.label(), settings.action, &state)
}

async fn query(node: &dyn RemoteNode, path: &str, force: bool) -> Result<LockState, Failure> {
    let mode = if force { "force" } else { "look" };
    let command = RemoteCommand::new("sh").args(["-c", SCRIPT, "sh", path, mode]);
    let report = node.capture(&command).await.map_err(|e| {
        Failure::new(
            Exit::Sync,
            anyhow!("cannot read the build lock of {path}: {e}"),
        )
    })?;
    Ok(parse(&report))
}

fn report(
    printer: &Printer,
    path: &str,
    node: &str,
    action: LockAction,
    state: &LockState,
) -> Result<Exit, Failure> {
    if state.no_flock {
        printer.data(&format!(
            "{path} on {node}: flock is not installed there, so builds of it are not locked"
        ));
        return Ok(Exit::Success);
    }
    if state.never_used {
        printer.data(&format!(
            "{path} on {node}: not locked (no build has run here)"
        ));
        return Ok(Exit::Success);
    }
    let holder = if state.holder.is_empty() {
        "unknown".to_owned()
    } else {
        state.holder.clone()
    };
    if state.held {
        let pids = state.pids.join(", ");
        let line = format!("{path} on {node}: locked by {holder} (node process {pids})");
        return match action {
            LockAction::Status => {
                printer.data(&line);
                Ok(Exit::Success)
            }
            LockAction::Release { .. } => Err(Failure::new(
                Exit::Sync,
                anyhow!(
                    "{line}; the holder is still running, so the lock was not released \
                     (`ops lock release --force` stops it)"
                ),
            )),
        };
    }
    match (action, state.stopped.is_empty()) {
        (LockAction::Release { .. }, false) => printer.data(&format!(
            "{path} on {node}: released; stopped node process {} (held by {holder})",
            state.stopped.join(", ")
        )),
        (LockAction::Release { .. }, true) => printer.data(&format!(
            "{path} on {node}: not locked, nothing to release (last held by {holder})"
        )),
        (LockAction::Status, _) => printer.data(&format!(
            "{path} on {node}: not locked (last held by {holder})"
        )),
    }
    Ok(Exit::Success)
}

fn build_path(config: &Config) -> Result<String, Failure> {
    let Some(build) = &config.build else {
        // No [build] at all: the error can only point at the file.
        return Err(ConfigError::missing(config.top(), "build.path").into());
    };
    Ok(crate::pipeline::build_path(build)?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_lists_its_holder_and_processes() {
        let state = parse("held alice@laptop pid 7 since T: ops build\npid 120\npid 121\n");
        assert!(state.held);
        assert_eq!(state.holder, "alice@laptop pid 7 since T: ops build");
        assert_eq!(state.pids, ["120", "121"]);
    }

    #[test]
    fn a_forced_release_reports_what_it_stopped() {
        let state = parse("stopped 120\nfree alice@laptop pid 7\n");
        assert!(!state.held);
        assert_eq!(state.stopped, ["120"]);
        assert_eq!(state.holder, "alice@laptop pid 7");
    }

    #[test]
    fn releasing_a_live_holder_without_force_is_refused() {
        let printer = Printer::new(
            crate::output::Format::Json,
            crate::output::Verbosity::Quiet,
            crate::output::Redactor::new(),
        );
        let state = parse("held bob@ci pid 9\npid 55\n");
        let refused = report(
            &printer,
            "/b",
            "n",
            LockAction::Release { force: false },
            &state,
        )
        .unwrap_err();
        assert_eq!(refused.exit, Exit::Sync);
        let message = format!("{:#}", refused.error);
        assert!(message.contains("bob@ci pid 9"), "{message}");
        assert!(message.contains("--force"), "{message}");
    }
}
