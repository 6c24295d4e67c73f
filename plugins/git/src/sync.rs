//! The sync itself: clone or fetch, resolve the ref, check out, reset.

use crate::config::{GitConfig, UrlKind};
use crate::exports::ops::plugin::sync::{SyncOutcome, SyncRequest};
use crate::ops::plugin::node;
use crate::ops::plugin::types::{ExecOutput, ExecRequest, ExitStatus};

pub fn run(config: &GitConfig, request: &SyncRequest) -> Result<SyncOutcome, String> {
    for (what, value) in [
        ("--ref", &request.git_ref),
        ("build.branch", &request.branch),
    ] {
        if let Some(value) = value {
            check_ref_name(what, value)?;
        }
    }
    let auth = crate::auth::environment(config)?;
    let git = Git {
        path: &request.path,
        auth: &auth,
    };

    // What the fetch's own script resolves, to spare a round trip each.
    let want = match (&request.git_ref, &request.branch) {
        (Some(_), _) => String::new(),
        (None, Some(branch)) => format!("refs/remotes/origin/{branch}"),
        (None, None) => DEFAULT_BRANCH.to_owned(),
    };
    // Since git 2.38.1 submodules may not use the file transport unless
    // allowed, which breaks relative submodule URLs of an origin that is a
    // path on the node. The user chose that path, so its neighbours are as
    // trusted as the origin itself; other origins keep git's default.
    let file_transport: &[&str] = if config.kind == UrlKind::Local {
        &["-c", "protocol.file.allow=always"]
    } else {
        &[]
    };
    let fetched = git.fetch_or_clone(&config.repo, &want, file_transport)?;

    let (what, commit) = match (&request.git_ref, &request.branch) {
        (Some(r), _) => (r.clone(), git.resolve_ref(r, &config.repo)?),
        (None, Some(branch)) => {
            let commit = fetched.commit.ok_or_else(|| {
                format!(
                    "branch `{branch}` (build.branch) not found in {}",
                    config.repo
                )
            })?;
            (branch.clone(), commit)
        }
        (None, None) => {
            let branch = match fetched.branch {
                Some(branch) => branch,
                None => git.default_branch()?,
            };
            let commit = match fetched.commit {
                Some(commit) => Some(commit),
                None => git.rev_parse(&format!("refs/remotes/origin/{branch}"))?,
            };
            let commit = commit.ok_or_else(|| {
                format!(
                    "the default branch `{branch}` of {} has no commit",
                    config.repo
                )
            })?;
            (branch, commit)
        }
    };

    if fetched.checked_out.as_deref() != Some(commit.as_str()) {
        git.check_out(&commit, file_transport)?;
    }
    let short = &commit[..commit.len().min(12)];
    Ok(SyncOutcome {
        summary: format!("{what} @ {short}"),
        commit: Some(commit),
    })
}

/// A ref must not be mistaken for an option, and git refuses control
/// characters anyway; a clear error beats git's.
fn check_ref_name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.starts_with('-') || value.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!("{what} {value:?} is not a valid git ref"));
    }
    Ok(())
}

/// What FETCH_OR_CLONE prints first when the clone exists.
const UPDATING: &str = "updating the existing clone";
/// FETCH_OR_CLONE's `$3` for "the remote's default branch".
const DEFAULT_BRANCH: &str = "ops:default-branch";

/// The checkout of `$commit` in `$p`: tracked files reset, untracked ones
/// removed, ignored ones such as target/ kept warm, submodules updated with
/// `"$@"` as git options. Shared by both scripts below. An index.lock found
/// first is stale: a git stopped mid-checkout (a run cut short) leaves it,
/// and no other run can be in `$p` while this one holds the build lock.
macro_rules! check_out_steps {
    () => {
        r#"{ [ ! -e "$p/.git/index.lock" ] || { echo "removing a stale $p/.git/index.lock, left by a git that was stopped"; rm -f -- "$p/.git/index.lock"; }; } &&
    git -C "$p" checkout --quiet --force --detach "$commit" &&
    git -C "$p" reset --quiet --hard "$commit" &&
    git -C "$p" clean -ffdq &&
    git -C "$p" submodule --quiet sync --recursive &&
    git -C "$p" "$@" submodule update --init --recursive --force"#
    };
}

/// Fetches or clones, then resolves `$3` in the same round trip: a ref, or
/// the remote's default branch (a fetch does not move
/// refs/remotes/origin/HEAD, so an existing clone asks the remote again).
/// Prints `ops-branch NAME` and `ops-commit SHA` for what it resolved, and
/// checks that commit out there and then (`ops-checked-out SHA`), so that a
/// branch build syncs in one round trip. `$4...` are the submodule
/// update's git options.
const FETCH_OR_CLONE: &str = concat!(
    r#"p=$1 repo=$2 want=$3
shift 3
if [ -d "$p/.git" ]; then
    echo "updating the existing clone in $p"
    git -C "$p" remote set-url origin "$repo" || exit
    git -C "$p" fetch --prune --tags --force origin || exit
    if [ "$want" = ops:default-branch ]; then
        git -C "$p" remote set-head origin --auto >/dev/null || exit
    fi
else
    git clone --no-checkout --origin origin -- "$repo" "$p" || exit
fi
if [ "$want" = ops:default-branch ]; then
    want=$(git -C "$p" symbolic-ref --quiet refs/remotes/origin/HEAD) || exit 0
    echo "ops-branch ${want#refs/remotes/origin/}"
fi
if [ -n "$want" ] && commit=$(git -C "$p" rev-parse --verify --quiet "$want^{commit}"); then
    echo "ops-commit $commit"
    echo "ops-checking-out $commit"
    "#,
    check_out_steps!(),
    r#" || exit
    echo "ops-checked-out $commit"
fi
exit 0"#
);

/// What the fetch resolved, and checked out, on the way.
struct Fetched {
    branch: Option<String>,
    commit: Option<String>,
    checked_out: Option<String>,
}

/// The checkout on its own, for `--ref` (resolved after the fetch).
const CHECK_OUT: &str = concat!("p=$1 commit=$2\nshift 2\n", check_out_steps!());

struct Git<'a> {
    path: &'a str,
    auth: &'a [(String, String)],
}

impl Git<'_> {
    /// Fetches into the existing clone at the path, or clones there,
    /// resolves `want` and checks it out (see FETCH_OR_CLONE); one round
    /// trip.
    fn fetch_or_clone(
        &self,
        repo: &str,
        want: &str,
        submodule_options: &[&str],
    ) -> Result<Fetched, String> {
        let mut args = vec![repo, want];
        args.extend_from_slice(submodule_options);
        let out = self.script(FETCH_OR_CLONE, &args)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let what = match field("ops-checking-out ") {
            Some(commit) => format!("git checkout of {commit}"),
            None if stdout.starts_with(UPDATING) => "git fetch".to_owned(),
            None => "git clone".to_owned(),
        };
        check(&out, &what)?;
        Ok(Fetched {
            branch: field("ops-branch ").filter(|b| !b.is_empty()),
            commit: field("ops-commit ").filter(|sha| is_commit_id(sha)),
            checked_out: field("ops-checked-out ").filter(|sha| is_commit_id(sha)),
        })
    }

    /// Checks out `commit` exactly (tracked files reset, untracked ones
    /// removed, ignored ones such as target/ kept warm) with its
    /// submodules, in one round trip.
    fn check_out(&self, commit: &str, submodule_options: &[&str]) -> Result<(), String> {
        let mut args = vec![commit];
        args.extend_from_slice(submodule_options);
        let out = self.script(CHECK_OUT, &args)?;
        check(&out, &format!("git checkout of {commit}"))
    }

    /// Runs one of the scripts below with `$1` = the path and the rest as
    /// `$2...`, with the credentials' environment and live output.
    fn script(&self, script: &str, args: &[&str]) -> Result<ExecOutput, String> {
        let mut argv = vec!["-c".to_owned(), script.to_owned(), "sh".to_owned()];
        argv.push(self.path.to_owned());
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        exec(ExecRequest {
            program: "sh".into(),
            args: argv,
            env: self.auth.to_vec(),
            cwd: None,
            stdin: None,
            label: Some("git".into()),
            progress: Vec::new(),
        })
    }

    /// `git -C PATH ARGS`; `remote` adds the credentials' environment.
    fn run(&self, args: &[&str], remote: bool, label: Option<&str>) -> Result<ExecOutput, String> {
        let out = self.exec(args, remote, label)?;
        // Name the subcommand, not a leading `-c NAME=VALUE`.
        let sub = match args {
            ["-c", _, sub, ..] => sub,
            [sub, ..] => sub,
            [] => "",
        };
        check(&out, &format!("git {sub}"))?;
        Ok(out)
    }

    fn exec(&self, args: &[&str], remote: bool, label: Option<&str>) -> Result<ExecOutput, String> {
        let mut argv = vec!["-C".to_owned(), self.path.to_owned()];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        exec(ExecRequest {
            program: "git".into(),
            args: argv,
            env: if remote {
                self.auth.to_vec()
            } else {
                Vec::new()
            },
            cwd: None,
            stdin: None,
            label: label.map(String::from),
            progress: Vec::new(),
        })
    }

    /// The commit `rev` names, or None when it names nothing.
    fn rev_parse(&self, rev: &str) -> Result<Option<String>, String> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.exec(&["rev-parse", "--verify", "--quiet", &spec], false, None)?;
        if !matches!(out.status, ExitStatus::Code(0)) {
            return Ok(None);
        }
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !is_commit_id(&sha) {
            return Err(format!("git rev-parse printed {sha:?}, not a commit id"));
        }
        Ok(Some(sha))
    }

    /// `--ref`: a branch on the remote, a tag, or a commit id (fetched by id
    /// when no fetched ref contains it).
    fn resolve_ref(&self, r: &str, repo: &str) -> Result<String, String> {
        // A full ref name means exactly that branch or tag on the remote.
        let candidates = if let Some(branch) = r.strip_prefix("refs/heads/") {
            vec![format!("refs/remotes/origin/{branch}")]
        } else if r.starts_with("refs/tags/") {
            vec![r.to_owned()]
        } else {
            vec![format!("refs/remotes/origin/{r}"), format!("refs/tags/{r}")]
        };
        for candidate in candidates {
            if let Some(sha) = self.rev_parse(&candidate)? {
                return Ok(sha);
            }
        }
        let looks_like_sha = r.len() >= 4 && r.bytes().all(|b| b.is_ascii_hexdigit());
        if looks_like_sha {
            if let Some(sha) = self.rev_parse(r)? {
                return Ok(sha);
            }
            let fetched = self.exec(&["fetch", "--force", "origin", r], true, Some("git"))?;
            if matches!(fetched.status, ExitStatus::Code(0)) {
                if let Some(sha) = self.rev_parse("FETCH_HEAD")? {
                    return Ok(sha);
                }
            }
        }
        Err(format!(
            "ref `{r}` not found in {repo}: it is not a branch, tag or commit there"
        ))
    }

    fn default_branch(&self) -> Result<String, String> {
        for attempt in 0..2 {
            let out = self.exec(
                &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
                false,
                None,
            )?;
            if matches!(out.status, ExitStatus::Code(0)) {
                let full = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if let Some(branch) = full.strip_prefix("refs/remotes/origin/") {
                    return Ok(branch.to_owned());
                }
            }
            if attempt == 0 {
                // A repository cloned long ago may not know the remote's
                // HEAD; ask the remote.
                self.run(&["remote", "set-head", "origin", "--auto"], true, None)?;
            }
        }
        Err("cannot tell the remote's default branch; set build.branch or pass --ref".into())
    }
}

fn is_commit_id(sha: &str) -> bool {
    sha.len() >= 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

fn exec(request: ExecRequest) -> Result<ExecOutput, String> {
    node::exec(&request).map_err(String::from)
}

fn check(out: &ExecOutput, what: &str) -> Result<(), String> {
    match &out.status {
        ExitStatus::Code(0) => Ok(()),
        status => {
            let status = match status {
                ExitStatus::Code(c) => format!("exit code {c}"),
                ExitStatus::Signal(s) => format!("signal SIG{s}"),
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            if tail.is_empty() {
                Err(format!("{what} failed ({status})"))
            } else {
                Err(format!("{what} failed ({status}): {}", tail.join(" | ")))
            }
        }
    }
}
