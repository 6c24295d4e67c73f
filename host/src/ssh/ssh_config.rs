//! ssh_config files parsed and evaluated the way OpenSSH's `readconf.c`
//! does, for the options ops uses: `Host` and `Match` blocks (patterns,
//! negation, `all`, `host`, `originalhost`, `user`, `localuser`), `Include`
//! with globs and paths relative to `~/.ssh`, `Keyword value` and
//! `Keyword=value`, quoting, trailing comments, first value wins.

use std::path::{Path, PathBuf};

use super::error::SshError;
use super::pattern::{match_list, matches, ListMatch};

/// OpenSSH's `READCONF_MAX_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One parsed file: its lines in order, includes already read.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
enum Statement {
    /// Lowercased keyword and its arguments.
    Option(String, Vec<String>),
    /// `Include`: every file its globs matched, in glob order.
    Include(Vec<ConfigFile>),
}

impl ConfigFile {
    /// Reads `path`; `ssh_dir` is where relative `Include`s point.
    pub fn read(path: &Path, ssh_dir: &Path, home: &Path) -> Result<ConfigFile, SshError> {
        read_depth(path, ssh_dir, home, 0)
    }

    #[cfg(test)]
    pub fn parse(text: &str, ssh_dir: &Path, home: &Path) -> Result<ConfigFile, SshError> {
        parse_depth(Path::new("ssh_config"), text, ssh_dir, home, 0)
    }

    /// Every non-negated word of every `Host` line, includes too.
    pub fn host_words(&self, out: &mut Vec<String>) {
        for statement in &self.statements {
            match statement {
                Statement::Option(keyword, args) if keyword == "host" => {
                    out.extend(args.iter().filter(|a| !a.starts_with('!')).cloned());
                }
                Statement::Include(files) => files.iter().for_each(|f| f.host_words(out)),
                Statement::Option(..) => {}
            }
        }
    }

    /// Applies the file to `state` for the host it was made for.
    pub fn evaluate(&self, state: &mut State) {
        let mut active = true;
        self.evaluate_in(state, &mut active, false);
    }

    fn evaluate_in(&self, state: &mut State, active: &mut bool, never_match: bool) {
        for statement in &self.statements {
            match statement {
                Statement::Include(files) => {
                    // readconf.c: an Include in a block that does not apply
                    // reads the files with SSHCONF_NEVERMATCH, and the
                    // including block's state is restored afterwards.
                    let outer = *active;
                    for file in files {
                        file.evaluate_in(state, active, never_match || !outer);
                        *active = outer;
                    }
                }
                Statement::Option(keyword, args) if keyword == "host" => {
                    *active = !never_match && host_line_matches(&state.host_arg, args);
                }
                Statement::Option(keyword, args) if keyword == "match" => {
                    *active = !never_match && state.match_line(args);
                }
                Statement::Option(keyword, args) if *active => state.set(keyword, args),
                Statement::Option(..) => {}
            }
        }
    }
}

fn read_depth(
    path: &Path,
    ssh_dir: &Path,
    home: &Path,
    depth: usize,
) -> Result<ConfigFile, SshError> {
    let text = crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE).map_err(
        |err| SshError::SshConfig {
            path: path.to_path_buf(),
            message: err.to_string(),
        },
    )?;
    parse_depth(path, &text, ssh_dir, home, depth)
}

fn parse_depth(
    path: &Path,
    text: &str,
    ssh_dir: &Path,
    home: &Path,
    depth: usize,
) -> Result<ConfigFile, SshError> {
    let error = |line: usize, message: String| SshError::SshConfig {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let mut statements = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some((keyword, args)) = split_line(line).map_err(|m| error(index + 1, m))? else {
            continue;
        };
        if keyword != "include" {
            statements.push(Statement::Option(keyword, args));
            continue;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(error(index + 1, "Include nested too deeply".into()));
        }
        let mut files = Vec::new();
        for arg in &args {
            for found in include_paths(arg, ssh_dir, home) {
                files.push(read_depth(&found, ssh_dir, home, depth + 1)?);
            }
        }
        statements.push(Statement::Include(files));
    }
    Ok(ConfigFile { statements })
}

/// `Include` argument to files: `~` expanded, relative to `~/.ssh`, glob
/// patterns in the last component matched in sorted order as glob(3)
/// returns them; a pattern matching nothing is no error.
fn include_paths(arg: &str, ssh_dir: &Path, home: &Path) -> Vec<PathBuf> {
    let expanded = super::host_config::expand_tilde(arg, home);
    let full = if expanded.is_absolute() {
        expanded
    } else {
        ssh_dir.join(expanded)
    };
    let mut out = vec![PathBuf::from("/")];
    for component in full.components().skip(1) {
        let part = component.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for dir in &out {
            if !part.contains(['*', '?']) {
                next.push(dir.join(&*part));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // glob(3) leaves dot files to patterns that start with a dot.
                .filter(|n| matches(n, &part) && (!n.starts_with('.') || part.starts_with('.')))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        out = next;
    }
    out.into_iter().filter(|p| p.is_file()).collect()
}

/// Keyword (lowercased) and arguments, or `None` for blank and comment
/// lines. Quotes group words; an unquoted word starting with `#` ends the
/// line.
fn split_line(line: &str) -> Result<Option<(String, Vec<String>)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..end].to_ascii_lowercase();
    let mut rest = line[end..].trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start();
    }
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c.is_whitespace() => break,
                _ => word.push(c),
            }
            chars.next();
        }
        if quote.is_some() {
            return Err("unterminated quote".into());
        }
        args.push(word);
    }
    Ok(Some((keyword, args)))
}

/// `Host` line: some pattern matches and no negated one does
/// (`match_pattern`, case-sensitive, on the lowercased host argument).
fn host_line_matches(host: &str, patterns: &[String]) -> bool {
    let mut hit = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if matches(host, negated) => return false,
            Some(_) => {}
            None => hit |= matches(host, pattern),
        }
    }
    hit
}

/// What the evaluation has collected so far, first value of each option.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The host argument as given: what `Host` lines match, case
    /// sensitively.
    pub host_arg: String,
    /// The same lowercased: what `Match originalhost` compares.
    pub host: String,
    pub local_user: String,
    pub options: std::collections::BTreeMap<String, Vec<String>>,
    /// Options that accumulate over lines (`IdentityFile`,
    /// `CertificateFile`).
    pub lists: std::collections::BTreeMap<String, Vec<String>>,
}

const ACCUMULATING: &[&str] = &["identityfile", "certificatefile"];

impl State {
    pub fn new(host: &str, local_user: &str) -> State {
        State {
            host_arg: host.to_owned(),
            host: host.to_ascii_lowercase(),
            local_user: local_user.to_owned(),
            ..State::default()
        }
    }

    /// Sets an option unless it already has a value (first value wins).
    pub fn set(&mut self, keyword: &str, args: &[String]) {
        if args.is_empty() {
            return;
        }
        if ACCUMULATING.contains(&keyword) {
            self.lists
                .entry(keyword.to_owned())
                .or_default()
                .push(args[0].clone());
        } else {
            self.options
                .entry(keyword.to_owned())
                .or_insert_with(|| args.to_vec());
        }
    }

    pub fn first(&self, keyword: &str) -> Option<&str> {
        self.options
            .get(keyword)
            .and_then(|a| a.first())
            .map(String::as_str)
    }

    /// `HostName` so far with `%h` expanded, else the host argument,
    /// lowercased: what `Match host` compares and, at the end, the host
    /// name ssh connects to.
    pub fn current_host(&self) -> String {
        match self.first("hostname") {
            Some(name) => expand_hostname(name, &self.host_arg).to_ascii_lowercase(),
            None => self.host.clone(),
        }
    }

    /// `Match` criteria, all of which must hold, each possibly negated
    /// with `!`. Criteria ops cannot
    /// evaluate the way ssh does (`exec`, `canonical`, `final`,
    /// `localnetwork`, `tagged`) make the block not apply.
    fn match_line(&self, args: &[String]) -> bool {
        let mut all = true;
        let mut words = args.iter();
        while let Some(word) = words.next() {
            // `!criterion` inverts it, as readconf.c's match_cfg_line does.
            let (negate, criterion) = match word.strip_prefix('!') {
                Some(rest) => (true, rest.to_ascii_lowercase()),
                None => (false, word.to_ascii_lowercase()),
            };
            if criterion == "all" {
                all &= !negate;
                continue;
            }
            let Some(arg) = words.next() else {
                return false;
            };
            let hit = match criterion.as_str() {
                "host" => match_list(&self.current_host(), arg, true) == ListMatch::Yes,
                "originalhost" => match_list(&self.host, arg, true) == ListMatch::Yes,
                "user" => {
                    let user = self.first("user").unwrap_or(&self.local_user);
                    match_list(user, arg, false) == ListMatch::Yes
                }
                "localuser" => match_list(&self.local_user, arg, false) == ListMatch::Yes,
                // Not evaluated (see above): the block does not apply,
                // negated or not.
                _ => return false,
            };
            all &= hit != negate;
        }
        all
    }
}

/// `%h` (the host argument) and `%%` in `HostName`.
pub fn expand_hostname(value: &str, host: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('%', Some('h')) => {
                out.push_str(host);
                chars.next();
            }
            ('%', Some('%')) => {
                out.push('%');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Option<(String, Vec<String>)> {
        split_line(line).unwrap()
    }

    #[test]
    fn lines_as_readconf_splits_them() {
        assert_eq!(words("  # comment"), None);
        assert_eq!(words(""), None);
        let w =
            |k: &str, a: &[&str]| Some((k.to_owned(), a.iter().map(|s| s.to_string()).collect()));
        assert_eq!(words("Port=2222"), w("port", &["2222"]));
        assert_eq!(words("Port = 2222"), w("port", &["2222"]));
        assert_eq!(words("User \"a b\" # note"), w("user", &["a b"]));
        assert_eq!(words("IdentityFile 'x y'z"), w("identityfile", &["x yz"]));
        assert!(split_line("User \"open").is_err());
    }

    #[test]
    fn host_lines_need_a_positive_match_and_no_negated_one() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(host_line_matches("a.corp", &p(&["*.corp", "!b.corp"])));
        assert!(!host_line_matches("b.corp", &p(&["*.corp", "!b.corp"])));
        assert!(!host_line_matches("a.corp", &p(&["!b.corp"])));
        // Case-sensitive, unlike Match and known_hosts.
        assert!(!host_line_matches("A.corp", &p(&["a.corp"])));
    }

    #[test]
    fn include_depth_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop");
        std::fs::write(&path, format!("Include {}\n", path.display())).unwrap();
        let err = ConfigFile::read(&path, dir.path(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("nested too deeply"), "{err}");
    }
}
