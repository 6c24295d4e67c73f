//! Writing plugins: `ops plugin new` and `ops plugin build`, with nothing
//! but the `ops` binary and cargo.
//!
//! - `embedded`: the SDK's sources, the WIT and the plugins' lock file,
//!   carried in the binary and written into every new crate.
//! - `scaffold`: `new`, a crate per kind that does something real and
//!   tests natively.
//! - `build`: `build`, through the toolchain `ops-wasm-toolchain` finds
//!   (shared with `cargo xtask plugins`), `componentize` where the target
//!   makes core modules, then a load in this host's runtime.

mod build;
mod componentize;
mod embedded;
mod error;
mod scaffold;

use std::path::{Path, PathBuf};

use crate::exit::{Exit, Failure};
use crate::output::Printer;

pub use scaffold::NewKind;

/// `ops plugin new NAME --kind KIND [--path DIR]`.
pub fn new(
    name: &str,
    kind: NewKind,
    path: Option<PathBuf>,
    printer: &Printer,
) -> Result<Exit, Failure> {
    let dir = path.unwrap_or_else(|| PathBuf::from(name));
    let written = scaffold::write(name, kind, &dir)?;
    printer.info(format!(
        "wrote the {} plugin {name} in {} ({} files)",
        kind.text(),
        dir.display(),
        written.len()
    ));
    printer.info(format!(
        "next: cd {} && cargo test && ops plugin build",
        dir.display()
    ));
    Ok(Exit::Success)
}

/// `ops plugin build [DIR]`: the component's path is the last line of
/// stdout, for scripts.
pub async fn build(dir: &Path, printer: &Printer) -> Result<Exit, Failure> {
    let built = build::build(dir).await?;
    let meta = &built.metadata;
    let capabilities: Vec<String> = meta.capabilities.iter().map(|c| c.to_string()).collect();
    printer.info(format!(
        "built {} {} ({}, API {}) for {} in {:.1}s: {} bytes; it loads in this ops",
        meta.name,
        meta.version,
        meta.kind,
        meta.api_version,
        built.method.target(),
        built.elapsed.as_secs_f64(),
        built.size,
    ));
    if !capabilities.is_empty() {
        // A capability's kind alone grants everything of that kind it declares.
        let grants: Vec<String> = capabilities
            .iter()
            .map(|c| format!("{:?}", c.split(':').next().unwrap_or(c)))
            .collect();
        printer.info(format!(
            "it declares {}; a project that uses it adds [plugins.{}] grant = [{}]",
            capabilities.join(", "),
            meta.name,
            grants.join(", ")
        ));
    }
    printer.data(&built.path.display().to_string());
    Ok(Exit::Success)
}
