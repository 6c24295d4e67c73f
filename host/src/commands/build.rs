//! `ops build`: the pipeline, with the run's full log kept for a real run.

use std::sync::Arc;

use crate::exit::{Exit, Failure};
use crate::output::{Printer, RunLog};
use crate::pipeline::BuildSettings;

pub async fn run(settings: BuildSettings, printer: Arc<Printer>) -> Result<Exit, Failure> {
    if !settings.dry_run {
        open_run_log(&printer, &settings.config_file);
    }
    let result = crate::pipeline::run(settings, printer.clone()).await;
    if result.is_err() {
        printer.failed_run();
    }
    result
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
