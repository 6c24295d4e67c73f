//! A program in a pseudo-terminal on the node (`ops exec -t`), on its own
//! channel, as `ssh -t` runs one: no wrapper between the terminal and the
//! program. The wrapper's stdin preamble would be echoed by the terminal
//! and its process-group report would land among the program's output, so
//! cleanup is the terminal's own: when the channel closes, sshd closes the
//! terminal and the kernel hangs up (SIGHUP) everything that runs in it.

use std::sync::Arc;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::io::AsyncReadExt;
use tokio::sync::OwnedSemaphorePermit;

use super::run::{command_channel, refill, signal_name_of};
use super::session::Inner;
use super::wrapper::quote;
use crate::remote::{
    OutputSink, PtyRequest, RemoteError, RemoteExit, Stdin, TerminalProgram, TerminalSize,
};

pub(super) async fn run(
    inner: &Arc<Inner>,
    program: &TerminalProgram,
    mut pty: PtyRequest,
    stdin: Stdin<'_>,
    output: &mut dyn OutputSink,
) -> Result<RemoteExit, RemoteError> {
    let disconnected = |e: russh::Error| RemoteError::Disconnected(e.to_string());
    let size = *pty.size.borrow_and_update();
    let (mut reader, mut guard) = open(inner, program, &pty.term, size).await?;
    let writer = guard.writer.clone();
    let mut stdin = match stdin {
        Stdin::Stream(source) => Some(source),
        Stdin::Bytes(bytes) => {
            if let Some(bytes) = bytes {
                writer.data(bytes).await.map_err(disconnected)?;
            }
            let _ = writer.eof().await;
            None
        }
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut resizing = true;
    let mut exit = None;
    loop {
        tokio::select! {
            read = read_some(stdin.as_mut(), &mut buf), if stdin.is_some() => match read {
                Some(n) => writer.data(&buf[..n]).await.map_err(disconnected)?,
                None => {
                    stdin = None;
                    let _ = writer.eof().await;
                }
            },
            changed = pty.size.changed(), if resizing => match changed {
                Ok(()) => {
                    let TerminalSize { cols, rows } = *pty.size.borrow_and_update();
                    let _ = writer.window_change(cols, rows, 0, 0).await;
                }
                Err(_) => resizing = false,
            },
            msg = reader.wait() => match msg {
                Some(ChannelMsg::Data { data }) => output.stdout(&data),
                Some(ChannelMsg::ExtendedData { data, .. }) => output.stderr(&data),
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    exit = Some(RemoteExit::Code(exit_status as i32));
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    exit = Some(RemoteExit::Signal(signal_name_of(&signal_name)));
                }
                Some(ChannelMsg::Failure) => {
                    return Err(RemoteError::Protocol(
                        "the node refused a terminal or the command".into(),
                    ));
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
        }
    }
    guard.close().await;
    match exit {
        Some(exit) => Ok(exit),
        None if inner.channels.handle().is_closed() => Err(RemoteError::Disconnected(
            "the connection closed before the terminal's program finished".into(),
        )),
        None => Err(RemoteError::Protocol(
            "the terminal's program ended without reporting an exit status".into(),
        )),
    }
}

/// A channel with a terminal of `term` and `size` running `program`.
async fn open(
    inner: &Arc<Inner>,
    program: &TerminalProgram,
    term: &str,
    size: TerminalSize,
) -> Result<(ChannelReadHalf, CloseOnDrop), RemoteError> {
    let disconnected = |e: russh::Error| RemoteError::Disconnected(e.to_string());
    let (permit, channel) = command_channel(inner).await?;
    let (reader, writer) = channel.split();
    let guard = CloseOnDrop {
        inner: inner.clone(),
        writer: Arc::new(writer),
        permit: Some(permit),
    };
    // No terminal modes: the node's defaults (echo, Ctrl-C interrupts) are
    // what a terminal user expects, and the local terminal is raw.
    guard
        .writer
        .request_pty(false, term, size.cols, size.rows, 0, 0, &[])
        .await
        .map_err(disconnected)?;
    let prefix = unset_agent(inner);
    guard
        .writer
        .exec(true, format!("{prefix}{}", script(program)).into_bytes())
        .await
        .map_err(disconnected)?;
    Ok((reader, guard))
}

/// The next bytes of `source`; `None` at its end (or when it fails: the
/// terminal then gets end of file, as with `ssh`).
async fn read_some(
    source: Option<&mut Box<dyn tokio::io::AsyncRead + Send + Unpin + '_>>,
    buf: &mut [u8],
) -> Option<usize> {
    let source = source?;
    match source.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// Once one channel had an agent, sshd offers its socket to every later
/// one; a terminal never gets one.
fn unset_agent(inner: &Inner) -> &'static str {
    if inner.agent.ever_opened() || inner.deploy.ever_opened() {
        "unset SSH_AUTH_SOCK; "
    } else {
        ""
    }
}

/// The command line the node's login shell runs for `program`.
pub(super) fn script(program: &TerminalProgram) -> String {
    match program {
        TerminalProgram::Command(words) => {
            let words: Vec<String> = words.iter().map(|w| quote(w)).collect();
            format!("exec {}", words.join(" "))
        }
        TerminalProgram::LoginShell { dir } => {
            let cd = match dir {
                None => "cd".to_owned(),
                Some(dir) => {
                    let word = dir_word(dir);
                    format!(
                        "cd {word} 2>/dev/null || {{ printf 'ops: %s is not a directory on the \
                         node; starting in the home directory\\n' {word}; cd; }}"
                    )
                }
            };
            format!("{cd}; exec \"${{SHELL:-/bin/sh}}\" -l")
        }
    }
}

/// `dir` as one shell word, a leading `~` being the node user's home.
fn dir_word(dir: &str) -> String {
    match dir.strip_prefix('~') {
        Some("") => "\"$HOME\"".to_owned(),
        Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
        _ => quote(dir),
    }
}

/// Closes the terminal's channel however the run ends; dropped before it
/// closed (cancelled), it closes it in the background, which the session
/// waits for.
struct CloseOnDrop {
    inner: Arc<Inner>,
    writer: Arc<ChannelWriteHalf<Msg>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl CloseOnDrop {
    async fn close(&mut self) {
        let _ = self.writer.close().await;
        self.permit.take();
        refill(&self.inner);
    }
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let writer = self.writer.clone();
        let task = runtime.spawn(async move {
            let _ = writer.close().await;
            drop(permit);
        });
        self.inner.groups.add_pending(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_quoted_word_by_word() {
        let program = TerminalProgram::Command(vec!["printf".into(), "%s|".into(), "$(id)".into()]);
        assert_eq!(script(&program), "exec printf '%s|' '$(id)'");
    }

    #[test]
    fn the_shell_starts_in_the_build_path_or_the_home() {
        let shell = |dir: Option<&str>| {
            script(&TerminalProgram::LoginShell {
                dir: dir.map(str::to_owned),
            })
        };
        assert_eq!(shell(None), "cd; exec \"${SHELL:-/bin/sh}\" -l");
        let at = shell(Some("/srv/it's"));
        assert!(at.starts_with("cd \"/srv/it's\" 2>/dev/null || {"), "{at}");
        let home = shell(Some("~/builds/x y"));
        assert!(
            home.starts_with("cd \"$HOME\"'/builds/x y' 2>/dev/null"),
            "{home}"
        );
        assert!(shell(Some("~")).starts_with("cd \"$HOME\" 2>/dev/null"));
    }
}
