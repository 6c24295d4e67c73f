//! The steps of `ops build`.

pub mod job;
pub mod plan;
pub mod schedule;
use std::sync::Arc;

use crate::cli::args::BuildArgs;
use crate::exit::{Exit, Failure};
use crate::output::Printer;

pub async fn run(_args: BuildArgs, _printer: Arc<Printer>) -> Result<Exit, Failure> {
    Err(Failure::new(
        Exit::Internal,
        anyhow::anyhow!("ops build is not built yet"),
    ))
}
