//! Running programs on the build node (`remote-exec`) or on the user's
//! machine (`local-exec`), with status checks and bounded output.
//!
//! ```no_run
//! use ops_plugin_sdk::exec::Exec;
//! let out = Exec::remote("git").args(["rev-parse", "HEAD"]).cwd("/opt/b").run()?;
//! let commit = out.stdout_text();
//! # Ok::<(), ops_plugin_sdk::Error>(())
//! ```

use crate::types::{Error, ExecOutput, ExecRequest, ExitStatus};
use crate::{local, node};

/// How much of a failed program's stderr goes into the error message.
const ERROR_TAIL: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Node,
    Local,
}

/// One program to run, built up and then run with [`Exec::run`] (must exit
/// 0) or [`Exec::output`] (any status).
#[derive(Debug, Clone)]
pub struct Exec {
    place: Where,
    request: ExecRequest,
}

impl Exec {
    /// A program on the build node.
    pub fn remote(program: impl Into<String>) -> Exec {
        Exec::new(Where::Node, program.into())
    }

    /// A program on the user's machine; the plugin must declare it in
    /// `local-exec`.
    pub fn local(program: impl Into<String>) -> Exec {
        Exec::new(Where::Local, program.into())
    }

    fn new(place: Where, program: String) -> Exec {
        Exec {
            place,
            request: ExecRequest {
                program,
                args: Vec::new(),
                env: Vec::new(),
                cwd: None,
                stdin: None,
                label: None,
                progress: Vec::new(),
            },
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Exec {
        self.request.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Exec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for the program: never on its command line,
    /// so the place for secrets.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Exec {
        self.request.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Exec {
        self.request.cwd = Some(dir.into());
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Exec {
        self.request.stdin = Some(bytes.into());
        self
    }

    /// Shows the program's output live under this label.
    pub fn label(mut self, label: impl Into<String>) -> Exec {
        self.request.label = Some(label.into());
        self
    }

    /// Lines of the output that are progress chatter, as regular
    /// expressions: shown only with `-v` (and in full on failure).
    pub fn progress<I, S>(mut self, patterns: I) -> Exec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request
            .progress
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    pub fn request(&self) -> &ExecRequest {
        &self.request
    }

    /// Runs the program and returns its output whatever its status.
    pub fn output(self) -> Result<Output, Error> {
        let out = match self.place {
            Where::Node => node::exec(&self.request)?,
            Where::Local => local::exec(&self.request)?,
        };
        Ok(Output(out))
    }

    /// Runs the program; anything but exit status 0 is an error naming the
    /// program, its status and the end of its stderr: `no-space` (where:
    /// the working directory) when the OS said a disk is full, else
    /// `failed`.
    pub fn run(self) -> Result<Output, Error> {
        let program = self.request.program.clone();
        let cwd = self.request.cwd.clone().unwrap_or_default();
        let out = self.output()?;
        if out.success() {
            return Ok(out);
        }
        let stderr = tail(&out.0.stderr, ERROR_TAIL);
        let mut message = format!("{program} {}", status_text(&out.0.status));
        if !stderr.trim().is_empty() {
            message.push_str(": ");
            message.push_str(stderr.trim());
        }
        if crate::error::is_disk_full(&stderr) {
            return Err(crate::error::no_space(message, cwd));
        }
        Err(Error::Failed(message))
    }
}

/// A finished program's status and (bounded) output.
#[derive(Debug, Clone)]
pub struct Output(pub ExecOutput);

impl Output {
    pub fn success(&self) -> bool {
        matches!(self.0.status, ExitStatus::Code(0))
    }

    /// The exit code, `None` when a signal ended the program.
    pub fn code(&self) -> Option<i32> {
        match self.0.status {
            ExitStatus::Code(c) => Some(c),
            ExitStatus::Signal(_) => None,
        }
    }

    /// Stdout as text, trailing newlines removed.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout)
            .trim_end_matches(['\n', '\r'])
            .to_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
}

/// `exited with status 3`, `was killed by SIGKILL`.
pub fn status_text(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Code(c) => format!("exited with status {c}"),
        ExitStatus::Signal(s) => format!("was killed by SIG{s}"),
    }
}

/// At most the last `max` bytes of `bytes` as text, cut at a character
/// boundary.
pub fn tail(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]{}", &text[start..])
}

/// A private directory on the node for this run, removed when the run ends
/// (`remote-files`).
pub fn scratch_dir(name: &str) -> Result<String, Error> {
    node::scratch_dir(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_the_request() {
        let e = Exec::remote("git")
            .arg("fetch")
            .args(["--depth", "1"])
            .env("TOKEN", "s")
            .cwd("/b")
            .label("sync");
        let r = e.request();
        assert_eq!(r.program, "git");
        assert_eq!(r.args, ["fetch", "--depth", "1"]);
        assert_eq!(r.env, [("TOKEN".to_owned(), "s".to_owned())]);
        assert_eq!(r.cwd.as_deref(), Some("/b"));
        assert_eq!(r.label.as_deref(), Some("sync"));
    }

    #[test]
    fn tail_keeps_the_end_at_a_char_boundary() {
        assert_eq!(tail(b"short", 10), "short");
        assert_eq!(tail("aaaé".as_bytes(), 1), "[...]");
        assert_eq!(tail("aaaébc".as_bytes(), 3), "[...]bc");
        assert_eq!(status_text(&ExitStatus::Code(3)), "exited with status 3");
        assert_eq!(
            status_text(&ExitStatus::Signal("KILL".into())),
            "was killed by SIGKILL"
        );
    }
}
