//! The edge of the program: parse the command line, set up the printer and
//! the async runtime, run one command, and turn its result into an exit
//! code. Library code below returns typed errors; only here do they become
//! text.

mod args;
mod plugin_args;
mod settings;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::commands;
use crate::exit::{Exit, Failure};
use crate::output::{ColorChoice, Format, Printer, Redactor, Verbosity};
use args::{Cli, ColorArg, Command, OutputFormat};
use settings::Settings;

/// Kept in step with [`Exit`] by a test.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    internal or local I/O error
  2    usage or config error; nothing remote was touched
  3    build node could not be resolved, reached or authenticated
  4    syncing the code to the build node failed
  5    the build command failed
  6    an image build failed; nothing was pushed
  7    registry login or image push failed
  8    a plugin trapped, hit a limit or broke the contract
  9    a local hook failed (pre_build: nothing remote was touched)
  10   fetching the build's artifacts failed
  11   node housekeeping (ops node prune, ops node df) failed
  130  interrupted (Ctrl-C); remote work was stopped
  ops exec exits with the remote command's status (128+N for signal N).";

pub fn main() -> ExitCode {
    // The relay is a byte pipe for rsync: no printer, no async runtime.
    let mut argv = std::env::args_os().skip(1);
    let first = argv.next();
    // The connection keeper has no terminal and prints nothing.
    if first.as_deref() == Some(std::ffi::OsStr::new(crate::keeper::KEEPER_ARG)) {
        return crate::keeper::keeper_main(&argv.collect::<Vec<_>>());
    }
    if first.as_deref() == Some(std::ffi::OsStr::new(crate::relay::RELAY_ARG)) {
        let socket = argv
            .next()
            .map(std::path::PathBuf::from)
            .unwrap_or_default();
        let rest: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
        return crate::relay::client::run(&socket, &rest);
    }

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Success.into()
            };
        }
    };

    let printer = Arc::new(printer(&cli.global));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            printer.error(format!("cannot start the async runtime: {err}"), 1);
            return Exit::Internal.into();
        }
    };

    let result = runtime.block_on(dispatch(cli.command, printer.clone()));
    // Plugin and SSH tasks may still be winding down after an error; do not
    // let them hold the process open.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));

    match result {
        Ok(code) => code,
        Err(failure) => {
            printer.error(format!("{:#}", failure.error), failure.exit.code());
            if failure.exit != Exit::Usage {
                printer.show_log_path();
            }
            failure.exit.into()
        }
    }
}

/// The printer the global options ask for, fitted to where output goes.
fn printer(global: &args::GlobalArgs) -> Printer {
    let format = match global.output {
        OutputFormat::Human => Format::Human,
        OutputFormat::Json => Format::Json,
    };
    let verbosity = if global.verbose {
        Verbosity::Verbose
    } else if global.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let color = match global.color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    };
    let env = |name: &str| std::env::var(name).ok();
    let terminal = std::io::stderr().is_terminal();
    let github = env("GITHUB_ACTIONS").as_deref() == Some("true");
    // CI logs and pipes get plain lines; so does -v (every line) and -q.
    let live = terminal
        && verbosity == Verbosity::Normal
        && !github
        && env("CI").is_none()
        && env("TERM").as_deref() != Some("dumb")
        && env("OPS_PROGRESS").as_deref() != Some("plain");
    Printer::new(format, verbosity, Redactor::new())
        .with_color(color.enabled(env, terminal))
        .with_groups(github)
        .with_live_display(live)
}

async fn dispatch(command: Command, printer: Arc<Printer>) -> Result<ExitCode, Failure> {
    let settings = settings::from_command(command);
    if let Some(file) = settings.gated_file() {
        crate::commands::trust::gate(file, settings.runs_hooks(), &printer)?;
    }
    // A command that reads only part of ops.toml still refuses a file that
    // `ops build` would refuse at a line, before it connects.
    if let Some(file) = settings.validated_file() {
        crate::pipeline::validate(file, &printer).await?;
    }
    let exit = match settings {
        Settings::Build(s) => commands::build::run(s, printer).await?,
        Settings::Exec(s) => return commands::exec::run(s, printer).await,
        Settings::Lock(s) => commands::lock::run(s, printer).await?,
        Settings::Node(s) => commands::node::run(s, printer).await?,
        Settings::Connection(s) => commands::connection::run(s, &printer).await?,
        Settings::PluginList(s) => commands::plugin_list::run(s, &printer).await?,
        Settings::PluginInstall(s) => commands::plugin_install::run(s, &printer).await?,
        Settings::PluginRemove(s) => commands::plugin_remove::run(s, &printer)?,
        Settings::PluginInfo(s) => commands::plugin_info::run(s, &printer).await?,
        Settings::PluginPush(s) => commands::plugin_push::run(s, &printer).await?,
        Settings::PluginNew(s) => commands::plugin_new::run(s, &printer)?,
        Settings::PluginBuild(s) => commands::plugin_build::run(s, &printer).await?,
        Settings::PluginUpdate(s) => commands::plugin_update::run(s, printer).await?,
        Settings::PluginOutdated(s) => commands::plugin_outdated::run(s, &printer).await?,
        Settings::PluginMirror(s) => commands::plugin_mirror::run(s, &printer).await?,
        Settings::PluginSign(s) => commands::plugin_sign::sign(s, &printer)?,
        Settings::PluginVerify(s) => commands::plugin_sign::verify(s, &printer)?,
        Settings::PluginTrust(s) => commands::plugin_trust::run(s, &printer)?,
        Settings::ConfigCheck(s) => commands::config_check::run(s, printer).await?,
        Settings::Trust(s) => commands::trust::run(s, &printer)?,
        Settings::Init(s) => commands::init::run(s, &printer)?,
        Settings::Completions(s) => commands::completions::run(*s),
    };
    Ok(exit.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn completions_cover_the_commands_and_hide_the_relay() {
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ops", &mut out);
            let script = String::from_utf8(out).unwrap();
            for word in ["build", "exec", "plugin", "--no-push", "--jobs"] {
                assert!(script.contains(word), "{shell:?} completion lacks {word}");
            }
            assert!(
                !script.contains("__relay"),
                "{shell:?} offers the internal relay"
            );
            assert!(
                !script.contains("__keeper"),
                "{shell:?} offers the internal keeper"
            );
        }
    }

    #[test]
    fn the_docs_list_every_exit_code_and_json_event() {
        let docs = include_str!("../../../docs/output.md");
        for exit in Exit::ALL {
            let row = format!("| {} | {}", exit.code(), exit.meaning());
            assert!(docs.contains(&row), "docs/output.md lacks: {row}");
        }
        for event in [
            "step_started",
            "step_finished",
            "output",
            "plugin_log",
            "image",
            "error",
            "run_log",
            "summary",
            "plugin",
            "plugin_installed",
            "plugin_removed",
            "plugin_info",
            "plugin_pushed",
            "connection",
            "connection_closed",
            "plugin_outdated",
            "artifact",
            "pruned",
            "prune_summary",
            "node_disk",
        ] {
            assert!(docs.contains(&format!("| `{event}` |")), "{event}");
        }
    }

    #[test]
    fn exit_code_help_matches_the_enum() {
        for exit in Exit::ALL {
            let line = format!("{:<5}{}", exit.code(), exit.meaning());
            assert!(
                EXIT_CODES_HELP.contains(&format!("  {line}")),
                "help text lacks: {line}"
            );
        }
    }
}
