//! Where a remote program's output goes while it runs.

pub trait OutputSink: Send {
    fn stdout(&mut self, chunk: &[u8]);
    fn stderr(&mut self, chunk: &[u8]);
}

/// Collects output in memory.
#[derive(Default)]
pub struct Capture {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl OutputSink for Capture {
    fn stdout(&mut self, chunk: &[u8]) {
        self.stdout.extend_from_slice(chunk);
    }
    fn stderr(&mut self, chunk: &[u8]) {
        self.stderr.extend_from_slice(chunk);
    }
}

/// Splits a byte stream into lines for labelled output, keeping a partial
/// last line until more bytes (or the end) arrive. Carriage returns (progress
/// bars) end a line too, so that a progress update is not held back.
#[derive(Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    after_cr: bool,
}

impl LineSplitter {
    pub fn push(&mut self, chunk: &[u8], mut line: impl FnMut(&str)) {
        for &b in chunk {
            match b {
                // "\r\n" is one line end, not two.
                b'\n' if self.after_cr => {}
                b'\n' | b'\r' => {
                    line(&String::from_utf8_lossy(&self.pending));
                    self.pending.clear();
                }
                _ => self.pending.push(b),
            }
            self.after_cr = b == b'\r';
        }
    }

    pub fn finish(&mut self, mut line: impl FnMut(&str)) {
        if !self.pending.is_empty() {
            line(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_keeps_partial_lines() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"ab", |l| lines.push(l.to_owned()));
        s.push(b"c\nd", |l| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["abc"]);
        s.finish(|l| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["abc", "d"]);
    }

    #[test]
    fn splitter_treats_cr_as_line_end() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"10%\r20%\r\n", |l| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["10%", "20%"]);
    }
}
