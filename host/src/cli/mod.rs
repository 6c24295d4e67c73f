//! The edge of the program: parse the command line, set up the printer and
//! the async runtime, run one command, and turn its result into an exit
//! code. Library code below returns typed errors; only here do they become
//! text.

mod args;
mod init;
mod settings;
mod trust;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser};

use crate::exit::{Exit, Failure};
use crate::output::{ColorChoice, Format, Printer, Redactor, RunLog, Verbosity};
use crate::plugin::commands as plugin_commands;
use args::{Cli, ColorArg, Command, ConfigCommand, OutputFormat, PluginCommand};

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
  130  interrupted (Ctrl-C); remote work was stopped
  ops exec exits with the remote command's status (128+N for signal N).";

pub fn main() -> ExitCode {
    // The relay is a byte pipe for rsync: no printer, no async runtime.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().as_deref() == Some(std::ffi::OsStr::new(crate::relay::RELAY_ARG)) {
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
    match command {
        Command::Build(args) => {
            trust::gate(&args.node.file, &printer)?;
            let settings = settings::build(args);
            if !settings.dry_run {
                open_run_log(&printer, &settings.config_file);
            }
            let result = crate::pipeline::run(settings, printer.clone()).await;
            if result.is_err() {
                printer.failed_run();
            }
            result.map(Into::into)
        }
        Command::Exec(args) => {
            trust::gate(&args.node.file, &printer)?;
            crate::pipeline::validate(&settings::check(args.node.file.clone()), &printer).await?;
            crate::node::exec::run(settings::exec(args), printer).await
        }
        Command::Lock(command) => {
            let settings = settings::lock(command);
            trust::gate(&settings.config_file, &printer)?;
            crate::pipeline::validate(&settings::check(settings.config_file.clone()), &printer)
                .await?;
            crate::pipeline::lock(settings, printer)
                .await
                .map(Into::into)
        }
        Command::Plugin(PluginCommand::List { file }) => crate::plugin::list::run(&file, &printer)
            .await
            .map(Into::into),
        Command::Plugin(PluginCommand::Install { source, sha256 }) => {
            plugin_commands::install(&source, sha256.as_deref(), &printer)
                .await
                .map(Into::into)
        }
        Command::Plugin(PluginCommand::Remove { name }) => {
            plugin_commands::remove(&name, &printer).map(Into::into)
        }
        Command::Plugin(PluginCommand::Info { name, file }) => {
            plugin_commands::info(&name, &file, &printer)
                .await
                .map(Into::into)
        }
        Command::Plugin(PluginCommand::Push {
            wasm,
            reference,
            force,
        }) => plugin_commands::push(&wasm, &reference, force, &printer)
            .await
            .map(Into::into),
        Command::Plugin(PluginCommand::New { name, kind, path }) => {
            crate::author::new(&name, new_kind(kind), path, &printer).map(Into::into)
        }
        Command::Plugin(PluginCommand::Build { dir }) => {
            crate::author::build(&dir, &printer).await.map(Into::into)
        }
        Command::Plugin(PluginCommand::Update { name, file }) => {
            trust::gate(&file, &printer)?;
            crate::pipeline::update_plugins(settings::check(file), name, printer)
                .await
                .map(Into::into)
        }
        Command::Config(ConfigCommand::Check { file }) => {
            trust::gate(&file, &printer)?;
            crate::pipeline::check(settings::check(file), printer)
                .await
                .map(Into::into)
        }
        Command::Trust(args) => trust::run(args, &printer).map(Into::into),
        Command::Init { file } => {
            init::run(std::path::Path::new("."), &file, &printer).map(Into::into)
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "ops", &mut std::io::stdout());
            Ok(Exit::Success.into())
        }
    }
}

fn new_kind(kind: args::NewKindArg) -> crate::author::NewKind {
    match kind {
        args::NewKindArg::Sync => crate::author::NewKind::Sync,
        args::NewKindArg::RegistryAuth => crate::author::NewKind::RegistryAuth,
        args::NewKindArg::ImageBuilder => crate::author::NewKind::ImageBuilder,
    }
}

/// The run's full log, in the state dir, for the project of `config_file`.
/// A run without one (no writable state dir) is still a run.
fn open_run_log(printer: &Printer, config_file: &std::path::Path) {
    let Some(state) = crate::output::state_dir(|name| std::env::var(name).ok()) else {
        return;
    };
    let project = match config_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    match RunLog::create(&state, &project) {
        Ok(log) => printer.attach_log(log),
        Err(err) => printer.debug(format!(
            "no run log: cannot write in {}: {err}",
            state.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
