//! `ops exec -- CMD [ARGS...]`: run one command on the build node, like
//! `ssh node CMD ARGS` but with every argument passed literally, and the
//! remote exit status (128+N for signal N) as ops's own.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Config;
use crate::exit::{interrupted, Exit, Failure};
use crate::node::{connect, ReachSettings};
use crate::output::Printer;
use crate::remote::{local_stdin, ChannelReader, OutputSink, RemoteCommand, Stdin};

/// What `ops exec` was asked to do.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub config_file: PathBuf,
    pub reach: ReachSettings,
    /// The program and its arguments, each passed literally.
    pub command: Vec<String>,
}

pub async fn run(settings: ExecSettings, printer: Arc<Printer>) -> Result<ExitCode, Failure> {
    let config = Config::load(&settings.config_file, printer.redactor())?;
    let target = crate::node::resolve(&config).await?;
    let (program, rest) = settings
        .command
        .split_first()
        .ok_or_else(|| Failure::new(Exit::Usage, anyhow::anyhow!("no command given")))?;
    let command = RemoteCommand::new(program.clone()).args(rest.iter().cloned());

    let node = connect(&target, &settings.reach, &printer).await?;
    printer.debug(format!(
        "running on {}: {:?}",
        node.label(),
        settings.command
    ));

    let mut output = Passthrough;
    let result = {
        let running = node.run(
            &command,
            Stdin::Stream(Box::new(ChannelReader::new(local_stdin()))),
            &mut output,
        );
        tokio::select! {
            result = running => Some(result),
            () = interrupted() => None,
        }
    };
    let Some(result) = result else {
        // The command's future is gone; its drop started the kill.
        node.interrupt().await;
        node.close().await;
        return Err(Failure::new(
            Exit::Interrupted,
            anyhow::anyhow!("interrupted; the remote command was stopped"),
        ));
    };
    node.close().await;
    let exit = result.map_err(Failure::from)?;
    if !exit.success() {
        printer.debug(format!("remote command ended with {exit}"));
    }
    Ok(ExitCode::from(exit.shell_code().clamp(0, 255) as u8))
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
