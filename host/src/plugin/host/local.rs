//! `local`: the user's machine. `exec` needs `local-exec` for that very
//! program; `read-file` needs `local-read` and reads only paths that the
//! plugin's own config section names (like `ssh_key`); `project-root` needs
//! nothing.
//!
//! `local-exec:X` runs X, which is whatever X can do with the arguments the
//! plugin chooses (`rsync -e` runs any command). What the host does decide
//! is which X: the program is found on the user's own `PATH`, and the
//! plugin may not set variables that would choose another program or
//! another loader for it.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::HostCallError;
use super::node::exit_status;
use crate::output::LiveOutput;
use crate::plugin::bindings::latest::ops::plugin::local::Host;
use crate::plugin::bindings::types::{ExecOutput, ExecRequest};
use crate::plugin::capability::Need;
use crate::plugin::state::PluginState;
use crate::remote::RemoteExit;

/// Files a plugin reads are keys and small configs, never build inputs.
const MAX_READ: u64 = 16 << 20;

impl Host for PluginState {
    async fn exec(&mut self, request: ExecRequest) -> Result<ExecOutput, String> {
        let start = self.host_call_begins();
        let result = self.local_exec(request).await;
        self.host_time_since(start);
        result.map_err(HostCallError::into_wit)
    }

    async fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        let start = self.host_call_begins();
        let result = self.local_read(path).await;
        self.host_time_since(start);
        result.map_err(HostCallError::into_wit)
    }

    async fn project_root(&mut self) -> String {
        self.ctx.project_root.to_string_lossy().into_owned()
    }
}

impl PluginState {
    async fn local_exec(&mut self, request: ExecRequest) -> Result<ExecOutput, HostCallError> {
        // Checked before anything is spawned: a refused program never runs.
        self.check(Need::LocalExec(&request.program))
            .map_err(HostCallError::Refused)?;
        let cwd = request
            .cwd
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.ctx.project_root.clone());
        self.ctx.printer.debug(format!(
            "{}: local exec: {} {}",
            self.plugin,
            request.program,
            request.args.join(" ")
        ));
        if let Some((name, _)) = request.env.iter().find(|(name, _)| chooses_program(name)) {
            return Err(HostCallError::Refused(
                self.refuse_env(&request.program, name),
            ));
        }
        let program = resolve(&request.program)?;
        let mut child = tokio::process::Command::new(&program)
            .args(&request.args)
            .env_clear()
            .envs(self.child_environment())
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&cwd)
            .stdin(if request.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HostCallError::Local {
                program: request.program.clone(),
                waiting: false,
                source,
            })?;

        if let (Some(bytes), Some(mut stdin)) = (request.stdin, child.stdin.take()) {
            tokio::spawn(async move {
                // A program that exits without reading its stdin is fine.
                let _ = stdin.write_all(&bytes).await;
            });
        }
        // stdout is the plugin's data (a credential helper answers there),
        // never shown or logged; stderr is, bounded and masked.
        let mut capture = LiveOutput::new(
            self.output_label(request.label.clone()),
            self.ctx.printer.clone(),
        )
        .hide_stdout();
        pump(&mut child, &mut capture).await?;
        let status = child.wait().await.map_err(|source| HostCallError::Local {
            program: request.program.clone(),
            waiting: true,
            source,
        })?;
        let (stdout, stderr, truncated) = capture.finish();
        Ok(ExecOutput {
            status: exit_status(local_exit(status)),
            stdout,
            stderr,
            truncated,
        })
    }

    async fn local_read(&mut self, path: String) -> Result<Vec<u8>, HostCallError> {
        self.check(Need::LocalRead)
            .map_err(HostCallError::Refused)?;
        if !self.readable.contains(&path) {
            let refusal = format!(
                "local-read refused: {path} is not named by plugin {}'s config section",
                self.plugin
            );
            self.refusals.push(refusal.clone());
            return Err(HostCallError::Refused(refusal));
        }
        let full = expand(&path, &self.ctx.project_root).map_err(HostCallError::Invalid)?;
        crate::local_file::read_local_file(&full, MAX_READ)
            .map_err(|source| HostCallError::Read { path: full, source })
    }
}

/// Reads the child's stdout and stderr into `capture` until both close.
async fn pump(
    child: &mut tokio::process::Child,
    capture: &mut LiveOutput,
) -> Result<(), HostCallError> {
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(HostCallError::Invalid(
            "the child's output pipes are missing".into(),
        ));
    };
    let (mut out_buf, mut err_buf) = (vec![0u8; 16384], vec![0u8; 16384]);
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            n = out.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => crate::remote::OutputSink::stdout(capture, &out_buf[..n]),
            },
            n = err.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => crate::remote::OutputSink::stderr(capture, &err_buf[..n]),
            },
        }
    }
    Ok(())
}

/// What a local program takes from ops's own environment: enough to find
/// programs, write temporary files and speak the user's language. Anything
/// else (tokens, cloud credentials) reaches it only as a granted `env:NAME`.
const INHERITED: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
];

impl PluginState {
    fn child_environment(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        std::env::vars_os()
            .filter(|(name, value)| {
                let name = name.to_string_lossy();
                let granted = self.grants.env_granted(&name);
                // Masked like a value the plugin reads itself: the program
                // may print it back.
                if granted {
                    self.ctx.redactor.add(&value.to_string_lossy());
                }
                INHERITED.contains(&name.as_ref()) || name.starts_with("LC_") || granted
            })
            .collect()
    }
}

impl PluginState {
    fn refuse_env(&mut self, program: &str, name: &str) -> String {
        let refusal = format!(
            "local-exec:{program} refused: plugin {} may not set {name}, which chooses what \
             program or loader runs",
            self.plugin
        );
        self.refusals.push(refusal.clone());
        refusal
    }
}

/// The granted program as the user's own `PATH` finds it (never the
/// plugin's): a name, not a path, and only absolute directories searched,
/// so that neither the plugin's `cwd` nor its environment picks the file.
fn resolve(program: &str) -> Result<PathBuf, HostCallError> {
    if program.is_empty() || program.contains('/') || program.contains('\0') {
        return Err(HostCallError::Invalid(format!(
            "local exec: {program:?} is not a program name; local-exec runs programs found on \
             the user's PATH"
        )));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| HostCallError::NotOnPath {
            program: program.to_owned(),
        })
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Variables through which the environment, rather than the grant, would
/// decide what runs: the search path, the dynamic loader's, and the
/// shell's start-up files and options.
fn chooses_program(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "PATH",
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "IFS",
        "CDPATH",
        "GCONV_PATH",
        "GETCONF_DIR",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "MALLOC_TRACE",
    ];
    const PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_"];
    let upper = name.to_ascii_uppercase();
    NAMES.contains(&upper.as_str()) || PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// `~/x` is in the user's home; relative paths are relative to the project.
fn expand(path: &str, root: &std::path::Path) -> Result<PathBuf, String> {
    if let Some(rest) = path.strip_prefix("~/") {
        let home = std::env::var_os("HOME").ok_or("cannot expand ~: HOME is not set")?;
        return Ok(PathBuf::from(home).join(rest));
    }
    let p = PathBuf::from(path);
    Ok(if p.is_absolute() { p } else { root.join(p) })
}

fn local_exit(status: std::process::ExitStatus) -> RemoteExit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => RemoteExit::Code(code),
        (None, Some(sig)) => RemoteExit::Signal(crate::remote::signal_name(sig)),
        (None, None) => RemoteExit::Code(-1),
    }
}
