//! The ssh_config and known_hosts readers under mutated input (see
//! `tests/fuzz/mutator.rs`): no panic; a refused ssh_config names its line;
//! known_hosts, whose bad lines OpenSSH skips, yields only entries that
//! point at a real line.

// The one mutator, compiled into each reader's tests: config and ssh may
// not use each other, and the mutator is test code, not a module of ops.
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/fuzz/mutator.rs"]
mod mutator;

use std::path::Path;

use super::hostfile;
use super::ssh_config::{ConfigFile, State};

#[test]
fn the_ssh_config_reader_never_panics_and_errors_name_their_line() {
    let home = tempfile::tempdir().unwrap();
    let ssh_dir = home.path().join(".ssh");
    mutator::fuzz("ssh_config", 4_000, |input| {
        let text = String::from_utf8_lossy(input);
        // An Include of a mutated glob would read this machine's files
        // (/proc among them); Include has unit tests of its own.
        if text.to_ascii_lowercase().contains("include") {
            return Ok(false);
        }
        match ConfigFile::parse(&text, &ssh_dir, home.path()) {
            Ok(file) => {
                for host in ["build.example.com", "10.0.0.4", "bastion.internal"] {
                    let mut state = State::new(host, "ops");
                    file.evaluate(&mut state);
                    let _ = state.current_host();
                }
                Ok(true)
            }
            Err(e) if e.to_string().contains(": line ") => Ok(false),
            Err(e) => Err(format!("an error without its line: {e}")),
        }
    });
}

#[test]
fn the_known_hosts_reader_never_panics_and_entries_point_at_their_line() {
    mutator::fuzz("known_hosts", 4_000, |input| {
        let text = String::from_utf8_lossy(input);
        let lines = text.lines().count();
        let mut found = 0;
        for name in ["build.example.com", "[127.0.0.1]:2222", "10.0.0.4", "x"] {
            for entry in hostfile::parse_matching(name, Path::new("known_hosts"), &text) {
                if entry.line == 0 || entry.line > lines {
                    return Err(format!("entry at line {} of {lines}", entry.line));
                }
                found += 1;
            }
        }
        Ok(found > 0)
    });
}
