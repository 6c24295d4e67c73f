//! `ops exec -- CMD [ARGS...]`: run one command on the build node, like
//! `ssh node CMD ARGS` but with every argument passed literally, and the
//! remote exit status (128+N for signal N) as ops's own.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cli::args::ExecArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure, OrExit};
use crate::output::Printer;
use crate::remote::{OutputSink, RemoteCommand, RemoteError};
use crate::ssh::{ChannelReader, ConnectOptions, Session, Stdin};

pub async fn run(args: ExecArgs, printer: Arc<Printer>) -> Result<ExitCode, Failure> {
    let config = Config::load(&args.node.file, printer.redactor())?;
    let target = super::resolve(&config).await?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::new(Exit::Usage, anyhow::anyhow!("no command given")))?;
    let command = RemoteCommand::new(program.clone()).args(rest.iter().cloned());

    let options = ConnectOptions {
        accept_new_host_key: args.node.accept_new_host_key,
        home: None,
    };
    let session = Session::connect(&target, &options, &printer).await?;
    printer.debug(format!(
        "running on {}: {:?}",
        session.label(),
        args.command
    ));

    let mut output = Passthrough;
    let result = {
        let running = session.run(
            &command,
            Stdin::Stream(Box::new(local_stdin())),
            &mut output,
        );
        tokio::select! {
            result = running => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    let result = match result {
        Some(result) => result,
        None => {
            // The command's future is gone; its drop started the kill.
            session.interrupt_all().await;
            session.close().await;
            return Err(Failure::new(
                Exit::Interrupted,
                anyhow::anyhow!("interrupted; the remote command was stopped"),
            ));
        }
    };
    session.close().await;
    match result {
        Ok(exit) => {
            if !exit.success() {
                printer.debug(format!("remote command ended with {exit}"));
            }
            Ok(ExitCode::from(exit.shell_code().clamp(0, 255) as u8))
        }
        Err(err @ RemoteError::InvalidRequest(_)) => Err(err).or_exit(Exit::Usage),
        Err(RemoteError::Interrupted) => Err(RemoteError::Interrupted).or_exit(Exit::Interrupted),
        Err(err) => Err(err).or_exit(Exit::Connection),
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

/// ops's stdin, read on a plain thread: a read blocked on a terminal must
/// not keep the process alive once the remote command is done (tokio's
/// blocking pool would wait for it at shutdown).
fn local_stdin() -> ChannelReader {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let spawned = std::thread::Builder::new()
        .name("ops-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match std::io::Read::read(&mut stdin, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    // Without the thread the remote side simply sees end of file.
    let _ = spawned;
    ChannelReader::new(rx)
}
