//! "A newer version in range exists": said at most once per plugin per
//! [`INTERVAL`], remembered in the user's state folder
//! (`$XDG_STATE_HOME/ops/notices`, else `~/.local/state/ops/notices`), a
//! file of `name seconds` lines, mode 0600, replaced atomically. A file
//! that cannot be read or written only means the line is said again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most one notice per plugin this often.
pub const INTERVAL: Duration = Duration::from_secs(14 * 24 * 3600);
/// Plugins remembered at most (the oldest are forgotten first).
const MAX_ENTRIES: usize = 256;

/// The notices file, from the environment.
pub fn path_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = match env("XDG_STATE_HOME").filter(|d| Path::new(d).is_absolute()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME").filter(|h| !h.is_empty())?).join(".local/state"),
    };
    Some(base.join("ops/notices"))
}

/// Whether the notice for `plugin` is due at `now`; when it is, `now` is
/// recorded as its last time.
pub fn take(file: &Path, plugin: &str, now: SystemTime) -> bool {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut entries: Vec<(String, u64)> = std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (name, at) = l.split_once(' ')?;
            Some((name.to_owned(), at.parse().ok()?))
        })
        .collect();
    let now_s = secs(now);
    if let Some((_, last)) = entries.iter().find(|(n, _)| n == plugin) {
        if now_s.saturating_sub(*last) < INTERVAL.as_secs() && *last <= now_s {
            return false;
        }
    }
    entries.retain(|(n, _)| n != plugin);
    entries.push((plugin.to_owned(), now_s));
    entries.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
    entries.truncate(MAX_ENTRIES);
    let text: String = entries
        .iter()
        .map(|(n, at)| format!("{n} {at}\n"))
        .collect();
    let _ = write(file, text.as_bytes());
    true
}

fn write(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // NamedTempFile is created 0600 and renamed over the file.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn once_per_plugin_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ops/notices");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(take(&file, "acme", t0));
        assert!(!take(&file, "acme", t0 + Duration::from_secs(3600)));
        assert!(take(&file, "other", t0 + Duration::from_secs(3600)));
        assert!(!take(&file, "acme", t0 + INTERVAL - Duration::from_secs(1)));
        assert!(take(&file, "acme", t0 + INTERVAL));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A clock set back does not silence it for ever.
        assert!(take(&file, "other", t0 - Duration::from_secs(10)));
    }

    #[test]
    fn the_state_folder() {
        let env = |m: &'static [(&str, &str)]| {
            move |k: &str| {
                m.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            path_from_env(&env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.local/state/ops/notices"))
        );
        assert_eq!(
            path_from_env(&env(&[("HOME", "/home/u"), ("XDG_STATE_HOME", "/s")])),
            Some(PathBuf::from("/s/ops/notices"))
        );
        assert_eq!(path_from_env(&env(&[])), None);
    }
}
