//! A byte stream cut into lines, for whoever prints a running program's
//! output a line at a time.

/// The longest line passed on whole; longer ones are cut to this (plus the
/// lookahead) and the rest is counted, not kept.
pub const MAX_LINE: usize = 16 * 1024;

/// Splits a byte stream into lines for labelled output, keeping a partial
/// last line until more bytes (or the end) arrive. Carriage returns (progress
/// bars) end a line too, so that a progress update is not held back. A line
/// longer than [`MAX_LINE`] plus the lookahead keeps only its start: the
/// callback gets it with the number of bytes left out.
#[derive(Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    after_cr: bool,
    left_out: u64,
    lookahead: usize,
}

impl LineSplitter {
    /// Keeps `bytes` beyond [`MAX_LINE`] of a long line, so that whoever cuts
    /// it there can still see a secret the cut would split.
    pub fn set_lookahead(&mut self, bytes: usize) {
        self.lookahead = bytes;
    }

    pub fn push(&mut self, chunk: &[u8], mut line: impl FnMut(&str, u64)) {
        let max = MAX_LINE + self.lookahead;
        let mut rest = chunk;
        while !rest.is_empty() {
            // "\r\n" is one line end, not two.
            if self.after_cr && rest[0] == b'\n' {
                self.after_cr = false;
                rest = &rest[1..];
                continue;
            }
            let end = rest.iter().position(|b| *b == b'\n' || *b == b'\r');
            let part = &rest[..end.unwrap_or(rest.len())];
            let room = max.saturating_sub(self.pending.len()).min(part.len());
            self.pending.extend_from_slice(&part[..room]);
            self.left_out += (part.len() - room) as u64;
            match end {
                Some(at) => {
                    self.after_cr = rest[at] == b'\r';
                    self.emit(&mut line);
                    rest = &rest[at + 1..];
                }
                None => {
                    self.after_cr = false;
                    rest = &[];
                }
            }
        }
    }

    pub fn finish(&mut self, mut line: impl FnMut(&str, u64)) {
        if !self.pending.is_empty() || self.left_out > 0 {
            self.emit(&mut line);
        }
    }

    fn emit(&mut self, line: &mut impl FnMut(&str, u64)) {
        line(&String::from_utf8_lossy(&self.pending), self.left_out);
        self.pending.clear();
        // A line that was once huge must not keep its memory.
        self.pending.shrink_to(MAX_LINE);
        self.left_out = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_keeps_partial_lines() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"ab", |l, _| lines.push(l.to_owned()));
        s.push(b"c\nd", |l, _| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["abc"]);
        s.finish(|l, _| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["abc", "d"]);
    }

    #[test]
    fn splitter_treats_cr_as_line_end() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"10%\r20%\r\n", |l, _| lines.push(l.to_owned()));
        assert_eq!(lines, vec!["10%", "20%"]);
    }

    #[test]
    fn splitter_bounds_a_long_line_and_counts_the_rest() {
        let mut s = LineSplitter::default();
        s.set_lookahead(10);
        let mut lines = Vec::new();
        let block = vec![b'a'; MAX_LINE];
        for _ in 0..100 {
            s.push(&block, |l, n| lines.push((l.len(), n)));
        }
        assert!(s.pending.len() <= MAX_LINE + 10);
        s.push(b"\r\nnext\n", |l, n| lines.push((l.len(), n)));
        let total = 100 * MAX_LINE as u64;
        assert_eq!(
            lines,
            vec![(MAX_LINE + 10, total - MAX_LINE as u64 - 10), (4, 0)]
        );
    }
}
