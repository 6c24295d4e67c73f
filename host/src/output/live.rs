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

/// Lines of a program's output that its plugin calls progress chatter
/// (plugin API 0.3.0's `exec-request.progress`): shown only with `-v`, and
/// in full when the step fails. The host itself knows no tool's chatter.
#[derive(Clone, Debug)]
pub struct Progress(regex::RegexSet);

/// At most this many patterns, each at most [`MAX_PATTERN`] bytes, compiled
/// to at most [`MAX_COMPILED`] bytes: what a plugin sends is untrusted.
pub const MAX_PATTERNS: usize = 64;
pub const MAX_PATTERN: usize = 1024;
const MAX_COMPILED: usize = 1 << 20;

impl Progress {
    /// The patterns of one exec request; `None` when there are none.
    pub fn new(patterns: &[String]) -> Result<Option<Progress>, String> {
        if patterns.is_empty() {
            return Ok(None);
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(format!(
                "{} progress patterns; at most {MAX_PATTERNS} are allowed",
                patterns.len()
            ));
        }
        if let Some(long) = patterns.iter().find(|p| p.len() > MAX_PATTERN) {
            return Err(format!(
                "a progress pattern of {} bytes; at most {MAX_PATTERN} are allowed",
                long.len()
            ));
        }
        regex::RegexSetBuilder::new(patterns)
            .size_limit(MAX_COMPILED)
            .dfa_size_limit(MAX_COMPILED)
            .build()
            .map(|set| Some(Progress(set)))
            .map_err(|e| format!("a progress pattern is not a valid regular expression: {e}"))
    }

    pub fn matches(&self, line: &str) -> bool {
        self.0.is_match(line)
    }
}

pub struct LiveOutput {
    label: Option<String>,
    progress: Option<Progress>,
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
            progress: None,
            printer,
            show_stdout: true,
            stdout: Stream::default(),
            stderr: Stream::default(),
        }
    }

    /// Marks the lines `progress` matches as progress chatter.
    pub fn with_progress(mut self, progress: Option<Progress>) -> LiveOutput {
        self.progress = progress;
        self
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
            let progress = self.progress.as_ref();
            stream.lines.set_lookahead(printer.redactor().longest());
            stream.lines.push(chunk, |line, left_out| {
                show(printer, label, is_stderr, line, left_out, progress)
            });
        }
    }

    /// Flushes partial lines; returns (stdout, stderr, truncated).
    pub fn finish(mut self) -> (Vec<u8>, Vec<u8>, bool) {
        if let Some(label) = &self.label {
            for (stream, is_stderr) in [(&mut self.stdout, false), (&mut self.stderr, true)] {
                let printer = &self.printer;
                let progress = self.progress.as_ref();
                stream.lines.finish(|line, left_out| {
                    show(printer, label, is_stderr, line, left_out, progress)
                });
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
fn show(
    printer: &Printer,
    label: &str,
    is_stderr: bool,
    line: &str,
    left_out: u64,
    progress: Option<&Progress>,
) {
    let progress = progress.is_some_and(|p| p.matches(line));
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
        progress,
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

    #[test]
    fn progress_patterns_are_bounded_and_checked() {
        assert!(Progress::new(&[]).unwrap().is_none());
        let p = Progress::new(&["^#\\d+ DONE".into(), "^\\s*$".into()])
            .unwrap()
            .unwrap();
        assert!(p.matches("#3 DONE 0.1s"));
        assert!(p.matches("  "));
        assert!(!p.matches("#3 [2/3] RUN make"));
        assert!(Progress::new(&["(".into()]).is_err());
        assert!(Progress::new(&vec!["a".into(); MAX_PATTERNS + 1]).is_err());
        assert!(Progress::new(&["a".repeat(MAX_PATTERN + 1)]).is_err());
        // Compiles to more than the limit: refused, not built.
        assert!(Progress::new(&["\\w{1000}\\w{1000}".into()]).is_err());
    }
}
