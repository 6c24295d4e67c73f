//! `ops exec -- CMD [ARGS...]`: run one command on the build node, like
//! `ssh node CMD ARGS` but with every argument passed literally, and the
//! remote exit status (128+N for signal N) as ops's own.
//!
//! `ops exec -t` runs it in a pseudo-terminal on the node instead, with the
//! local terminal raw, as `ssh -t` does; without a command on a terminal,
//! that is the default and opens the node user's login shell in
//! `build.path`.

use std::io::{IsTerminal, Write};
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;

use crate::config::Config;
use crate::exit::{interrupted, Exit, Failure};
use crate::node::{connect, ReachSettings};
use crate::output::Printer;
use crate::remote::{
    local_stdin, ChannelReader, OutputSink, PtyRequest, RemoteCommand, RemoteExit, RemoteNode,
    Stdin, TerminalProgram, TerminalSize,
};
use crate::terminal::RawMode;

/// What `ops exec` was asked to do.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub config_file: PathBuf,
    pub reach: ReachSettings,
    /// The program and its arguments, each passed literally; empty: the
    /// login shell, in a terminal.
    pub command: Vec<String>,
    pub tty: Tty,
}

/// Whether the remote program gets a terminal (`-t`, `-tt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tty {
    /// A terminal for the login shell when stdin and stdout are terminals;
    /// none for a command.
    Auto,
    /// `-t`: a terminal; stdin must be one.
    Asked,
    /// `-tt`: a terminal on the node even when stdin is not one (which is
    /// then passed on as it is, not raw).
    Forced,
}

/// How the command runs, decided before connecting.
#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Plain,
    /// In a terminal on the node; `raw`: the local stdin is a terminal, put
    /// in raw mode for the run.
    Terminal {
        raw: bool,
    },
}

/// What runs on the node.
enum Run {
    Plain(RemoteCommand),
    Terminal(TerminalProgram),
}

/// The mode for `tty`, given whether there is a command and whether stdin
/// and stdout are terminals; `Err` is the usage error.
fn mode(tty: Tty, command: bool, stdin: bool, stdout: bool) -> Result<Mode, &'static str> {
    match tty {
        Tty::Auto if command => Ok(Mode::Plain),
        Tty::Auto if stdin && stdout => Ok(Mode::Terminal { raw: true }),
        Tty::Auto => Err(
            "no command given: give one after `--` (a shell on the node \
                          needs stdin and stdout to be a terminal)",
        ),
        Tty::Asked if stdin => Ok(Mode::Terminal { raw: true }),
        Tty::Asked => Err(
            "-t needs stdin to be a terminal; -tt asks for a terminal on \
                           the node anyway",
        ),
        Tty::Forced => Ok(Mode::Terminal { raw: stdin }),
    }
}

pub async fn run(settings: ExecSettings, printer: Arc<Printer>) -> Result<ExitCode, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let target = crate::node::resolve(&config).await?;
    let is_tty = (
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
    );
    let mode = mode(
        settings.tty,
        !settings.command.is_empty(),
        is_tty.0,
        is_tty.1,
    )
    .map_err(|e| Failure::new(Exit::Usage, anyhow!(e)))?;
    let run = match settings.command.split_first() {
        Some((program, rest)) if mode == Mode::Plain => {
            Run::Plain(RemoteCommand::new(program.clone()).args(rest.iter().cloned()))
        }
        Some(_) => Run::Terminal(TerminalProgram::Command(settings.command.clone())),
        None => Run::Terminal(TerminalProgram::LoginShell {
            dir: build_dir(&config)?,
        }),
    };

    let node = connect(&target, &settings.reach, &printer).await?;
    printer.debug(format!(
        "running on {}: {:?}",
        node.label(),
        settings.command
    ));
    let result = match run {
        Run::Plain(command) => plain(node.as_ref(), &command).await,
        Run::Terminal(program) => {
            let raw = mode == Mode::Terminal { raw: true };
            in_terminal(node.as_ref(), &program, raw).await?
        }
    };
    let Some(result) = result else {
        // The command's future is gone; its drop started the kill.
        node.interrupt().await;
        node.close().await;
        return Err(Failure::new(
            Exit::Interrupted,
            anyhow!("interrupted; the remote command was stopped"),
        ));
    };
    node.close().await;
    let exit = result.map_err(Failure::from)?;
    if !exit.success() {
        printer.debug(format!("remote command ended with {exit}"));
    }
    Ok(ExitCode::from(exit.shell_code().clamp(0, 255) as u8))
}

type Ran = Option<Result<RemoteExit, crate::remote::RemoteError>>;

/// Runs `command` without a terminal; `None` when ops was interrupted.
async fn plain(node: &dyn RemoteNode, command: &RemoteCommand) -> Ran {
    let mut output = Passthrough;
    let running = node.run(
        command,
        Stdin::Stream(Box::new(ChannelReader::new(local_stdin()))),
        &mut output,
    );
    tokio::select! {
        result = running => Some(result),
        () = interrupted() => None,
    }
}

/// Runs `program` in a terminal on the node, the local terminal raw
/// meanwhile when `raw`; `None` when ops was stopped (SIGTERM, SIGHUP, or
/// SIGINT from outside: in raw mode Ctrl-C is a key for the node).
async fn in_terminal(
    node: &dyn RemoteNode,
    program: &TerminalProgram,
    raw: bool,
) -> Result<Ran, Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let local = |e: std::io::Error| Failure::new(Exit::Internal, anyhow!("local terminal: {e}"));
    // Handled from here on: the default action would end ops with the
    // terminal left raw.
    let mut term = signal(SignalKind::terminate()).map_err(local)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(local)?;
    let pty = PtyRequest {
        term: crate::terminal::term(),
        size: size_source().map_err(local)?,
    };
    // SAFETY: stdin stays open for as long as ops runs.
    let stdin_fd = unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) };
    let raw_mode = raw
        .then(|| RawMode::enter(stdin_fd))
        .transpose()
        .map_err(local)?;
    let mut output = Passthrough;
    let running = node.run_terminal(
        program,
        pty,
        Stdin::Stream(Box::new(ChannelReader::new(local_stdin()))),
        &mut output,
    );
    let result = tokio::select! {
        result = running => Some(result),
        _ = term.recv() => None,
        _ = hangup.recv() => None,
        () = interrupted() => None,
    };
    // Before anything else is printed.
    drop(raw_mode);
    Ok(result)
}

/// The size of the local terminal (stdin's, else stdout's) as it changes;
/// without one, the usual 80x24.
fn size_source() -> std::io::Result<tokio::sync::watch::Receiver<TerminalSize>> {
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: stdin and stdout stay open for as long as ops runs.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if crate::terminal::size(fd).is_some() {
            return crate::terminal::watch_size(fd);
        }
    }
    Ok(tokio::sync::watch::channel(TerminalSize::FALLBACK).1)
}

/// `build.path`, where the login shell starts, checked as `ops build`
/// checks it; `None` when the config has none.
fn build_dir(config: &Config) -> Result<Option<String>, Failure> {
    match config.build.as_ref() {
        Some(build) if build.path.is_some() => {
            Ok(Some(crate::pipeline::build_path(build)?.to_owned()))
        }
        _ => Ok(None),
    }
}

/// The remote program's output is data, not ops's messages: it goes to
/// ops's stdout and stderr unchanged, as with `ssh`.
struct Passthrough;

impl OutputSink for Passthrough {
    fn stdout(&mut self, chunk: &[u8]) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`ops exec ... | head`) ends nothing remote.
        let _ = out.write_all(chunk);
        let _ = out.flush();
    }

    fn stderr(&mut self, chunk: &[u8]) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(chunk);
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_is_the_default_only_for_the_shell_on_a_terminal() {
        assert_eq!(mode(Tty::Auto, true, true, true), Ok(Mode::Plain));
        assert_eq!(
            mode(Tty::Auto, false, true, true),
            Ok(Mode::Terminal { raw: true })
        );
        assert!(mode(Tty::Auto, false, true, false).is_err());
        assert!(mode(Tty::Auto, false, false, true).is_err());
    }

    #[test]
    fn t_needs_a_terminal_and_tt_forces_one() {
        assert_eq!(
            mode(Tty::Asked, true, true, false),
            Ok(Mode::Terminal { raw: true })
        );
        let refused = mode(Tty::Asked, true, false, true).unwrap_err();
        assert!(refused.contains("-tt"), "{refused}");
        assert_eq!(
            mode(Tty::Forced, true, false, false),
            Ok(Mode::Terminal { raw: false })
        );
        assert_eq!(
            mode(Tty::Forced, false, true, true),
            Ok(Mode::Terminal { raw: true })
        );
    }
}
