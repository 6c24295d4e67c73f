//! The rsync command line for a push sync.

/// Why a pattern cannot be an rsync filter rule, if it cannot.
pub fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.trim().is_empty() {
        return Err("is empty");
    }
    if pattern.contains(['\n', '\r']) {
        return Err("contains a line break");
    }
    Ok(())
}

/// Arguments for `rsync` copying `source` (a local directory) to `dest` on
/// `host` through the remote-shell program `rsh`.
///
/// - `-a` keeps modes and times, `-z` compresses, `--delete` removes files
///   deleted locally, and `--delete-excluded` is deliberately absent so that
///   what the filters exclude (a warm `target/`) survives on the node.
/// - `.gitignore` files at every level become per-directory filter rules;
///   `.git` (the repository, or a submodule's link file) never travels.
/// - `--no-inc-recursive` sends the whole file list at once: with
///   incremental recursion each directory's list is a turn of its own,
///   which at a distance costs a round trip's worth many times over on a
///   re-sync where nothing changed (about half of its time at 50 ms on
///   10,000 files, docs/benchmarks.md).
/// - `--stats` ends the output with the counts the sync reports.
/// - Every user pattern is an explicit `--exclude=` rule, so that a
///   pattern starting with `-` or `+` is not read as a filter command.
/// - `--rsync-path` creates the destination on the node in the same remote
///   command that starts rsync there, saving a round trip (rsync hands that
///   value to the remote shell unescaped, hence the quoting).
pub fn rsync_args(
    rsh: &str,
    source: &str,
    host: &str,
    dest: &str,
    excludes: &[String],
) -> Vec<String> {
    let mut args = vec![
        format!(
            "--rsync-path=mkdir -p -- {} && rsync",
            ops_plugin_sdk::sh_quote(dest)
        ),
        "-az".to_owned(),
        "--no-inc-recursive".to_owned(),
        "--delete".to_owned(),
        "--stats".to_owned(),
        "--filter=:- .gitignore".to_owned(),
        "--exclude=.git".to_owned(),
    ];
    args.extend(excludes.iter().map(|p| format!("--exclude={p}")));
    args.push("--rsh".to_owned());
    args.push(rsh.to_owned());
    // The trailing slash copies the directory's contents, not the directory.
    let mut source = source.to_owned();
    if !source.ends_with('/') {
        source.push('/');
    }
    args.push("--".to_owned());
    args.push(source);
    args.push(format!("{host}:{dest}"));
    args
}

/// What rsync's `--stats` says about a run: files transferred and bytes
/// sent, when it says so.
pub fn parse_stats(stdout: &str) -> (Option<u64>, Option<u64>) {
    let number = |line: &str, label: &str| -> Option<u64> {
        let rest = line.strip_prefix(label)?.trim();
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .filter(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let mut files = None;
    let mut sent = None;
    for line in stdout.lines() {
        files = files.or_else(|| number(line, "Number of regular files transferred:"));
        sent = sent.or_else(|| number(line, "Total bytes sent:"));
    }
    (files, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_contents_with_delete_and_gitignore() {
        let args = rsync_args("ops-rsh", "/home/u/proj", "node", "/opt/builds/p", &[]);
        assert_eq!(
            args,
            [
                "--rsync-path=mkdir -p -- /opt/builds/p && rsync",
                "-az",
                "--no-inc-recursive",
                "--delete",
                "--stats",
                "--filter=:- .gitignore",
                "--exclude=.git",
                "--rsh",
                "ops-rsh",
                "--",
                "/home/u/proj/",
                "node:/opt/builds/p",
            ]
        );
    }

    #[test]
    fn user_excludes_are_literal_rules() {
        let excludes = vec!["target/".to_owned(), "- evil".to_owned()];
        let args = rsync_args("r", "/p/", "h", "/d", &excludes);
        assert!(args.contains(&"--exclude=target/".to_owned()));
        assert!(args.contains(&"--exclude=- evil".to_owned()));
        assert!(!args.contains(&"--delete-excluded".to_owned()));
        assert_eq!(args.iter().filter(|a| a.as_str() == "/p/").count(), 1);
    }

    #[test]
    fn destination_is_quoted_for_the_remote_shell() {
        let args = rsync_args("r", "/p", "h", "/b/it's $(id)", &[]);
        assert_eq!(
            args[0],
            r#"--rsync-path=mkdir -p -- "/b/it's "'$(id)' && rsync"#
        );
    }

    #[test]
    fn stats() {
        let out = "Number of files: 12 (reg: 10, dir: 2)\nNumber of regular files transferred: 3\n\
                   Total bytes sent: 1,234\nTotal bytes received: 99\n";
        assert_eq!(parse_stats(out), (Some(3), Some(1234)));
        assert_eq!(parse_stats("nothing"), (None, None));
    }

    #[test]
    fn bad_patterns() {
        assert!(check_pattern("").is_err());
        assert!(check_pattern("a\nb").is_err());
        assert!(check_pattern("*.log").is_ok());
    }
}
