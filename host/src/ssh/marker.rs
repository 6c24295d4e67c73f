//! The wrapper's first stderr line reports the command's process group
//! ([`PGID_MARKER`](super::wrapper::PGID_MARKER)); this strips it from the
//! stream and passes everything else on.

use super::wrapper::PGID_MARKER;

/// Past this much stderr without the marker, nothing more is held back.
const MAX_HELD: usize = 64 * 1024;

#[derive(Default)]
pub(super) struct StderrFilter {
    pending: Vec<u8>,
    done: bool,
}

impl StderrFilter {
    /// Returns the process group if this chunk completed the marker line,
    /// and the bytes to pass on.
    pub(super) fn push(&mut self, chunk: &[u8]) -> (Option<u32>, Vec<u8>) {
        if self.done {
            return (None, chunk.to_vec());
        }
        self.pending.extend_from_slice(chunk);
        let mut passed = Vec::new();
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            if let Some(pid) = line
                .strip_prefix(PGID_MARKER.as_bytes())
                .and_then(|rest| std::str::from_utf8(rest).ok())
                .and_then(|rest| rest.trim().parse::<u32>().ok())
            {
                self.done = true;
                passed.append(&mut self.pending);
                return (Some(pid), passed);
            }
            // Something (a login script) wrote before the wrapper did.
            passed.extend_from_slice(&line);
        }
        if self.pending.len() > MAX_HELD {
            self.done = true;
            passed.append(&mut self.pending);
        }
        (None, passed)
    }

    /// What is still held back, at the end of the stream.
    pub(super) fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_filter_strips_marker_across_chunks() {
        let mut f = StderrFilter::default();
        let (pid, passed) = f.push(b"motd\n__ops_p");
        assert_eq!(pid, None);
        assert_eq!(passed, b"motd\n");
        let (pid, passed) = f.push(b"gid=4242\nerr");
        assert_eq!(pid, Some(4242));
        assert_eq!(passed, b"err");
        let (_, passed) = f.push(b"more");
        assert_eq!(passed, b"more");
    }
}
