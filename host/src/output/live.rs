//! Output of a running program (a plugin's command, the build command):
//! streamed to the user line by line under a label, when there is one, and
//! captured, bounded, for whoever needs to read it afterwards.

use std::sync::Arc;

use super::clean::cut;
use super::{Event, Printer, Stream as StreamName};
use crate::remote::OutputSink;
use crate::text::{LineSplitter, MAX_LINE};

/// What is kept of each stream. Build logs can be huge; the end is what
/// explains a failure and what holds a pushed digest.
const KEEP: usize = 1 << 20;

pub struct LiveOutput {
    label: Option<String>,
    printer: Arc<Printer>,
    /// Whether stdout is shown under the label too, or only kept.
    show_stdout: bool,
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
            show_stdout: true,
            stdout: Stream::default(),
            stderr: Stream::default(),
        }
    }

    /// Keeps stdout for the caller without showing it: a local program's
    /// stdout is the plugin's data (a credential helper's answer), not
    /// something to print or log.
    pub fn hide_stdout(mut self) -> LiveOutput {
        self.show_stdout = false;
        self
    }

    fn push(&mut self, is_stderr: bool, chunk: &[u8]) {
        let stream = if is_stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        stream.keep(chunk);
        if let Some(label) = self
            .label
            .as_ref()
            .filter(|_| is_stderr || self.show_stdout)
        {
            let printer = &self.printer;
            stream.lines.set_lookahead(printer.redactor().longest());
            stream.lines.push(chunk, |line, left_out| {
                show(printer, label, is_stderr, line, left_out)
            });
        }
    }

    /// Flushes partial lines; returns (stdout, stderr, truncated).
    pub fn finish(mut self) -> (Vec<u8>, Vec<u8>, bool) {
        if let Some(label) = &self.label {
            for (stream, is_stderr) in [(&mut self.stdout, false), (&mut self.stderr, true)] {
                let printer = &self.printer;
                stream
                    .lines
                    .finish(|line, left_out| show(printer, label, is_stderr, line, left_out));
            }
        }
        self.stdout.trim();
        self.stderr.trim();
        let truncated = self.stdout.truncated || self.stderr.truncated;
        (self.stdout.kept, self.stderr.kept, truncated)
    }
}

/// One line under `label`; a line cut short is masked before it is cut, so
/// the cut cannot split a secret.
fn show(printer: &Printer, label: &str, is_stderr: bool, line: &str, left_out: u64) {
    let line = if left_out > 0 || line.len() > MAX_LINE {
        cut(&printer.redactor().redact(line), MAX_LINE, left_out)
    } else {
        line.to_owned()
    };
    printer.emit(&Event::Output {
        label: label.to_owned(),
        stream: if is_stderr {
            StreamName::Stderr
        } else {
            StreamName::Stdout
        },
        line,
    })
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
