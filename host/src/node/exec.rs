use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::args::ExecArgs;
use crate::exit::{Exit, Failure};
use crate::output::Printer;

pub async fn run(_args: ExecArgs, _printer: Arc<Printer>) -> Result<ExitCode, Failure> {
    Err(Failure::new(Exit::Internal, anyhow::anyhow!("ops exec is not built yet")))
}
