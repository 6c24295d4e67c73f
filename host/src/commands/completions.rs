//! `ops completions SHELL`: a completion script for the command line.
//!
//! The one command whose subject is the command line's definition itself,
//! so its settings carry clap's description of it.

use crate::exit::Exit;

/// What `ops completions` was asked to do.
#[derive(Debug, Clone)]
pub struct CompletionsSettings {
    pub shell: clap_complete::Shell,
    /// The command line to complete, as `cli` defines it.
    pub command: clap::Command,
}

pub fn run(settings: CompletionsSettings) -> Exit {
    let CompletionsSettings { shell, mut command } = settings;
    clap_complete::generate(shell, &mut command, "ops", &mut std::io::stdout());
    Exit::Success
}
