//! One label's output, held back so that a failed image can show it in
//! full (chatter included), within fixed bounds.

/// Lines of one label's output kept for showing in full if its image
/// fails, and the most bytes they may take.
const HELD_LINES: usize = 5000;
const HELD_BYTES: usize = 4 << 20;

/// One label's output, held for showing in full if its image fails.
#[derive(Default)]
pub(super) struct Held {
    pub(super) lines: Vec<String>,
    bytes: usize,
    /// Lines beyond [`HELD_LINES`] or [`HELD_BYTES`].
    pub(super) dropped: u64,
    /// Whether some line was not shown as it came.
    pub(super) left_out: bool,
}

impl Held {
    pub(super) fn hold(&mut self, line: &str) {
        if self.lines.len() < HELD_LINES && self.bytes + line.len() <= HELD_BYTES {
            self.bytes += line.len();
            self.lines.push(line.to_owned());
        } else {
            self.dropped += 1;
        }
    }
}
