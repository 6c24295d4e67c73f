//! The session's reaper: everything a run starts on the node ends with the
//! run's SSH session, however the session ends.
//!
//! A command's process group outlives a closed channel (sshd does not kill
//! what it started without a pty), so a dropped connection or a killed ops
//! would leave the build running, beside a build lock that is already free.
//! The reaper is a [held](crate::remote::hold) shell started with the
//! session. Every command's wrapper records its process group in the
//! reaper's directory before it runs the program; ops tells the reaper when
//! a command has ended normally. When the reaper's stdin closes, because
//! ops closes the session or because sshd closes it under a dead
//! connection, it stops every process group still recorded and every
//! process carrying the run's tag ([`TAG_VAR`](super::wrapper::TAG_VAR),
//! which daemons that left their group with `setsid` or a double fork
//! still have): TERM, three seconds, KILL (looking every 10 ms at first:
//! at the end of a run, the lock's and the scratch guardian's processes are
//! leaving at the same moment, and waiting 100 ms for them would cost more
//! than the round trip their release saves). Then it removes the scratch
//! roots that the run's guardians wrote into its directory (only names
//! `mktemp` could have made, owned by the user and not symlinks), in case a
//! guardian was stopped before its own cleanup ended, and its directory.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::remote::{hold, Held, RemoteCommand, RemoteNode};

/// How long closing waits for the reaper to finish.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The reaper's directory for run `id`, as a shell word (the node's
/// `$TMPDIR` is expanded there).
pub(super) fn run_dir(id: &str) -> String {
    format!("\"${{TMPDIR:-/tmp}}/ops-run-{id}\"")
}

/// Shell that records the wrapper's own process group with the reaper of
/// run `id`. It prints nothing and never fails the command: a directory
/// that is not the user's own (or is a symlink) is left alone. `OPS_RUN_DIR` tells whoever
/// finds one of the run's processes (`ops lock release --force`) which
/// reaper to ask to stop the whole run; the reaper's pid is in `reaper`.
pub(super) fn register(id: &str) -> String {
    let dir = run_dir(id);
    format!(
        "r={dir}; export OPS_RUN_DIR=\"$r\"; [ -d \"$r\" ] || mkdir -m 700 \"$r\" 2>/dev/null; \
         [ -O \"$r\" ] && [ ! -L \"$r\" ] && printf '%s\\n' \"$$\" >> \"$r/groups\" 2>/dev/null; "
    )
}

fn script(id: &str) -> String {
    let dir = run_dir(id);
    let run_tags = super::wrapper::tag_pattern(&format!("{id}.")) + ".*";
    let tag_var = super::wrapper::TAG_VAR;
    let stop_tagged = super::wrapper::STOP_TAGGED;
    // The reaper's own children must not carry the run's tag, and its own
    // process group (its wrapper's) is left to the end.
    format!(
        r#"unset {tag_var}
r={dir}
[ -d "$r" ] || mkdir -m 700 "$r" 2>/dev/null
[ -O "$r" ] && [ ! -L "$r" ] || exit 1
: >> "$r/groups"
: >> "$r/ended"
echo "$$" > "$r/reaper"
read -r s < /proc/$$/stat; s=${{s##*) }}; set -- $s; own=$3
{stop_tagged}
reap() {{
  trap '' HUP INT TERM PIPE
  gs=$(sort -u "$r/groups" | grep -vxF -f "$r/ended" | grep -vx -- "$own")
  for g in $gs; do kill -s TERM -- "-$g" 2>/dev/null; done
  __ops_stop '{run_tags}' 30
  n=0
  while [ -n "$gs" ] && [ $n -lt 300 ]; do
    a=; for g in $gs; do kill -s 0 -- "-$g" 2>/dev/null && a=1; done
    [ -z "$a" ] && break
    if [ $n -lt 20 ]; then sleep 0.01; n=$((n+1)); else sleep 0.1; n=$((n+10)); fi
  done
  for g in $gs; do kill -s KILL -- "-$g" 2>/dev/null; done
  t=${{TMPDIR:-/tmp}}
  if [ -f "$r/scratch" ]; then
    while IFS= read -r d; do
      case $d in
        "$t"/ops.??????????) [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] && rm -rf -- "$d" ;;
      esac
    done < "$r/scratch"
  fi
  rm -rf -- "$r"
}}
trap reap EXIT
trap 'exit 1' HUP INT TERM PIPE
echo "ready $own"
while IFS= read -r line; do
  case $line in
    -*) printf '%s\n' "${{line#-}}" >> "$r/ended" ;;
  esac
done"#
    )
}

pub(super) struct Reaper {
    held: Held,
    /// The reaper's own process group, once it said it is up (0 before).
    pgid: Arc<AtomicU32>,
}

impl Reaper {
    /// Starts the reaper of run `id`; nothing waits for it to be up, since
    /// the first command to run creates the directory as well.
    pub(super) fn start(node: Arc<dyn RemoteNode>, id: &str) -> Reaper {
        let command = RemoteCommand::new("sh").args(["-c", &script(id)]).ungated();
        let mut held = hold(node, command);
        let mut lines = held.take_lines();
        let pgid = Arc::new(AtomicU32::new(0));
        let reported = pgid.clone();
        tokio::spawn(async move {
            if let Some(pid) = lines
                .recv()
                .await
                .and_then(|l| l.strip_prefix("ready ")?.parse().ok())
            {
                reported.store(pid, Ordering::SeqCst);
            }
        });
        Reaper { held, pgid }
    }

    /// The reaper's own process group, when known: stopping the run's
    /// commands must leave the reaper to the end, to stop what they leave.
    pub(super) fn pgid(&self) -> Option<u32> {
        Some(self.pgid.load(Ordering::SeqCst)).filter(|p| *p != 0)
    }

    /// Process group `pgid` ended by itself: nothing to stop.
    pub(super) fn forget(&self, pgid: u32) {
        self.held.send_line(&format!("-{pgid}"));
    }

    /// Stops what is left and waits for the directory to be gone.
    pub(super) async fn release(self) {
        let _ = self.held.release(RELEASE_TIMEOUT).await;
    }
}

/// A fresh run id: 16 hex digits. It only has to differ from other runs
/// of this user on the node.
pub(super) fn new_run_id() -> String {
    crate::text::random_hex(8)
}
