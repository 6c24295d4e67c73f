//! A small mutation fuzzer for the readers of files people write by hand
//! (ops.toml, ~/.ssh/config, known_hosts). It is compiled into those
//! readers' unit tests (`#[path]`), so it reaches private parsers without
//! a separate build of the world with coverage instrumentation.
//!
//! Each execution takes an entry of the reader's corpus
//! (`tests/fuzz/corpus/<reader>/`), applies one to four mutations (byte
//! flips, tokens that mean something to the format, deletions,
//! duplications, splices with other entries) and hands the result to a
//! check that must neither panic nor report a broken property. A failing
//! input is written to `target/fuzz-failures/` and shown escaped.
//!
//! `OPS_FUZZ_EXECS` sets the executions per reader (the test suite runs a
//! few thousand; `scripts/fuzz.sh` runs a million), `OPS_FUZZ_SEED` the
//! seed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Strings that mean something to at least one of the formats.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\n",
    "\r\n",
    "\r",
    "\0",
    "#",
    "$",
    "${",
    "}",
    "{",
    ",",
    ".",
    "\\",
    "\\u",
    "\\U0010FFFF",
    "\u{feff}",
    "é",
    "\u{10ffff}",
    "\t",
    " ",
    "-rf",
    "--foo",
    "..",
    "/",
    "~",
    "~/",
    "*",
    "?",
    "!",
    "@cert-authority",
    "@revoked",
    "|1|",
    "Host ",
    "Match ",
    "Include ",
    "%h",
    "%%",
    "1e400",
    "-0",
    "99999999999999999999999",
    "true",
    "inf",
    "nan",
    "0x",
    "[build]",
    "[build.image]",
    "[nodes.",
    "services = [",
    "$(id)",
    "`id`",
    ";",
    "&&",
    "|",
    "\u{202e}",
];

pub struct Mutator {
    state: u64,
    corpus: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn new(seed: u64, corpus: Vec<Vec<u8>>) -> Mutator {
        assert!(!corpus.is_empty(), "an empty corpus");
        Mutator {
            state: seed | 1,
            corpus,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64: fast, and the same inputs for the same seed.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn input(&mut self) -> Vec<u8> {
        let pick = self.below(self.corpus.len());
        let mut data = self.corpus[pick].clone();
        for _ in 0..=self.below(4) {
            self.mutate(&mut data);
        }
        data.truncate(64 << 10);
        data
    }

    fn mutate(&mut self, data: &mut Vec<u8>) {
        let at = self.below(data.len() + 1);
        match self.below(6) {
            0 if !data.is_empty() => {
                let i = self.below(data.len());
                data[i] = self.next() as u8;
            }
            1 => {
                let token = TOKENS[self.below(TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            2 => {
                let end = (at + self.below(32)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let end = (at + self.below(64)).min(data.len());
                let piece = data[at..end].to_vec();
                let times = 1 + self.below(8);
                for _ in 0..times {
                    data.splice(at..at, piece.iter().copied());
                }
            }
            4 => {
                let other = self.below(self.corpus.len());
                let from = self.below(self.corpus[other].len());
                data.truncate(at);
                data.extend_from_slice(&self.corpus[other][from..]);
            }
            _ => {
                let byte = [b'\n', b'"', b'=', b'[', b' ', 0xff, 0xc3][self.below(7)];
                data.insert(at, byte);
            }
        }
    }
}

pub fn corpus(reader: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(reader);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn corpus_dir(reader: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz/corpus")
        .join(reader)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `check` on `default_execs` (or `OPS_FUZZ_EXECS`) mutated inputs;
/// returns the executions run and how many the check accepted.
pub fn fuzz(
    reader: &str,
    default_execs: u64,
    check: impl Fn(&[u8]) -> Result<bool, String>,
) -> (u64, u64) {
    let execs = env_number("OPS_FUZZ_EXECS").unwrap_or(default_execs);
    let seed = env_number("OPS_FUZZ_SEED").unwrap_or(0x6f70_735f_6675_7a7a);
    let mut mutator = Mutator::new(seed, corpus(reader));
    let started = Instant::now();
    let mut accepted = 0;
    for n in 0..execs {
        let input = mutator.input();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let problem = match outcome {
            Ok(Ok(ok)) => {
                accepted += u64::from(ok);
                continue;
            }
            Ok(Err(problem)) => problem,
            Err(_) => "panicked".to_owned(),
        };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{reader}-{seed:x}-{n}"));
        let _ = std::fs::write(&file, &input);
        panic!(
            "fuzz {reader}: execution {n} (seed {seed:#x}): {problem}\ninput ({}): {:?}",
            file.display(),
            String::from_utf8_lossy(&input)
        );
    }
    eprintln!(
        "fuzz {reader}: {execs} executions, {accepted} accepted, in {:.1?}",
        started.elapsed()
    );
    (execs, accepted)
}
