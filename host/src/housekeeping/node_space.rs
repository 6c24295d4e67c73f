//! The node's side of housekeeping that is no builder's: scratch
//! directories of runs that are over, and the space the build path and the
//! filesystems take. Fixed `sh -c` scripts; every value is an argument.

use crate::remote::{RemoteCommand, RemoteError, RemoteNode};

/// `$1`: `1` for a dry run. A run is live while its reaper's process is
/// (`ops-run-*/reaper`); the scratch roots it listed are then kept. Any
/// other scratch root of this user (a name `mktemp` made, not a symlink)
/// that has not changed for 10 minutes belonged to a run that is over; so
/// does a run directory whose reaper is gone (one without a pid yet only
/// when old: a run is starting). Prints `run DIR` and `scratch DIR` for
/// each, removed unless dry.
const STALE: &str = r#"t=${TMPDIR:-/tmp}
live=
for r in "$t"/ops-run-*; do
	[ -d "$r" ] && [ ! -L "$r" ] && [ -O "$r" ] || continue
	p=$(cat "$r/reaper" 2>/dev/null)
	case $p in '' | *[!0-9]*) p= ;; esac
	if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
		[ -f "$r/scratch" ] && live="$live
$(cat "$r/scratch")"
		continue
	fi
	[ -n "$p" ] || [ -n "$(find "$r" -maxdepth 0 -mmin +10)" ] || continue
	printf 'run %s\n' "$r"
	[ "$1" = 1 ] || rm -rf -- "$r"
done
for d in "$t"/ops.??????????; do
	[ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || continue
	printf '%s\n' "$live" | grep -qxF -- "$d" && continue
	[ -n "$(find "$d" -maxdepth 0 -mmin +10)" ] || continue
	printf 'scratch %s\n' "$d"
	[ "$1" = 1 ] || rm -rf -- "$d"
done"#;

/// `$1`: the build path, `$2`: the builder's storage or empty. Prints
/// `path KIB` (`-` when missing), `free AVAIL_KIB SIZE_KIB MOUNT` for the
/// build path's filesystem (of its nearest existing folder) and `store
/// AVAIL_KIB SIZE_KIB MOUNT` for the builder's.
const SPACE: &str = r#"if [ -d "$1" ]; then
	printf 'path %s\n' "$(du -sk -- "$1" 2>/dev/null | cut -f1)"
else
	echo 'path -'
fi
d=$1
while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done
df -Pk -- "$d" | awk 'NR == 2 { print "free", $4, $2, $6 }'
if [ -n "$2" ] && [ -d "$2" ]; then
	df -Pk -- "$2" | awk 'NR == 2 { print "store", $4, $2, $6 }'
fi"#;

/// What [`stale_scratch`] found (and removed unless dry).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stale {
    pub runs: Vec<String>,
    pub scratch: Vec<String>,
}

/// Finds, and unless `dry_run` removes, the scratch and run directories of
/// runs that are over.
pub async fn stale_scratch(node: &dyn RemoteNode, dry_run: bool) -> Result<Stale, RemoteError> {
    let flag = if dry_run { "1" } else { "0" };
    let out = node
        .capture(&RemoteCommand::new("sh").args(["-c", STALE, "ops-prune", flag]))
        .await?;
    let mut stale = Stale::default();
    for line in out.lines() {
        if let Some(dir) = line.strip_prefix("run ") {
            stale.runs.push(dir.to_owned());
        } else if let Some(dir) = line.strip_prefix("scratch ") {
            stale.scratch.push(dir.to_owned());
        }
    }
    Ok(stale)
}

/// A filesystem's free space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub available: u64,
    pub size: u64,
    pub mount: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Space {
    /// Bytes under the build path; `None` when it does not exist.
    pub build_path: Option<u64>,
    pub build_fs: Option<Filesystem>,
    pub store_fs: Option<Filesystem>,
}

pub async fn space(
    node: &dyn RemoteNode,
    build_path: &str,
    store: Option<&str>,
) -> Result<Space, RemoteError> {
    let out = node
        .capture(&RemoteCommand::new("sh").args([
            "-c",
            SPACE,
            "ops-df",
            build_path,
            store.unwrap_or_default(),
        ]))
        .await?;
    Ok(parse_space(&out))
}

fn parse_space(out: &str) -> Space {
    let kib = |s: &str| s.parse::<u64>().ok().map(|k| k.saturating_mul(1024));
    let fs = |rest: &str| {
        let mut parts = rest.splitn(3, ' ');
        Some(Filesystem {
            available: kib(parts.next()?)?,
            size: kib(parts.next()?)?,
            mount: parts.next()?.to_owned(),
        })
    };
    let mut space = Space::default();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("path ") {
            space.build_path = kib(rest.trim());
        } else if let Some(rest) = line.strip_prefix("free ") {
            space.build_fs = fs(rest);
        } else if let Some(rest) = line.strip_prefix("store ") {
            space.store_fs = fs(rest);
        }
    }
    space
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_space_script() {
        let space = parse_space("path 12\nfree 100 2000 /\nstore 50 400 /var/lib\n");
        assert_eq!(space.build_path, Some(12 * 1024));
        let build = space.build_fs.unwrap();
        assert_eq!((build.available, build.size), (100 * 1024, 2000 * 1024));
        assert_eq!(space.store_fs.unwrap().mount, "/var/lib");
        let missing = parse_space("path -\nfree x 1 /\n");
        assert_eq!((missing.build_path, missing.build_fs), (None, None));
    }
}
