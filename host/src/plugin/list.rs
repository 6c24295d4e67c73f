use std::path::Path;

use crate::exit::{Exit, Failure};
use crate::output::Printer;

pub async fn run(_file: &Path, _printer: &Printer) -> Result<Exit, Failure> {
    Err(Failure::new(Exit::Internal, anyhow::anyhow!("ops plugin list is not built yet")))
}
