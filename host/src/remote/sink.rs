//! Where a remote program's output goes while it runs.

pub trait OutputSink: Send {
    fn stdout(&mut self, chunk: &[u8]);
    fn stderr(&mut self, chunk: &[u8]);
}

/// What [`Capture`] keeps of each stream: it holds the answers of ops's own
/// small commands, never a build's output.
pub const CAPTURE_MAX: usize = 4 << 20;

/// Collects output in memory, up to [`CAPTURE_MAX`] bytes of each stream.
#[derive(Default)]
pub struct Capture {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Some output did not fit and was left out.
    pub truncated: bool,
}

impl Capture {
    fn keep(into: &mut Vec<u8>, chunk: &[u8], truncated: &mut bool) {
        let room = CAPTURE_MAX.saturating_sub(into.len());
        if chunk.len() > room {
            *truncated = true;
        }
        into.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

impl OutputSink for Capture {
    fn stdout(&mut self, chunk: &[u8]) {
        Capture::keep(&mut self.stdout, chunk, &mut self.truncated);
    }
    fn stderr(&mut self, chunk: &[u8]) {
        Capture::keep(&mut self.stderr, chunk, &mut self.truncated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_is_bounded() {
        let mut c = Capture::default();
        c.stdout(&vec![b'x'; CAPTURE_MAX]);
        c.stdout(b"more");
        assert_eq!(c.stdout.len(), CAPTURE_MAX);
        assert!(c.truncated);
    }
}
