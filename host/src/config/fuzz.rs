//! The config loader under mutated input (see `tests/fuzz/mutator.rs`):
//! every input is either a config or an error that points into the file.

// The one mutator, compiled into each reader's tests: config and ssh may
// not use each other, and the mutator is test code, not a module of ops.
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/fuzz/mutator.rs"]
mod mutator;

use std::path::Path;

use super::Config;

#[test]
fn the_config_loader_never_panics_and_every_error_has_a_location() {
    let (execs, accepted) = mutator::fuzz("config", 4_000, |input| {
        let text = String::from_utf8_lossy(input);
        let env = |name: &str| (name != "UNSET").then(|| format!("value-of-{name}"));
        match Config::parse(Path::new("ops.toml"), &text, &env) {
            Ok(_) => Ok(true),
            Err(e) => {
                let at = &e.location;
                // One past the last line is where an error at the end of
                // the file points.
                let lines = text.split('\n').count() + 1;
                if at.file != Path::new("ops.toml") || at.line == 0 || at.line > lines {
                    return Err(format!("no usable location in {e} ({at:?})"));
                }
                if at.column == 0 {
                    return Err(format!("column 0 in {e}"));
                }
                Ok(false)
            }
        }
    });
    assert!(
        execs == 0 || accepted < execs,
        "every mutated input was accepted"
    );
}
