//! Output of a running program (a plugin's command, the build command):
//! streamed to the user line by line under a label, when there is one, and
//! captured, bounded, for whoever needs to read it afterwards.

use std::sync::Arc;

use super::{Event, Printer};
use crate::remote::LineSplitter;
use crate::remote::OutputSink;

/// What is kept of each stream. Build logs can be huge; the end is what
/// explains a failure and what holds a pushed digest.
const KEEP: usize = 1 << 20;

pub struct LiveOutput {
    label: Option<String>,
    printer: Arc<Printer>,
    stdout: Stream,
    stderr: Stream,
}

#[derive(Default)]
struct Stream {
    kept: Vec<u8>,
    truncated: bool,
    lines: LineSplitter,
}

impl Stream {
    fn keep(&mut self, chunk: &[u8]) {
        self.kept.extend_from_slice(chunk);
        // Trim in bulk rather than per chunk.
        if self.kept.len() > 2 * KEEP {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.kept.len() > KEEP {
            let excess = self.kept.len() - KEEP;
            self.kept.drain(..excess);
            self.truncated = true;
        }
    }
}

impl LiveOutput {
    pub fn new(label: Option<String>, printer: Arc<Printer>) -> LiveOutput {
        LiveOutput {
            label: label.filter(|l| !l.is_empty()),
            printer,
            stdout: Stream::default(),
            stderr: Stream::default(),
        }
    }

    fn push(&mut self, is_stderr: bool, chunk: &[u8]) {
        let stream = if is_stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        stream.keep(chunk);
        if let Some(label) = &self.label {
            let printer = &self.printer;
            let name = if is_stderr { "stderr" } else { "stdout" };
            stream.lines.push(chunk, |line| {
                printer.emit(&Event::Output {
                    label: label.clone(),
                    stream: name.to_owned(),
                    line: line.to_owned(),
                })
            });
        }
    }

    /// Flushes partial lines; returns (stdout, stderr, truncated).
    pub fn finish(mut self) -> (Vec<u8>, Vec<u8>, bool) {
        if let Some(label) = &self.label {
            for (stream, name) in [(&mut self.stdout, "stdout"), (&mut self.stderr, "stderr")] {
                let printer = &self.printer;
                stream.lines.finish(|line| {
                    printer.emit(&Event::Output {
                        label: label.clone(),
                        stream: name.to_owned(),
                        line: line.to_owned(),
                    })
                });
            }
        }
        self.stdout.trim();
        self.stderr.trim();
        let truncated = self.stdout.truncated || self.stderr.truncated;
        (self.stdout.kept, self.stderr.kept, truncated)
    }
}

impl OutputSink for LiveOutput {
    fn stdout(&mut self, chunk: &[u8]) {
        self.push(false, chunk);
    }

    fn stderr(&mut self, chunk: &[u8]) {
        self.push(true, chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Format, Redactor, Verbosity};

    #[test]
    fn keeps_the_tail_and_says_so() {
        let printer = Arc::new(Printer::new(
            Format::Human,
            Verbosity::Quiet,
            Redactor::new(),
        ));
        let mut c = LiveOutput::new(None, printer);
        let block = vec![b'a'; KEEP];
        c.stdout(&block);
        c.stdout(&block);
        c.stdout(b"END");
        c.stderr(b"err");
        let (out, err, truncated) = c.finish();
        assert_eq!(out.len(), KEEP);
        assert!(out.ends_with(b"aEND"));
        assert_eq!(err, b"err");
        assert!(truncated);
    }
}
