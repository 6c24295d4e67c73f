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

    let existing = git.has_repository()?;
    if existing {
        git.run(&["remote", "set-url", "origin", &config.repo], false, None)?;
        git.run(
            &["fetch", "--prune", "--tags", "--force", "origin"],
            true,
            Some("git"),
        )?;
    } else {
        git.clone(&config.repo)?;
    }

    let (what, commit) = match (&request.git_ref, &request.branch) {
        (Some(r), _) => (r.clone(), git.resolve_ref(r, &config.repo)?),
        (None, Some(branch)) => {
            let commit = git
                .rev_parse(&format!("refs/remotes/origin/{branch}"))?
                .ok_or_else(|| {
                    format!(
                        "branch `{branch}` (build.branch) not found in {}",
                        config.repo
                    )
                })?;
            (branch.clone(), commit)
        }
        (None, None) => {
            if existing {
                // A fetch does not move refs/remotes/origin/HEAD, so a
                // default branch changed since the clone would be missed.
                git.run(&["remote", "set-head", "origin", "--auto"], true, None)?;
            }
            let branch = git.default_branch()?;
            let commit = git
                .rev_parse(&format!("refs/remotes/origin/{branch}"))?
                .ok_or_else(|| {
                    format!(
                        "the default branch `{branch}` of {} has no commit",
                        config.repo
                    )
                })?;
            (branch, commit)
        }
    };

    git.run(&["checkout", "--force", "--detach", &commit], false, None)?;
    git.run(&["reset", "--hard", &commit], false, None)?;
    // Untracked files go, ignored ones (target/, node_modules/) stay warm.
    git.run(&["clean", "-ffd"], false, None)?;
    git.run(&["submodule", "sync", "--recursive"], false, None)?;
    // Since git 2.38.1 submodules may not use the file transport unless
    // allowed, which breaks relative submodule URLs of an origin that is a
    // path on the node. The user chose that path, so its neighbours are as
    // trusted as the origin itself; other origins keep git's default.
    let mut update = Vec::new();
    if config.kind == UrlKind::Local {
        update.extend(["-c", "protocol.file.allow=always"]);
    }
    update.extend(["submodule", "update", "--init", "--recursive", "--force"]);
    git.run(&update, true, Some("git"))?;

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

struct Git<'a> {
    path: &'a str,
    auth: &'a [(String, String)],
}

impl Git<'_> {
    fn has_repository(&self) -> Result<bool, String> {
        let out = exec(ExecRequest {
            program: "test".into(),
            args: vec!["-d".into(), format!("{}/.git", self.path)],
            env: Vec::new(),
            cwd: None,
            stdin: None,
            label: None,
        })?;
        Ok(matches!(out.status, ExitStatus::Code(0)))
    }

    fn clone(&self, repo: &str) -> Result<(), String> {
        let out = exec(ExecRequest {
            program: "git".into(),
            args: [
                "clone",
                "--no-checkout",
                "--origin",
                "origin",
                "--",
                repo,
                self.path,
            ]
            .map(String::from)
            .to_vec(),
            env: self.auth.to_vec(),
            cwd: None,
            stdin: None,
            label: Some("git".into()),
        })?;
        check(&out, "git clone")
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
        if sha.len() < 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
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

fn exec(request: ExecRequest) -> Result<ExecOutput, String> {
    node::exec(&request)
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
